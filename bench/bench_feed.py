"""Benchmark (not a test): a generated Google Merchant feed of 10,000 products into the sandbox.

    .venv/bin/python bench/bench_feed.py [--products 10000] [--latency 0.02] [--rate-limit 25]

Prints wall time, Gateway calls per product, images hosted per distinct image, Gateway
429s, the most Gateway requests in flight, the achieved Gateway rate, peak RSS of the import
process, identities stored twice, and what an immediate re-run costs; with `--rate-limit`
the sandbox allows that many requests/s and the utilisation of the limit is printed too.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from gwsync.testing.bench import run_benchmark
from gwsync.testing.images import png
from gwsync_feed.connector import FeedConnector

DISTINCT_IMAGES = 200


def write_feed(folder: Path, products: int) -> Path:
    images = folder / "images"
    images.mkdir()
    for n in range(DISTINCT_IMAGES):
        (images / f"{n}.png").write_bytes(png((n % 256, (n * 7) % 256, (n * 13) % 256), size=64))
    path = folder / "feed.xml"
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                  'xmlns:g="http://base.google.com/ns/1.0"><channel><title>bench</title>\n')
        for n in range(products):
            out.write(_item(n))
        out.write("</channel></rss>\n")
    return path


def _item(n: int) -> str:
    group = n // 4 if n % 10 < 4 else None  # 40 % of the items come in groups of up to four sizes
    size = "SMLX"[n % 4]
    fields = {
        "g:id": f"SKU-{n}", "g:title": escape(f"Produkt {n // 4 if group is not None else n}"),
        "g:description": f"Opis produktu {n}", "g:price": f"{10 + n % 90}.99 PLN",
        "g:availability": "in_stock", "g:quantity": str(n % 17),
        "g:image_link": f"images/{n % DISTINCT_IMAGES}.png",
        "g:product_type": "Dom i ogród &gt; Kuchnia i jadalnia",
    }
    if group is not None:
        fields.update({"g:item_group_id": f"G{group}", "g:size": size})
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f"<item>{body}</item>\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rate-limit", type=float, default=0.0,
                        help="the sandbox Gateway allows this many requests/s (429, Retry-After: 1); 0: no limit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
        feed = write_feed(Path(tmp), args.products)
        run_benchmark(FeedConnector, {"source": str(feed)}, title="feed (Google Merchant XML)",
                      products=args.products, latency=args.latency, distinct_images=DISTINCT_IMAGES,
                      rate_limit=args.rate_limit)


if __name__ == "__main__":
    main()
