"""Benchmark (not a test): step 2 for PrestaShop, Gateway sales applied to the shop end to end.

    .venv/bin/python bench/bench_stock.py [--products 200] [--events 400] [--latency 0.02]

Imports a PrestaShop catalog into the sandbox, starts `serve` on a real socket, and posts
signed stock events from 8 concurrent senders (as the Gateway's retrying deliverer would);
prints events per second from the first post to the last event applied to the shop, the
shop calls per event, and checks that every sale landed exactly once.
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
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import PrestaShopFake


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "PrestaShop")
    parser.set_defaults(products=200)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4, help="serve --workers")
    args = parser.parse_args()
    logging.getLogger("waitress").setLevel(logging.ERROR)
    with PrestaShopFake.running(latency=args.latency) as fake, \
            tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp, \
            Harness(PrestaShopConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency) as h:
        fake.seed(args.products)
        assert h.run().exit_code == 0
        items = [(p["guid"], p["data"]["source"]) for p in h.products()]
        for _, source in items:  # enough stock that no sale runs dry
            fake.set_shop_stock(source["product_id"], source.get("variant_id"), 10_000)
        rng = random.Random(5)
        events = [(rng.choice(items), rng.choice((-1, -1, -2, +1))) for _ in range(args.events)]
        expected = {}
        for (_, source), delta in events:
            key = (source["product_id"], source.get("variant_id"))
            expected[key] = expected.get(key, 10_000) + delta
        with stock_service(PrestaShopConnector, h.config(), workers=args.workers) as service:
            ready = threading.Event()
            urls: list[str] = []
            threading.Thread(target=serve_forever, args=(service, "127.0.0.1", 0), daemon=True,
                             kwargs={"ready": lambda url: (urls.append(url), ready.set())}).start()
            ready.wait(10)
            calls_before = fake.calls["total"]
            started = time.perf_counter()
            key = base64.b64decode(h.signing_key)
            with ThreadPoolExecutor(8) as senders:
                list(senders.map(lambda e: post(urls[0], h.shop_guid, key, *e), events))
            stored = time.perf_counter() - started
            while service.queue.counts()["applied"] + service.queue.counts()["parked"] < len(events):
                time.sleep(0.01)
            seconds = time.perf_counter() - started
            shop_calls = fake.calls["total"] - calls_before
            parked = service.queue.counts()["parked"]
            service.stop()
            wrong = [k for k, v in expected.items() if fake.shop_stock(*k) != v]
        print(f"step 2, PrestaShop: {len(events)} events over {len(expected)} items, "
              f"{args.latency * 1000:.0f} ms shop latency, serve --workers {args.workers}")
        print(f"  all stored (2xx)     {stored:.1f} s ({len(events) / stored:.0f} events/s received)")
        print(f"  all applied          {seconds:.1f} s ({len(events) / seconds:.1f} events/s end to end)")
        print(f"  shop calls           {shop_calls} ({shop_calls / len(events):.1f} per event: read, guard read, "
              f"PUT; the connector keeps PrestaShop under 10 calls/s)")
        print(f"  parked               {parked}")
        print(f"  items off            {len(wrong)} (every sale applied exactly once when 0)")


def post(url: str, shop: str, key: bytes, item: tuple[str, dict], delta: int) -> None:
    body = json.dumps({"id": str(uuid.uuid4()), "type": "stock.changed", "created": "2026-11-30T10:00:00Z",
                       "data": {"product_guid": item[0], "sku": None, "delta": delta, "stock_level": 0,
                                "reason": "order" if delta < 0 else "cancellation", "order_id": None}}).encode()
    for _ in range(5):
        answer = requests.post(f"{url}/gateway/events/{shop}", data=body, timeout=10, headers={
            "Gateway-Signature": sign(body, key, int(time.time())), "Content-Type": "application/json"})
        if answer.ok:
            return
    raise RuntimeError(f"event refused: {answer.status_code} {answer.text}")


if __name__ == "__main__":
    main()
