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

import base64
import logging
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_stock import post  # the same signed delivery as the PrestaShop benchmark
from gwsync.stock.serve import serve_forever, stock_service
from gwsync.testing import Harness
from gwsync.testing.bench import scenario_parser
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
    for _, source in items:  # enough stock that no sale runs dry
        fake.set_shop_stock(source["product_id"], source.get("variant_id"), 10_000)
    rng = random.Random(5)
    events = [(rng.choice(items), rng.choice((-1, -1, -2, +1))) for _ in range(args.events)]
    expected: dict[tuple[str, str | None], int] = {}
    for (_, source), delta in events:
        key = (source["product_id"], source.get("variant_id"))
        expected[key] = expected.get(key, 10_000) + delta
    with stock_service(ShoperConnector, h.config(), workers=args.workers) as service:
        ready = threading.Event()
        urls: list[str] = []
        threading.Thread(target=serve_forever, args=(service, "127.0.0.1", 0), daemon=True,
                         kwargs={"ready": lambda url: (urls.append(url), ready.set())}).start()
        ready.wait(10)
        calls_before, throttled_before = fake.api_calls(), fake.shop.throttled
        started = time.perf_counter()
        key = base64.b64decode(h.signing_key)
        with ThreadPoolExecutor(8) as senders:
            list(senders.map(lambda e: post(urls[0], h.shop_guid, key, *e), events))
        stored = time.perf_counter() - started
        while service.queue.counts()["applied"] + service.queue.counts()["parked"] < len(events):
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        shop_calls = fake.api_calls() - calls_before
        parked = service.queue.counts()["parked"]
        service.stop()
        wrong = [k for k, v in expected.items() if fake.shop_stock(*k) != v]
    print(f"serve, Shoper: {len(events)} events over {len(expected)} items, {args.latency * 1000:.0f} ms shop "
          f"latency, bucket 10 calls draining 2/s, serve --workers {args.workers}")
    print(f"  all stored (2xx)     {stored:.1f} s ({len(events) / stored:.0f} events/s received)")
    print(f"  all applied          {seconds:.1f} s ({len(events) / seconds:.2f} events/s end to end)")
    print(f"  shop calls           {shop_calls} ({shop_calls / len(events):.1f} per event), "
          f"429s {fake.shop.throttled - throttled_before}")
    print(f"  parked               {parked}")
    print(f"  items off            {len(wrong)} (every sale applied exactly once when 0)")


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
