"""Benchmark (not a test): step 2 for IdoSell, the `stock` pass and `serve`, against the fake.

    .venv/bin/python bench/bench_iai_stock.py [--products 2000] [--changed 0.01] [--events 400] [--latency 0.02]

Imports an IdoSell catalog into the sandbox, then times `stock` passes (the first, which reads
every product narrowly; one on an unchanged shop; one after `--changed` of the products sold
in the shop) with their IdoSell calls and Gateway writes, and `serve` applying signed events
posted by 8 concurrent senders through a real socket (events per second end to end, shop
calls per event, and a check that every sale landed exactly once).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from gwsync.stock.events import sign
from gwsync.stock.serve import serve_forever, stock_service
from gwsync.testing import Harness
from gwsync.testing.bench import scenario_parser
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
    for _, identity in items:
        fake.set_shop_stock(*identity, STOCK)  # enough that no sale runs dry
    rng = random.Random(5)
    events = [(rng.choice(items), rng.choice((-1, -1, -2, +1))) for _ in range(args.events)]
    expected: dict = {}
    for (_, identity), delta in events:
        expected[identity] = expected.get(identity, STOCK) + delta
    with stock_service(IaiConnector, h.config(), workers=args.workers) as service:
        ready = threading.Event()
        urls: list[str] = []
        threading.Thread(target=serve_forever, args=(service, "127.0.0.1", 0), daemon=True,
                         kwargs={"ready": lambda url: (urls.append(url), ready.set())}).start()
        ready.wait(10)
        fake.reset_counters()
        key = base64.b64decode(h.signing_key)
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as senders:
            list(senders.map(lambda e: post(urls[0], h.shop_guid, key, e[0][0], e[1]), events))
        while sum(service.queue.counts()[s] for s in ("applied", "parked")) < len(events):
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        parked = service.queue.counts()["parked"]
        service.stop()
    wrong = [k for k, v in expected.items() if fake.shop_stock(*k) != v]
    print(f"  serve --workers {args.workers}: {len(events)} events over {len(expected)} items in {seconds:.1f} s "
          f"= {len(events) / seconds:.1f} events/s end to end; IdoSell calls {fake.total_calls()} "
          f"({fake.total_calls() / len(events):.1f} per event); parked {parked}; items off {len(wrong)}")


def post(url: str, shop: str, key: bytes, guid: str, delta: int) -> None:
    body = json.dumps({"id": str(uuid.uuid4()), "type": "stock.changed", "created": "2026-11-30T10:00:00Z",
                       "data": {"product_guid": guid, "sku": None, "delta": delta, "stock_level": 0,
                                "reason": "order" if delta < 0 else "cancellation", "order_id": None}}).encode()
    for _ in range(5):
        answer = requests.post(f"{url}/gateway/events/{shop}", data=body, timeout=10, headers={
            "Gateway-Signature": sign(body, key, int(time.time())), "Content-Type": "application/json"})
        if answer.ok:
            return
    raise RuntimeError(f"event refused: {answer.status_code}")


if __name__ == "__main__":
    main()
