"""The step-2 service on its own: signatures, durable queue, exactly once, order, guards, parking.

The platform side is a small in-memory shop here; every platform with a write path runs
the same behaviours through its own fake in its tests.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable

import pytest
from gwsync.stock.apply import StockTarget, TargetGone
from gwsync.stock.events import sign
from gwsync.state_pg import Scope
from gwsync.stock.queue import EventQueue
from gwsync.stock.queue_pg import PgEventQueue
from gwsync.stock.service import MAX_BODY, StockService
from gwsync.testing.postgres import postgres_url  # noqa: F401  (fixture)
from werkzeug.test import Client

SHOP = str(uuid.uuid4())


class MemoryShop:
    """Absolute quantities only (like PrestaShop), with hooks to simulate the shop selling meanwhile."""

    relative = False

    def __init__(self, stock: dict[str, int]) -> None:
        self.stock = dict(stock)
        self.reads = 0
        self.on_read: Callable[[str], None] = lambda product: None
        self.after_write: Callable[[], None] = lambda: None

    def read(self, target: StockTarget) -> int:
        if target.product_id not in self.stock:
            raise TargetGone(f"product {target.product_id} is gone from the shop")
        self.reads += 1
        value = self.stock[target.product_id]
        self.on_read(target.product_id)  # what the shop does right after answering us
        return value

    def write(self, target: StockTarget, quantity: int) -> None:
        self.stock[target.product_id] = quantity
        self.after_write()

    def add(self, target: StockTarget, delta: int) -> None:  # pragma: no cover - relative is False
        raise AssertionError("an absolute-only shop has no relative operation")


@pytest.fixture
def key():
    return secrets.token_bytes(32)


@pytest.fixture(params=["sqlite", "postgres"])
def open_queue(request, tmp_path):
    """Opens the queue anew on the same storage each call (a restart), SQLite or PostgreSQL."""
    opened = []

    def factory():
        if request.param == "sqlite":
            q = EventQueue(tmp_path / "events.sqlite")
        else:
            q = PgEventQueue(request.getfixturevalue("postgres_url"), Scope("mem", "shop", "gw", SHOP))
        opened.append(q)
        return q

    yield factory
    for q in opened:
        q.close()


@pytest.fixture
def queue(open_queue):
    return open_queue()


def make_service(queue, key, shop, clock=time.time):
    targets = {"guid-a": StockTarget("10", "1"), "guid-b": StockTarget("11", None)}
    return StockService(queue, {SHOP: key}, targets.get, shop, workers=1, clock=clock)


def event(delta, product="guid-a", id_=None):
    return {"id": id_ or str(uuid.uuid4()), "type": "stock.changed", "created": "2026-11-30T10:00:00Z",
            "data": {"product_guid": product, "sku": "SKU-1", "delta": delta, "stock_level": 3,
                     "reason": "order" if delta < 0 else "cancellation", "order_id": "o-1"}}


def post(service, key, body, shop=SHOP, when=None, signature=None):
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    header = signature if signature is not None else sign(raw, key, int(when or time.time()))
    return Client(service).post(f"/gateway/events/{shop}", data=raw,
                                headers={"Gateway-Signature": header, "Content-Type": "application/json"})


def drain(service):
    while service.work_once():
        pass


def test_a_sale_delivered_three_times_lowers_the_stock_once(queue, key):
    shop = MemoryShop({"10": 5, "11": 2})
    service = make_service(queue, key, shop)
    sale = event(-2)
    answers = [post(service, key, sale) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json["status"] for a in answers] == ["stored", "duplicate", "duplicate"]
    drain(service)
    assert shop.stock["10"] == 3
    assert queue.counts()["applied"] == 1


def test_a_cancellation_raises_it_and_out_of_order_events_end_right(queue, key):
    shop = MemoryShop({"10": 5, "11": 2})
    service = make_service(queue, key, shop)
    for delta in (+1, -3, -1):  # the cancellation arrives before the sale it cancels
        post(service, key, event(delta))
    post(service, key, event(+1, product="guid-b"))
    drain(service)
    assert shop.stock == {"10": 2, "11": 3}


def test_an_event_stored_before_a_crash_is_applied_after_the_restart(open_queue, key):
    shop = MemoryShop({"10": 5})
    first = open_queue()
    assert post(make_service(first, key, shop), key, event(-1)).status_code == 200
    # the process dies before any worker ran
    again = open_queue()
    service = make_service(again, key, shop)
    service.start()
    deadline = time.monotonic() + 10
    while shop.stock["10"] != 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    service.stop()
    assert shop.stock["10"] == 4


def test_a_crash_between_the_write_and_its_record_does_not_apply_twice(open_queue, key):
    shop = MemoryShop({"10": 5})
    first = open_queue()
    post(make_service(first, key, shop), key, event(-2))

    def crash() -> None:
        raise SystemExit("power cut right after the platform write")

    shop.after_write = crash
    with pytest.raises(SystemExit):
        make_service(first, key, shop).work_once()
    assert shop.stock["10"] == 3
    shop.after_write = lambda: None
    again = open_queue()
    service = make_service(again, key, shop)
    again.recover()
    drain(service)
    assert shop.stock["10"] == 3  # recognised as done, not lowered again
    assert again.counts()["applied"] == 1


def test_a_sale_in_the_shop_meanwhile_is_not_overwritten(queue, key):
    shop = MemoryShop({"10": 5})
    service = make_service(queue, key, shop)
    post(service, key, event(-1))

    def shop_sells_once(product: str) -> None:
        if shop.reads == 1:  # right after answering our first read, the shop sells 2
            shop.stock[product] -= 2

    shop.on_read = shop_sells_once
    drain(service)
    assert shop.stock["10"] == 2  # 5 - 2 (shop) - 1 (Gateway); writing 5 - 1 would undo the shop's sale


def test_unknown_and_vanished_products_are_parked_with_their_reason(queue, key):
    shop = MemoryShop({"11": 1})  # product 10 was deleted in the shop
    service = make_service(queue, key, shop)
    post(service, key, event(-1, product="guid-a"))
    post(service, key, event(-1, product="guid-unknown"))
    drain(service)
    reasons = {p["product_guid"]: p["reason"] for p in queue.parked()}
    assert "gone from the shop" in reasons["guid-a"]
    assert "unknown Gateway product" in reasons["guid-unknown"]
    assert queue.counts()["parked"] == 2


def test_a_failing_platform_is_retried_later_and_pending_deltas_are_visible(queue, key):
    shop = MemoryShop({"10": 5})
    now = [1_800_000_000.0]
    service = make_service(queue, key, shop, clock=lambda: now[0])

    def down(product: str) -> None:
        raise ConnectionError("shop unreachable")

    shop.on_read = down
    post(service, key, event(-2), when=now[0])
    assert service.work_once()
    assert queue.pending_deltas() == {"guid-a": -2}  # the stock pass leaves this item alone meanwhile
    assert not service.work_once()  # backing off
    shop.on_read = lambda product: None
    now[0] += 3600
    drain(service)
    assert shop.stock["10"] == 3 and queue.pending_deltas() == {}


@pytest.mark.parametrize(("change", "status"), [
    ("bad signature", 401), ("old timestamp", 401), ("unknown shop", 401), ("no signature", 401),
    ("not an event", 400), ("too large", 413),
])
def test_requests_that_are_not_genuine_fresh_events_are_refused(queue, key, change, status):
    service = make_service(queue, key, MemoryShop({"10": 5}))
    body = event(-1)
    if change == "bad signature":
        answer = post(service, key, body, signature=sign(json.dumps(body).encode(), secrets.token_bytes(32),
                                                         int(time.time())))
    elif change == "old timestamp":
        answer = post(service, key, body, when=time.time() - 600)
    elif change == "unknown shop":
        answer = post(service, key, body, shop=str(uuid.uuid4()))
    elif change == "no signature":
        answer = post(service, key, body, signature="")
    elif change == "not an event":
        answer = post(service, key, {"id": "x", "type": "order.created"})
    else:
        answer = post(service, key, b"{" + b" " * MAX_BODY + b"}")
    assert answer.status_code == status
    assert queue.counts()["pending"] == 0


def test_health_endpoint_reports_counts(queue, key):
    service = make_service(queue, key, MemoryShop({"10": 5}))
    post(service, key, event(-1))
    answer = Client(service).get("/healthz")
    assert answer.status_code == 200 and answer.json["pending"] == 1
    assert base64.b64encode(key).decode() not in answer.text
