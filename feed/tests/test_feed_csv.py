import csv
from decimal import Decimal

import pytest
from gwsync.errors import ConfigError
from gwsync.errors import EXIT_CANNOT_RUN
from gwsync.models import ImageAccess
from gwsync_feed.errors import FeedError

HEADER = "sku;parent_sku;name;price_gross;vat;stock;image_urls;category_path;ean;active;option:Rozmiar"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def test_default_columns_and_every_field(read, write_feed, tmp_path):
    feed = write_feed(csv_text("K1;;Kubek Poranek;39,90;8;12;a.png | https://cdn.pl/b.jpg;Dom > Kuchnia;5901234123457;tak;"),
                      "feed.csv")
    product = read({"source": feed}).products["K1"]
    assert (product.name, product.price, product.vat, product.stock) == ("Kubek Poranek", Decimal("39.90"), 8, 12)
    assert product.category_path == ("Dom", "Kuchnia") and product.ean == "5901234123457" and product.active
    assert [(i.url, i.access) for i in product.images] == [
        ((tmp_path / "a.png").as_uri(), ImageAccess.FETCH), ("https://cdn.pl/b.jpg", ImageAccess.PUBLIC)]


def test_comma_delimiter_and_quoted_decimal_commas(read, write_feed):
    header = HEADER.replace(";", ",")
    feed = write_feed(csv_text('K1,,"Kubek, duży","1 299,00",23,1,,,,,', header=header), "feed.csv")
    product = read({"source": feed}).products["K1"]
    assert (product.name, product.price) == ("Kubek, duży", Decimal("1299.00"))


def test_delimiter_setting_overrides_detection(read, write_feed):
    feed = write_feed("sku\tname\tprice_gross\nA\tKubek; duży\t5\n", "feed.txt")
    assert read({"source": feed, "csv_delimiter": "tab"}).products["A"].name == "Kubek; duży"


def test_cp1250(read, write_feed):
    feed = write_feed(csv_text("Z1;;Żółta łódź;10;23;1;;Dom i ogród > Kuchnia;;;"), "feed.csv", encoding="cp1250")
    result = read({"source": feed, "csv_encoding": "cp1250"})
    assert result.products["Z1"].name == "Żółta łódź"
    assert result.products["Z1"].category_path == ("Dom i ogród", "Kuchnia")


def test_cp1250_is_detected_by_default(read, write_feed):
    """A vendor rarely knows the export's encoding: the default reads UTF-8 and cp1250 alike."""
    rows = [f"A{i};;Kubek {i};10;23;1;;;;;" for i in range(3)] + ["Z1;;Żółta łódź;10;23;1;;Dom > Łazienka;;;"]
    result = read({"source": write_feed(csv_text(*rows), "feed.csv", encoding="cp1250")})
    assert result.products["Z1"].name == "Żółta łódź" and result.products["Z1"].category_path == ("Dom", "Łazienka")
    assert len(result.products) == 4 and not result.skipped


def test_cp1250_read_as_utf8_says_what_to_set(read, write_feed):
    feed = write_feed(csv_text("Z1;;Żółta łódź;10;23;1;;;;;"), "feed.csv", encoding="cp1250")
    with pytest.raises(ConfigError, match="line 2 is not UTF-8; set FEED_CSV_ENCODING to cp1250 or auto"):
        read({"source": feed, "csv_encoding": "utf-8"})


def test_an_unclosed_quote_stops_the_read_as_a_broken_feed(read, write_feed):
    """The quote swallows the rest of the file until the field limit: exit 3, not a crash, nothing archived."""
    rows = ['A;;"Kubek;10;23;1;;;;;', *[f"B{i};;Kubek;10;23;1;;;;;" for i in range(60)]]
    feed = write_feed(csv_text(*rows), "feed.csv")
    limit = csv.field_size_limit(1024)  # 16 MB in production; a small file reaches this one
    try:
        with pytest.raises(FeedError, match="unreadable at line") as err:
            read({"source": feed})
    finally:
        csv.field_size_limit(limit)
    assert err.value.exit_code == EXIT_CANNOT_RUN


