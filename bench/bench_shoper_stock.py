"""Benchmark (not a test): step 2 for Shoper, both directions, against the fake WebAPI with its bucket on.

    .venv/bin/python bench/bench_shoper_stock.py [--products 10000] [--events 60] [--latency 0.02]

1. `serve`: signed stock events posted by 8 concurrent senders to `serve` on a real socket
   (over the first 200 products); prints events per second from the first post to the last
   event applied, the shop calls per event and whether every sale landed exactly once.
   Shoper's bucket (10 calls, draining 2/s) bounds it: each event is a read, a guard read
   and a PUT.
2. `stock`: the stock pass over the whole catalog, unchanged, then with 1 % of the items'
   stock changed in the shop: wall time, shop HTTP calls (bulk sub-requests), Gateway writes.
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
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake

EVENT_ITEMS = 200


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "Shoper")
    parser.set_defaults(products=10_000)
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2, help="serve --workers")
    args = parser.parse_args()
    logging.getLogger("waitress").setLevel(logging.ERROR)
    with ShoperFake.running(latency=args.latency) as fake, \
            tempfile.TemporaryDirectory(prefix="bench-shoper-stock-") as tmp, \
            Harness(ShoperConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency) as h:
        fake.seed(args.products)
        started = time.perf_counter()
        assert h.run().exit_code == 0
        print(f"import of {args.products} products ({fake.expected_items()} items): "
              f"{time.perf_counter() - started:.1f} s (setup, not measured further)")
        items = [(p["guid"], p["data"]["source"]) for p in h.products()]
        serve_bench(h, fake, items[:EVENT_ITEMS], args)
        stock_pass_bench(h, fake, items)


def serve_bench(h: Harness, fake: ShoperFake, items: list, args) -> None:
    targets = [(guid, (source["product_id"], source.get("variant_id"))) for guid, source in items]
    throttled = fake.shop.throttled
    run = events_end_to_end(ShoperConnector, h, fake, targets, events=args.events, workers=args.workers,
                            shop_calls=fake.api_calls)
    run.print(f"serve, Shoper, {args.latency * 1000:.0f} ms shop latency, bucket 10 calls draining 2/s",
              f"; 429s {fake.shop.throttled - throttled}")


def stock_pass_bench(h: Harness, fake: ShoperFake, items: list) -> None:
    print(f"stock pass, Shoper: {fake.expected_items()} items of {len(fake.shop.products)} products")
    h.run(stock_only=True, archive_missing=False)  # settles what the serve part changed
    measure(h, fake, "unchanged")
    rng = random.Random(7)
    for _, source in rng.sample(items, max(1, len(items) // 100)):
        identity = (source["product_id"], source.get("variant_id"))
        fake.set_shop_stock(*identity, fake.shop_stock(*identity) + 3)
    measure(h, fake, "1 % changed")


def measure(h: Harness, fake: ShoperFake, label: str) -> None:
    fake.shop.requests.clear()
    fake.shop.sub_requests.clear()
    writes = h.writes()
    started = time.perf_counter()
    report = h.run(stock_only=True, archive_missing=False)
    seconds = time.perf_counter() - started
    calls = fake.api_calls()
    print(f"  {label:<12} {seconds:.1f} s, shop calls {calls} ({sum(fake.shop.sub_requests.values())} bulk "
          f"sub-requests), Gateway writes {h.writes() - writes}, updated {report.counts.get('updated', 0)}, "
          f"exit {report.exit_code}")


if __name__ == "__main__":
    main()
