"""Benchmark (not a test): step 2 for Magento 2, both directions, against the fake REST API.

    .venv/bin/python bench/bench_magento_stock.py [--configurables 3334] [--children 3] [--changed 0.01]
        [--events 300] [--latency 0.02] [--oauth]

A generated shop of configurables with size/colour children (MSI stock in two sources) is
imported into the sandbox. Then:
1. `stock` pass: its first run (it reads every record once, like an import), one on the
   unchanged shop, one after `--changed` of the items' stock changed in the shop, and an
   incremental `import` of the unchanged shop to compare; prints Magento calls by resource,
   Gateway writes and wall time of each;
2. `serve`: signed events posted by 8 concurrent senders to a real socket; prints events
   per second end to end, Magento calls per event, and checks every sale landed once.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from gwsync.testing.bench_events import events_end_to_end
from gwsync.testing import Harness
from gwsync_magento.connector import MagentoConnector
from gwsync_magento.fake import MagentoFake


def api_calls(fake: MagentoFake) -> Counter:
    return Counter({k: v for k, v in fake.calls.items() if k != "images"})


def stock_pass(h: Harness, fake: MagentoFake, title: str, *, stock_only: bool = True) -> None:
    fake.calls.clear()
    writes = h.writes()
    started = time.perf_counter()
    report = h.run(stock_only=True, archive_missing=False) if stock_only else h.run()
    seconds = time.perf_counter() - started
    calls = api_calls(fake)
    print(f"  {title:<28} {seconds:6.1f} s, {sum(calls.values()):4d} Magento calls {dict(sorted(calls.items()))}, "
          f"{h.writes() - writes} Gateway writes, updated {report.counts.get('updated', 0)}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("werkzeug", "waitress", "gwsync.stock.service"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configurables", type=int, default=3334)
    parser.add_argument("--children", type=int, default=3)
    parser.add_argument("--changed", type=float, default=0.01, help="share of items whose stock changes")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4, help="serve --workers")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per Magento request")
    parser.add_argument("--oauth", action="store_true", help="sign with OAuth 1.0a instead of a bearer token")
    args = parser.parse_args()
    with MagentoFake.running(latency=args.latency, oauth=args.oauth) as fake, \
            tempfile.TemporaryDirectory(prefix="bench-magento-stock-") as tmp, \
            Harness(MagentoConnector, fake.config(), Path(tmp)) as h:
        fake.seed_configurables(args.configurables, children=args.children, images=0)
        started = time.perf_counter()
        assert h.run().exit_code == 0
        items = [(p["guid"], p["data"]["source"]) for p in h.products()]
        print(f"catalog: {len(items)} Gateway items, {len(fake.shop.products)} Magento products, "
              f"{len(fake.shop.source_items)} MSI source items, {args.latency * 1000:.0f} ms per Magento call; "
              f"import {time.perf_counter() - started:.1f} s")
        print("stock pass (shop -> Gateway):")
        stock_pass(h, fake, "first run")
        stock_pass(h, fake, "unchanged shop")
        rng = random.Random(7)
        for _, source in rng.sample(items, max(1, int(len(items) * args.changed))):
            fake.set_shop_stock(source["product_id"], source.get("variant_id"),
                                fake.shop_stock(source["product_id"], source.get("variant_id")) + 3)
        stock_pass(h, fake, f"{args.changed:.0%} of the stock changed")
        stock_pass(h, fake, "import re-run (comparison)", stock_only=False)
        events(h, fake, items, args)


def events(h: Harness, fake: MagentoFake, items: list, args: argparse.Namespace) -> None:
    chosen = random.Random(5).sample(items, min(len(items), 100))
    targets = [(guid, (source["product_id"], source.get("variant_id"))) for guid, source in chosen]
    run = events_end_to_end(MagentoConnector, h, fake, targets, events=args.events, workers=args.workers,
                            shop_calls=lambda: sum(api_calls(fake).values()))
    run.print("serve (Gateway -> shop), Magento", ": SKU by entity id, read, guard read, write")


if __name__ == "__main__":
    main()
