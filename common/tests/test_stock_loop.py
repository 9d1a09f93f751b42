"""The whole step-2 loop on one machine: import, a sale on the Gateway, the signed event, the
shop's stock lowered once (even when delivered three times), through `serve` on a real socket."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from gwsync.connector import Connector, ReadContext
from gwsync.models import Item, Product, Variant
from gwsync.stock.apply import StockTarget, TargetGone
from gwsync.stock.serve import serve_forever, stock_service
from gwsync.testing import Harness


class ShopWithStock(Connector):
    """A shop of one variant group whose stock lives in memory and can be written back."""

    platform = "memshop"
    title = "MemShop"
    stock: dict[tuple[str, str | None], int] = {}

    @property
    def shop(self) -> str:
        return "memshop"

    def check(self) -> str:
        return "ok"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        yield Product(product_id="7", name="Bluza", vat=23, price=Decimal("99.00"), variants=tuple(
            Variant(variant_id=size, options={"Rozmiar": size}, stock=self.stock[("7", size)]) for size in "SM"))

    def stock_writer(self) -> MemoryWriter:
        return MemoryWriter(self.stock)


class MemoryWriter:
    relative = False

    def __init__(self, stock: dict) -> None:
        self.stock = stock

    def read(self, target: StockTarget) -> int:
        try:
            return self.stock[(target.product_id, target.variant_id)]
        except KeyError:
            raise TargetGone("gone") from None

    def write(self, target: StockTarget, quantity: int) -> None:
        self.stock[(target.product_id, target.variant_id)] = quantity

    def add(self, target: StockTarget, delta: int) -> None:  # pragma: no cover
        raise AssertionError("absolute only")


@pytest.fixture
def loop(tmp_path):
    ShopWithStock.stock = {("7", "S"): 5, ("7", "M"): 2}
    with Harness(ShopWithStock, {}, tmp_path) as h:
        assert h.run().exit_code == 0
        ready = threading.Event()
        urls: list[str] = []
        with stock_service(ShopWithStock, h.config(), workers=2) as service:
            thread = threading.Thread(target=serve_forever, args=(service, "127.0.0.1", 0),
                                      kwargs={"ready": lambda url: (urls.append(url), ready.set())}, daemon=True)
            thread.start()
            assert ready.wait(10)
            requests.post(f"{h.sandbox.url}/_sandbox/webhooks", json={"shop": h.shop_guid, "url": urls[0]},
                          timeout=5).raise_for_status()
            yield h, service, urls[0]
            service.stop()


def guid_of(h, size):
    return next(p["guid"] for p in h.products() if p["data"]["source"]["variant_id"] == size)


def wait_until(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_sale_on_the_gateway_lowers_the_shop_once_even_delivered_three_times(loop):
    h, service, url = loop
    guid = guid_of(h, "S")
    answer = requests.post(f"{h.sandbox.url}/_sandbox/stock", timeout=5, json={
        "shop": h.shop_guid, "changes": [{"product_guid": guid, "delta": -2}], "duplicates": 2})
    answer.raise_for_status()
    assert wait_until(lambda: len(requests.get(f"{h.sandbox.url}/_sandbox/events", timeout=5)
                                  .json()["deliveries"]) == 3 and service.queue.counts()["applied"] == 1)
    assert wait_until(lambda: all(d["status"] == 200 for d in
                                  requests.get(f"{h.sandbox.url}/_sandbox/events", timeout=5).json()["deliveries"]))
    assert ShopWithStock.stock[("7", "S")] == 3
    assert requests.get(f"{url}/healthz", timeout=5).json()["applied"] == 1


def test_sales_and_a_cancellation_out_of_order_end_right(loop):
    h, service, _ = loop
    guid = guid_of(h, "M")
    requests.post(f"{h.sandbox.url}/_sandbox/stock", timeout=5, json={
        "shop": h.shop_guid, "reorder": True,
        "changes": [{"product_guid": guid, "delta": -1}, {"product_guid": guid, "delta": -1},
                    {"product_guid": guid, "delta": +1, "reason": "cancellation"}]}).raise_for_status()
    assert wait_until(lambda: service.queue.counts()["applied"] == 3)
    assert ShopWithStock.stock[("7", "M")] == 1


def test_an_unsigned_post_is_refused_and_stores_nothing(loop):
    h, service, url = loop
    answer = requests.post(f"{url}/gateway/events/{h.shop_guid}", json={"id": "x"}, timeout=5)
    assert answer.status_code == 401
    assert service.queue.counts()["pending"] == 0


def test_serve_status_lists_parked_events_and_exits_1(loop):
    h, service, url = loop
    requests.post(f"{h.sandbox.url}/_sandbox/stock", timeout=5, json={
        "shop": h.shop_guid, "changes": [{"product_guid": guid_of(h, "S"), "delta": -1}]}).raise_for_status()
    del ShopWithStock.stock[("7", "S")]  # the variant was deleted in the shop meanwhile
    assert wait_until(lambda: service.queue.counts()["parked"] == 1)
    result = h.cli(["serve", "status"])
    assert result.exit_code == 1
    assert "parked 1" in result.stdout and "gone" in result.stdout


def test_serve_refuses_a_platform_without_a_write_path(tmp_path):
    class ReadOnly(ShopWithStock):
        def stock_writer(self) -> None:
            return None

    with Harness(ReadOnly, {}, tmp_path) as h:
        result = h.cli(["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "no safe way to write stock" in result.stderr


def test_serve_takes_the_log_format_its_deployment_examples_pass(tmp_path):
    with Harness(ShopWithStock, {}, tmp_path) as h:
        result = h.cli(["serve", "--log-format", "json", "--help"])
    assert result.exit_code == 0 and "GATEWAY_LOG_FORMAT" in result.stdout