@pytest.mark.parametrize("encoding", ["cp1250", "utf-8-sig"])
def test_auto_encoding_and_bom(read, write_feed, encoding):
    rows = [f"A{i};;Kubek {i};10;23;1;;;;;" for i in range(50)] + ["Z1;;Żółta łódź;10;23;1;;;;;"]
    feed = write_feed(csv_text(*rows), "feed.csv", encoding=encoding)
    result = read({"source": feed, "csv_encoding": "auto"})
    assert result.products["Z1"].name == "Żółta łódź" and len(result.products) == 51


def test_variants_with_a_parent_row_inherit_from_it(read, write_feed):
    feed = write_feed(csv_text(
        "T-S;T;;;23;4;;;;;S",
        "T;;Koszulka Basic;49;23;;t.png;Odzież;;tak;",
        "X;;Kubek;5;23;1;;;;;",
        "T-M;T;;52,50;23;0;;;;nie;M",
    ), "feed.csv")
    product = read({"source": feed}).products["T"]
    assert (product.name, product.price, product.category_path) == ("Koszulka Basic", Decimal("49.00"), ("Odzież",))
    assert [(v.variant_id, v.options, v.price, v.stock, v.active) for v in product.variants] == [
        ("T-S", {"Rozmiar": "S"}, None, 4, True), ("T-M", {"Rozmiar": "M"}, Decimal("52.50"), 0, False)]


def test_variants_without_a_parent_row(read, write_feed):
    feed = write_feed(csv_text("C-R;C;Czapka Pompon czerwona;59;23;2;;;;;", "C-Z;C;Czapka Pompon zielona;59;23;3;;;;;"),
                      "feed.csv")
    product = read({"source": feed}).products["C"]
    assert product.name == "Czapka Pompon"
    assert [v.options for v in product.variants] == [{"Wariant": "czerwona"}, {"Wariant": "zielona"}]


def test_net_price_plus_vat(read, write_feed):
    feed = write_feed("sku;name;price_net;vat\nH;Herbata;23,33;5\nK;Kawa;10;\n", "feed.csv")
    products = read({"source": feed, "vat": "8"}).products
    assert products["H"].price == Decimal("24.50") and products["K"].price == Decimal("10.80")


def test_stock_column_missing_or_empty(read, write_feed):
    no_column = read({"source": write_feed("sku;name;price_gross\nA;Kubek;5\n", "a.csv")})
    empty_cell = read({"source": write_feed("sku;name;price_gross;stock\nA;Kubek;5;\n", "b.csv")})
    assert no_column.products["A"].stock == 1 and empty_cell.products["A"].stock == 0


def test_bad_rows_are_skipped_with_reasons(read, write_feed):
    feed = write_feed(csv_text(
        ";;Bez symbolu;10;23;1;;;;;",
        "B;;;10;23;1;;;;;",
        "C;;Cena;dziesięć;23;1;;;;;",
        "D;;Za dużo;10;23;1;;;;;;extra",
        "E;;Aktywny?;10;23;1;;;;może;",
        "F;;Bez ceny;;23;1;;;;;",
        "G;;Dobry;10;23;1;;;;;",
    ), "feed.csv")
    result = read({"source": feed})
    assert {s.product_id: s.reason for s in result.skipped} == {
        "line 2": "line 2: no sku",
        "B": "line 3: no name",
        "C": "line 4: not a price: 'dziesięć'",
        "D": "line 5: the row has 12 fields, the header 11 (a value with an unquoted delimiter?)",
        "E": "line 6: not a yes/no value: 'może'",
        "F": "line 7: no price",
    }
    assert list(result.products) == ["G"]


