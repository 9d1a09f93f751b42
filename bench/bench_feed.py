"""Benchmark (not a test): 10,000 products in each feed format, imported into the sandbox Gateway.

    .venv/bin/python bench/bench_feed.py [--products 10000] [--latency 0.02] [--formats google,ceneo,...]
                                         [--rate-limit 25]

For each format (Google Merchant XML, Ceneo XML, IdoSell IOF, CSV, XLSX; 40 % of the
items in variant groups, 200 distinct images as local files) it prints wall time,
Gateway calls per product, images hosted per distinct image, Gateway 429s, the most
Gateway requests in flight, the achieved Gateway rate, peak RSS of the import process,
identities stored twice and what an immediate re-run costs; with `--rate-limit` the
sandbox allows that many requests/s and the utilisation of the limit is printed too.
Then the Google feed once more over HTTP with an ETag: its immediate re-run is answered
304 and must read and write nothing (the Gateway calls left are the run's own bookkeeping).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from gwsync.testing.bench import run_benchmark
from gwsync.testing.fake import serve
from gwsync.testing.images import png
from gwsync_feed.connector import FeedConnector
from werkzeug.wrappers import Request, Response

DISTINCT_IMAGES = 200
SIZES = "SMLX"
FORMATS = ("google", "ceneo", "iof", "csv", "xlsx")
CSV_HEADER = ["sku", "parent_sku", "name", "description", "price_gross", "stock", "image_urls",
              "category_path", "option:Rozmiar"]


def group_of(n: int) -> int | None:
    """40 % of the items come in groups of up to four sizes."""
    return n // 4 if n % 10 < 4 else None


def write_images(folder: Path) -> None:
    images = folder / "images"
    images.mkdir()
    for n in range(DISTINCT_IMAGES):
        (images / f"{n}.png").write_bytes(png((n % 256, (n * 7) % 256, (n * 13) % 256), size=64))


def write_google(path: Path, products: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                  'xmlns:g="http://base.google.com/ns/1.0"><channel><title>bench</title>\n')
        for n in range(products):
            group = group_of(n)
            fields = {
                "g:id": f"SKU-{n}", "g:title": escape(f"Produkt {group if group is not None else n}"),
                "g:description": f"Opis produktu {n}", "g:price": f"{10 + n % 90}.99 PLN",
                "g:availability": "in_stock", "g:quantity": str(n % 17),
                "g:image_link": f"images/{n % DISTINCT_IMAGES}.png",
                "g:product_type": "Dom i ogród &gt; Kuchnia i jadalnia",
            }
            if group is not None:
                fields.update({"g:item_group_id": f"G{group}", "g:size": SIZES[n % 4]})
            out.write("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</item>\n")
        out.write("</channel></rss>\n")


def write_ceneo(path: Path, products: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<offers version="1"><group name="other">\n')
        for n in range(products):
            group = group_of(n)
            attrs = f'<a name="Kod grupy">G{group}</a><a name="Rozmiar">{SIZES[n % 4]}</a>' if group is not None else ""
            out.write(f'<o id="SKU-{n}" url="https://sklep.example.pl/{n}.html" price="{10 + n % 90}.99" avail="1" '
                      f'stock="{n % 17}"><cat><![CDATA[Dom i ogród/Kuchnia i jadalnia]]></cat>'
                      f"<name><![CDATA[Produkt {group if group is not None else n}]]></name>"
                      f'<imgs><main url="images/{n % DISTINCT_IMAGES}.png"/></imgs>'
                      f"<desc><![CDATA[Opis produktu {n}]]></desc><attrs>{attrs}</attrs></o>\n")
        out.write("</group></offers>\n")


def write_iof(path: Path, products: int) -> None:
    """Grouped items are the sizes of one IOF product; the others are one-size ("uniw") products."""
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<offer file_format="IOF" version="3.0">'
                  '<products language="pol" currency="PLN">\n')
        n = 0
        while n < products:
            group = group_of(n)
            members = [m for m in range(n, min(n + 4, products)) if group_of(m) == group] if group is not None else [n]
            pid = f"G{group}" if group is not None else f"SKU-{n}"
            sizes = "".join(
                f'<size available="in_stock" id="{SIZES[m % 4] if group is not None else "uniw"}" '
                f'name="{SIZES[m % 4] if group is not None else "uniwersalny"}" code="SKU-{m}">'
                f'<price gross="{10 + m % 90}.99"/><stock id="0" quantity="{m % 17}"/></size>' for m in members)
            out.write(f'<product id="{pid}" vat="23.0" currency="PLN"><category id="1" name="Dom i ogród/Kuchnia"/>'
                      f'<description><name xml:lang="pol"><![CDATA[Produkt {group if group is not None else n}]]>'
                      f'</name><long_desc xml:lang="pol"><![CDATA[Opis produktu {n}]]></long_desc></description>'
                      f'<sizes>{sizes}</sizes><images><large><image url="images/{n % DISTINCT_IMAGES}.png"/>'
                      "</large></images></product>\n")
            n += len(members)
        out.write("</products></offer>\n")


def csv_rows(products: int) -> Iterator[list[Any]]:
    yield CSV_HEADER
    for n in range(products):
        group = group_of(n)
        yield [f"SKU-{n}", f"G{group}" if group is not None else "",
               f"Produkt {group if group is not None else n}", f"Opis produktu {n}",
               f"{10 + n % 90},99", n % 17, f"images/{n % DISTINCT_IMAGES}.png",
               "Dom i ogród > Kuchnia i jadalnia", SIZES[n % 4] if group is not None else ""]


def write_csv(path: Path, products: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in csv_rows(products):
            out.write(";".join(str(cell) for cell in row) + "\n")


def write_xlsx(path: Path, products: int) -> None:
    """In a process of its own: openpyxl in this one would raise every import child's measured peak."""
    code = ("import sys; from openpyxl import Workbook; sys.path.insert(0, sys.argv[1]); import bench_feed as b; "
            "book = Workbook(write_only=True); sheet = book.create_sheet(); "
            "[sheet.append(row) for row in b.csv_rows(int(sys.argv[3]))]; book.save(sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(path), str(products)], check=True)


WRITERS: dict[str, tuple[str, Callable[[Path, int], None], dict[str, str]]] = {
    "google": ("feed.xml", write_google, {}),
    "ceneo": ("ceneo.xml", write_ceneo, {"group_by": "Kod grupy"}),
    "iof": ("full.xml", write_iof, {}),
    "csv": ("export.csv", write_csv, {}),
    "xlsx": ("export.xlsx", write_xlsx, {}),
}
TITLES = {"google": "Google Merchant XML", "ceneo": "Ceneo XML", "iof": "IdoSell IOF 3.0", "csv": "CSV",
          "xlsx": "XLSX"}


def etag_server(path: Path):
    """The feed over loopback HTTP as a static web server serves it: ETag and 304 answers."""
    data = path.read_bytes()
    etag = hashlib.sha256(data).hexdigest()[:32]

    def app(environ: dict, start_response: Any) -> Any:
        response = Response(data, 200, content_type="application/xml")
        response.set_etag(etag)
        return response.make_conditional(Request(environ))(environ, start_response)

    return serve(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rate-limit", type=float, default=0.0,
                        help="the sandbox Gateway allows this many requests/s (429, Retry-After: 1); 0: no limit")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: " + ", ".join(FORMATS))
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP 304 re-run")
    parser.add_argument("--http", action="store_true", help=argparse.SUPPRESS)  # only the HTTP run
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if len(formats) + (not args.no_http) > 1:
        # One measurement per process: a child's peak RSS (RUSAGE_CHILDREN) also counts the parent's
        # pages at the moment it is spawned, and a parent that already hosted earlier runs' sandboxes
        # and generated feeds is larger; measured in one process, later formats read 50-80 MB too high.
        for fmt in formats:
            subprocess.run([sys.executable, __file__, "--products", str(args.products), "--latency",
                            str(args.latency), "--rate-limit", str(args.rate_limit), "--formats", fmt,
                            "--no-http"], check=False)
        if not args.no_http:
            subprocess.run([sys.executable, __file__, "--products", str(args.products), "--latency",
                            str(args.latency), "--rate-limit", str(args.rate_limit), "--formats", "", "--http"],
                           check=False)
        return
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
        folder = Path(tmp)
        write_images(folder)
        for fmt in formats:
            name, write, extra = WRITERS[fmt]
            write(folder / name, args.products)
            run_benchmark(FeedConnector, {"source": str(folder / name), "shop_id": f"bench-{fmt}", **extra},
                          title=f"feed ({TITLES[fmt]})", products=args.products, latency=args.latency,
                          distinct_images=DISTINCT_IMAGES, rate_limit=args.rate_limit)
        if args.http:
            feed = folder / "http.xml"
            write_google(feed, args.products)
            # absolute image URLs: a feed on the web names its images by URL; the Gateway copies them
            feed.write_text(feed.read_text(encoding="utf-8").replace(
                "<g:image_link>images/", "<g:image_link>https://cdn.example.pl/images/"), encoding="utf-8")
            with etag_server(feed) as server:
                run_benchmark(FeedConnector, {"source": f"{server.url}/feed.xml", "shop_id": "bench-http"},
                              title="feed (Google Merchant XML over HTTP, re-run answered 304)",
                              products=args.products, latency=args.latency, distinct_images=DISTINCT_IMAGES, rate_limit=args.rate_limit)


if __name__ == "__main__":
    main()
