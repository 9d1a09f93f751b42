"""Benchmark helper for step 2: signed stock events posted to a running `serve`, applied end to end.

Every platform's step-2 benchmark measures the same thing: events from 8 concurrent senders
(as the Gateway's retrying deliverer would post them) to `serve` on a real socket, timed from
the first post until the last event is applied to the shop (or parked), and checked against
the shop: each sale must have landed exactly once.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from ..connector import Connector
from ..stock.events import sign
from ..stock.serve import serve_forever, stock_service
from .harness import Harness
from .stock_suite import StockFake

Identity = tuple[str, str | None]
START_STOCK = 10_000  # enough that no sale runs dry


@dataclass(frozen=True)
class EventsRun:
    events: int
    items: int
    workers: int
    stored_seconds: float  # until every event was answered 2xx
    applied_seconds: float  # until every event was applied or parked
    shop_calls: int
    parked: int
    items_off: int  # items whose shop stock is not the sum of their events

    def print(self, title: str, calls_note: str = "") -> None:
        print(f"{title}: {self.events} events over {self.items} items, serve --workers {self.workers}")
        print(f"  all stored (2xx)     {self.stored_seconds:.1f} s ({self.events / self.stored_seconds:.0f} events/s "
              "received)")
        print(f"  all applied          {self.applied_seconds:.1f} s ({self.events / self.applied_seconds:.2f} events/s "
              "end to end)")
        print(f"  shop calls           {self.shop_calls} ({self.shop_calls / self.events:.1f} per event{calls_note})")
        print(f"  parked               {self.parked}")
        print(f"  items off            {self.items_off} (every sale applied exactly once when 0)")


def events_end_to_end(connector_cls: type[Connector], h: Harness, fake: StockFake,
                      targets: Sequence[tuple[str, Identity]], *, events: int, workers: int,
                      shop_calls: Callable[[], int], seed: int = 5) -> EventsRun:
    """`events` sales and cancellations over `targets` (Gateway guid, source identity) through `serve`."""
    for _, identity in targets:
        fake.set_shop_stock(*identity, START_STOCK)
    rng = random.Random(seed)
    batch = [(rng.choice(targets), rng.choice((-1, -1, -2, +1))) for _ in range(events)]
    expected: dict[Identity, int] = {}
    for (_, identity), delta in batch:
        expected[identity] = expected.get(identity, START_STOCK) + delta
    key = base64.b64decode(h.signing_key)
    with stock_service(connector_cls, h.config(), workers=workers) as service:
        ready = threading.Event()
        urls: list[str] = []
        threading.Thread(target=serve_forever, args=(service, "127.0.0.1", 0), daemon=True,
                         kwargs={"ready": lambda url: (urls.append(url), ready.set())}).start()
        ready.wait(10)
        calls_before = shop_calls()
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as senders:
            list(senders.map(lambda e: post_event(urls[0], h.shop_guid, key, e[0][0], e[1]), batch))
        stored = time.perf_counter() - started
        while sum(service.queue.counts()[s] for s in ("applied", "parked")) < len(batch):
            time.sleep(0.01)
        applied = time.perf_counter() - started
        calls = shop_calls() - calls_before
        parked = service.queue.counts()["parked"]
        service.stop()
    off = sum(1 for identity, stock in expected.items() if fake.shop_stock(*identity) != stock)
    return EventsRun(len(batch), len(expected), workers, stored, applied, calls, parked, off)


def post_event(url: str, shop: str, key: bytes, guid: str, delta: int) -> None:
    """One signed B17 event, resent (as the Gateway does) until it is answered 2xx."""
    body = json.dumps({"id": str(uuid.uuid4()), "type": "stock.changed", "created": "2026-11-30T10:00:00Z",
                       "data": {"product_guid": guid, "sku": None, "delta": delta, "stock_level": 0,
                                "reason": "order" if delta < 0 else "cancellation", "order_id": None}}).encode()
    for _ in range(5):
        answer = requests.post(f"{url}/gateway/events/{shop}", data=body, timeout=10, headers={
            "Gateway-Signature": sign(body, key, int(time.time())), "Content-Type": "application/json"})
        if answer.ok:
            return
    raise RuntimeError(f"event refused: {answer.status_code} {answer.text[:200]}")
