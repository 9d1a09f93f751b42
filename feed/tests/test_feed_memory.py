"""Bounded memory: a large feed is read with a flat Python heap (tracemalloc), grouped or not.

The bound is far below what holding the items would take: the feed is ~13 MB of
XML, and its parsed tree takes ~33 MB. SQLite's
own page cache (for staged groups) is allocated outside tracemalloc; it is capped
by SQLite's cache size (a few MB), not by the feed.
"""

import random
import tracemalloc
from xml.etree import ElementTree

import pytest
from gwsync.connector import ReadContext
from gwsync_feed.connector import FeedConnector

ITEMS = 20_000
BOUND = 6 * 1024 * 1024  # measured: ~1 MB single items, ~3 MB staged groups
DESCRIPTION = "Wygodna bawełniana koszulka na co dzień, szyta w Polsce. " * 6


def write_large_feed(path, grouped: bool) -> None:
    order = list(range(ITEMS))
    if grouped:
        random.Random(7).shuffle(order)  # members of a group are scattered over the file
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                  'xmlns:g="http://base.google.com/ns/1.0"><channel><title>big</title>\n')
        for n in order:
            group = f"<g:item_group_id>G{n // 5}</g:item_group_id><g:size>{n % 5}</g:size>" if grouped else ""
            out.write(f"<item><g:id>I{n}</g:id><title>Koszulka {n // 5} {n % 5}</title>"
                      f"<description>{DESCRIPTION}</description><g:price>49.90 PLN</g:price>"
                      f"<g:quantity>3</g:quantity><g:image_link>https://cdn.pl/{n % 40}.jpg</g:image_link>"
                      f"{group}</item>\n")
        out.write("</channel></rss>\n")


def write_large_csv(path) -> None:
    """Every CSV row is staged (any row may be a parent of later rows): the staging must stay on disk."""
    with open(path, "w", encoding="utf-8") as out:
        out.write("sku;parent_sku;name;description;price_gross;stock;option:Rozmiar\n")
        for n in range(ITEMS):
            parent = f"G{n // 5}" if n % 2 else ""
            out.write(f"I{n};{parent};Koszulka {n // 5} {n % 5};{DESCRIPTION};49,90;3;{n % 5}\n")


def write_large_ceneo(path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<offers version="1"><group name="other">\n')
        for n in range(ITEMS):
            out.write(f'<o id="I{n}" price="49.90" stock="3"><cat>Moda/Koszulki</cat><name>Koszulka {n}</name>'
                      f'<imgs><main url="https://cdn.pl/{n % 40}.jpg"/></imgs><desc>{DESCRIPTION}</desc>'
                      f'<attrs><a name="Grupa">G{n // 5}</a><a name="Rozmiar">{n % 5}</a></attrs></o>\n')
        out.write("</group></offers>\n")


def write_large_iof(path) -> None:
    """Five sizes per product; products 0 and 1 of every ten form a version group."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('<offer file_format="IOF" version="3.0"><products currency="PLN">\n')
        for p in range(ITEMS // 5):
            group = f'<group first_product_id="{p - p % 2}"><group_by_parameter><name>Kolor</name><product_value>' \
                    f"<name>K{p % 2}</name></product_value></group_by_parameter></group>" if p % 10 < 2 else ""
            sizes = "".join(f'<size id="{s}" name="{s}" available="in_stock"><price gross="49.9"/>'
                            f'<stock id="0" quantity="3"/></size>' for s in range(5))
            out.write(f'<product id="{p}" vat="23.0"><description><name xml:lang="pol">Koszulka {p}</name>'
                      f'<long_desc xml:lang="pol">{DESCRIPTION}</long_desc></description><sizes>{sizes}</sizes>'
                      f'<images><large><image url="https://cdn.pl/{p % 40}.jpg"/></large></images>{group}</product>\n')
        out.write("</products></offer>\n")


XLSX_ITEMS = 5_000  # openpyxl is slow under tracemalloc; the bench measures 10,000 rows by RSS


def write_large_xlsx(path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["sku", "parent_sku", "name", "description", "price_gross", "stock", "option:Rozmiar"])
    for n in range(XLSX_ITEMS):
        sheet.append([f"I{n}", f"G{n // 5}" if n % 2 else None, f"Koszulka {n // 5} {n % 5}", DESCRIPTION,
                      49.9, 3, str(n % 5)])
    book.save(path)


WRITERS = {"ceneo": ("big-ceneo.xml", write_large_ceneo), "iof": ("big-iof.xml", write_large_iof),
           "xlsx": ("big.xlsx", write_large_xlsx)}


@pytest.mark.parametrize("kind", list(WRITERS))
def test_every_format_reads_in_bounded_memory(tmp_path, kind):
    name, write = WRITERS[kind]
    write(tmp_path / name)
    config = {"source": str(tmp_path / name), **({"group_by": "Grupa"} if kind == "ceneo" else {})}
    connector = FeedConnector(config)

    def count() -> int:
        return sum(len(p.variants) or 1 for p in connector.read(ReadContext()))

    peak, items = peak_while(count)
    assert items == (XLSX_ITEMS if kind == "xlsx" else ITEMS)
    assert peak < BOUND, f"peak {peak / 1e6:.1f} MB"


def peak_while(consume) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = consume()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["single-items", "scattered-groups", "csv"])
def test_large_feed_reads_in_bounded_memory(tmp_path, kind):
    path = tmp_path / ("big.csv" if kind == "csv" else "big.xml")
    if kind == "csv":
        write_large_csv(path)
    else:
        write_large_feed(path, grouped=kind == "scattered-groups")
    connector = FeedConnector({"source": str(path)})

    def count() -> int:
        return sum(len(p.variants) or 1 for p in connector.read(ReadContext()))

    peak, items = peak_while(count)
    assert items == ITEMS
    assert peak < BOUND, f"peak {peak / 1e6:.1f} MB"


def test_the_bound_is_meaningful(tmp_path):
    """Holding the parsed feed (what a collect-everything parser does) exceeds the bound."""
    path = tmp_path / "big.xml"
    write_large_feed(path, grouped=False)
    peak, _ = peak_while(lambda: ElementTree.parse(path))
    assert peak > 3 * BOUND, f"peak {peak / 1e6:.1f} MB"
