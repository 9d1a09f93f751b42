"""Benchmark (not a test): step 2 for IdoSell, the `stock` pass and `serve`, against the fake.

    .venv/bin/python bench/bench_iai_stock.py [--products 2000] [--changed 0.01] [--events 400] [--latency 0.02]

Imports an IdoSell catalog into the sandbox, then times `stock` passes (the first, which reads
every product narrowly; one on an unchanged shop; one after `--changed` of the products sold
in the shop) with their IdoSell calls and Gateway writes, and `serve` applying signed events
posted by 8 concurrent senders through a real socket (events per second end to end, shop
calls per event, and a check that every sale landed exactly once).
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from pathlib import Path

from gwsync.testing import Harness
from gwsync.testing.bench import scenario_parser
from gwsync.testing.bench_events import events_end_to_end
from gwsync_iai.connector import IaiConnector
from gwsync_iai.fake import IdoSellFake

STOCK = 10_000


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "IdoSell")
    parser.set_defaults(products=2000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of products sold in the shop")
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4, help="serve --workers")
    args = parser.parse_args()
    logging.getLogger("waitress").setLevel(logging.ERROR)
    with IdoSellFake.running(latency=args.latency) as fake, \
            tempfile.TemporaryDirectory(prefix="bench-iai-stock-") as tmp, \
            Harness(IaiConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency) as h:
        fake.seed(args.products)
        started = time.perf_counter()
        assert h.run().exit_code == 0
        items = [(p["guid"], (p["data"]["source"]["product_id"], p["data"]["source"].get("variant_id")))
                 for p in h.products()]
        print(f"IdoSell: {args.products} products, {len(items)} Gateway items, imported in "
              f"{time.perf_counter() - started:.1f} s; latency {args.latency * 1000:.0f} ms")
        stock_pass(h, fake, "first stock pass (every product)")
        stock_pass(h, fake, "unchanged shop")
        rng = random.Random(3)
        sold = rng.sample(items, max(1, int(len(items) * args.changed)))
        for _, identity in sold:
            fake.set_shop_stock(*identity, max(fake.shop_stock(*identity) - 1, 0) + 7)
        stock_pass(h, fake, f"{len(sold)} items changed")
        serve(h, fake, items, args)


def stock_pass(h: Harness, fake: IdoSellFake, label: str) -> None:
    fake.reset_counters()
    writes = h.writes()
    started = time.perf_counter()
    report = h.run(stock_only=True, archive_missing=False)
    seconds = time.perf_counter() - started
    print(f"  stock: {label:<34} {seconds:6.1f} s  IdoSell calls {fake.total_calls():4d} "
          f"({dict(fake.calls)})  Gateway writes {h.writes() - writes:4d}  updated {report.counts['updated']}")


def serve(h: Harness, fake: IdoSellFake, items: list, args) -> None:
    run = events_end_to_end(IaiConnector, h, fake, items, events=args.events, workers=args.workers,
                            shop_calls=fake.total_calls)
    run.print(f"serve, IdoSell, {args.latency * 1000:.0f} ms shop latency", ": read, then one relative PUT")


if __name__ == "__main__":
    main()