def test_mapping_file(read, write_feed, examples):
    result = read({"source": str(examples / "demo.csv"), "csv_mapping": str(examples / "demo-mapping.toml")})
    products = result.products
    assert len(products) == 7 and not result.skipped
    assert products["TSH-100"].name == "Koszulka bawełniana Basic"
    assert [v.options for v in products["TSH-100"].variants][0] == {"Rozmiar": "S", "Kolor": "czarny"}
    assert products["HER-100"].price == Decimal("24.50") and products["HER-100"].vat == 5
    assert products["ZAB-501"].active is False
    assert len(products["POR-300"].images) == 2


def test_missing_columns_are_named(read, write_feed, examples):
    feed = write_feed("Symbol;Nazwa\nA;Kubek\n", "feed.csv")
    with pytest.raises(ConfigError, match=r"no column for sku \('sku'\), name \('name'\), price_gross \('price_gross'\) "
                                       r"or price_net \('price_net'\); the header has: 'Symbol', 'Nazwa'"):
        read({"source": feed})


def test_mapping_file_errors(read, write_feed, tmp_path):
    feed = write_feed("sku;name;price_gross\nA;B;1\n", "feed.csv")
    bad = tmp_path / "m.toml"
    bad.write_text('sku = "Symbol"\nprize = "Cena"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="FEED_CSV_MAPPING: .*unknown keys prize"):
        read({"source": feed, "csv_mapping": str(bad)})
    with pytest.raises(ConfigError, match="FEED_CSV_MAPPING: no mapping file"):
        read({"source": feed, "csv_mapping": str(tmp_path / "none.toml")})


def test_format_detected_from_content(read, write_feed):
    feed = write_feed("sku,name,price_gross\nA,Kubek,5\n", "export.dat")
    assert list(read({"source": feed}).products) == ["A"]


def test_leading_blank_lines_do_not_hide_the_header(read, write_feed):
    result = read({"source": write_feed("\r\n\r\nsku;name;price_gross\r\nA;Kubek, duży;5\r\nB;;5\r\n", "feed.csv")})
    assert result.products["A"].name == "Kubek, duży"
    assert [s.reason for s in result.skipped] == ["line 5: no name"]


@pytest.mark.parametrize("text", ["", "\n\n \n"], ids=["empty", "blank-lines"])
def test_an_empty_csv_is_a_feed_error(read, write_feed, text):
    with pytest.raises(FeedError, match="the file is empty"):
        read({"source": write_feed(text, "feed.csv")})


def test_inactive_items_are_counted_and_named(tmp_path):
    """Issue 13.7: rows marked inactive are not imported without a word: counted, named, archived."""
    from gwsync.errors import EXIT_OK
    from gwsync.testing.harness import Harness
    from gwsync_feed.connector import FeedConnector

    feed = tmp_path / "export.csv"
    rows = ["sku;parent_sku;name;price_gross;stock;option:Rozmiar;active",
            "KUB-1;;Kubek;10;3;;tak", "KUB-2;;Miska;12;3;;tak", "TSH;;Koszulka;49;;;tak",
            "TSH-S;TSH;;;2;S;tak", "TSH-M;TSH;;;2;M;tak"]
    feed.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with Harness(FeedConnector, {"source": str(feed), "shop_id": "t"}, tmp_path) as gw:
        assert gw.cli(["import"]).exit_code == EXIT_OK
        feed.write_text("\n".join([*rows[:2], "KUB-2;;Miska;12;3;;nie", *rows[3:4], "TSH-S;TSH;;;2;S;tak",
                                   "TSH-M;TSH;;;2;M;nie"]) + "\n", encoding="utf-8")
        result = gw.cli(["import", "--report", str(tmp_path / "report.json")])
        assert result.exit_code == EXIT_OK, result.output
        assert "archived 2" in result.stdout and "inactive 2" in result.stdout
        notes = [line for line in result.stderr.splitlines() if "inactive in the feed" in line]
        assert notes == ["note: inactive in the feed: 2 items, not imported (archived on the Gateway where "
                         "they were live): KUB-2, TSH-M"]
        report = __import__("json").loads((tmp_path / "report.json").read_text())
        assert report["counts"]["inactive"] == 2 and any("KUB-2, TSH-M" in n for n in report["notes"])
