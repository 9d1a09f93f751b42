"""XLSX through openpyxl's read-only mode and the CSV column mapping."""


import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from gwsync.connector import ReadContext
from gwsync_feed.connector import FeedConnector
from gwsync_feed.errors import FeedError
from openpyxl import Workbook

HEADER = ["Symbol", "Symbol rodzica", "Nazwa", "Cena brutto", "Stawka VAT", "Stan", "EAN", "Rozmiar", "Aktywny"]
MAPPING = '''sku = "Symbol"
parent_sku = "Symbol rodzica"
name = "Nazwa"
price_gross = "Cena brutto"
vat = "Stawka VAT"
stock = "Stan"
ean = "EAN"
active = "Aktywny"
options = { "Rozmiar" = "Rozmiar" }
'''


def workbook(rows: list[list], path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def mapping(tmp_path: Path) -> str:
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return str(path)


def test_sheet_rows_map_like_csv(read, tmp_path, mapping):
    path = workbook([HEADER,
                     ["TSH-100", None, "Koszulka Basic", 49, 23, None, None, None, "tak"],
                     ["TSH-100-S", "TSH-100", None, None, 23, 10, 5901234000505, "S"],  # trailing cell not stored
                     ["TSH-100-L", "TSH-100", None, 52.5, 23, 6.0, None, "L", "tak"],
                     [None] * 9,
                     ["KUB-1", None, "Kubek", "19,99", "8%", 3, None, None, "nie"]], tmp_path / "export.xlsx")
    result = read({"source": str(path), "csv_mapping": mapping})
    shirt = result.products["TSH-100"]
    assert [(v.variant_id, v.price, v.stock, v.ean) for v in shirt.variants] == [
        ("TSH-100-S", None, 10, "5901234000505"), ("TSH-100-L", Decimal("52.50"), 6, None)]
    assert shirt.price == Decimal("49.00")
    assert result.products["KUB-1"].active is False and result.products["KUB-1"].vat == 8
    assert result.ctx.notes[-1].startswith("inactive in the feed: 1 items")


def test_format_is_detected_from_the_bytes_not_the_name(read, tmp_path, mapping):
    path = workbook([HEADER, ["A", None, "Kubek", 10, 23, 1, None, None, "tak"]], tmp_path / "export.bin")
    connector = FeedConnector({"source": str(path), "csv_mapping": mapping})
    assert connector.check() == f"feed {path}: XLSX, first item 'Kubek'"


def test_group_by_a_column(read, tmp_path):
    path = workbook([["sku", "name", "price_gross", "Model", "option:Kolor"],
                     ["A-1", "Lampa czarna", 100, "L1", "czarny"],
                     ["A-2", "Lampa biała", 100, "L1", "biały"]], tmp_path / "lamps.xlsx")
    group = read({"source": str(path), "group_by": "Model"}).products["L1"]
    assert [v.options for v in group.variants] == [{"Kolor": "czarny"}, {"Kolor": "biały"}]


def test_entities_in_a_workbook_are_refused(tmp_path):
    path = workbook([["sku", "name", "price_gross"], ["A", "Kubek", 10]], tmp_path / "book.xlsx")
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(evil, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>' + data
            target.writestr(item, data)
    with pytest.raises(FeedError, match="refused: the workbook declares entities"):
        list(FeedConnector({"source": str(evil)}).read(ReadContext()))


def test_a_damaged_workbook_is_one_line(tmp_path):
    path = workbook([["sku", "name", "price_gross"], ["A", "Kubek", 10]], tmp_path / "book.xlsx")
    data = path.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FeedError, match="cut short or damaged"):
        FeedConnector({"source": str(cut)}).check()
