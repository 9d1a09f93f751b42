"""The step-2 suite every platform with a stock write path runs against its own fake.

    class TestExampleStock(StockSuite):
        connector = ExampleConnector

        @pytest.fixture
        def fake(self):
            with ExampleFake.running() as fake:
                yield fake

The fake offers, beside `FakePlatform`, the three methods of `StockFake`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest
from werkzeug.test import Client

from ..connector import Connector
from ..stock.events import sign
from ..stock.serve import stock_service
from ..stock.service import StockService
from .fake import FakePlatform
from .harness import Harness

Identity = tuple[str, str | None]


class StockFake(FakePlatform, Protocol):
    def shop_stock(self, product_id: str, variant_id: str | None) -> int:
        """The item's stock as the shop holds it now."""

    def set_shop_stock(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        """Change the item's stock as a sale in the shop would."""

    def sell_after_next_read(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        """Right after answering the next stock read of the item, the shop sells `quantity`."""


class StockSuite:
    connector: ClassVar[type[Connector]]
    catalog_size: ClassVar[int] = 8

    @pytest.fixture
    def fake(self) -> Iterator[StockFake]:
        raise NotImplementedError("a connector's stock suite provides its fake platform")

    @pytest.fixture
    def gw(self, fake: StockFake, tmp_path: Path) -> Iterator[Harness]:
        fake.seed(self.catalog_size)
        with Harness(self.connector, fake.config(), tmp_path) as h:
            assert h.run().exit_code == 0
            yield h

    @pytest.fixture
    def service(self, gw: Harness) -> Iterator[StockService]:
        with stock_service(self.connector, gw.config()) as service:
            yield service

    # -- helpers ---------------------------------------------------------------------------

    def item(self, gw: Harness, fake: StockFake, at_least: int = 3) -> tuple[str, Identity]:
        """A Gateway product whose source item has stock to sell, and that item's identity."""
        for product in gw.products():
            source = product["data"]["source"]
            identity = (source["product_id"], source.get("variant_id"))
            if fake.shop_stock(*identity) < at_least:
                fake.set_shop_stock(*identity, at_least + 2)
            return product["guid"], identity
        raise AssertionError("the import created no product")

    def post(self, service: StockService, gw: Harness, body: dict[str, Any], *, when: float | None = None,
             key: bytes | None = None, shop: str | None = None) -> Any:
        raw = json.dumps(body).encode()
        header = sign(raw, key or base64.b64decode(gw.signing_key), int(time.time() if when is None else when))
        return Client(service).post(f"/gateway/events/{shop or gw.shop_guid}", data=raw,
                                    headers={"Gateway-Signature": header, "Content-Type": "application/json"})

    @staticmethod
    def event(guid: str, delta: int) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "type": "stock.changed", "created": "2026-11-30T10:00:00Z",
                "data": {"product_guid": guid, "sku": None, "delta": delta, "stock_level": 0,
                         "reason": "order" if delta < 0 else "cancellation", "order_id": None}}

    @staticmethod
    def drain(service: StockService) -> None:
        while service.work_once():
            pass

    # -- the behaviours ---------------------------------------------------------------------

    def test_a_sale_delivered_three_times_lowers_the_shop_once(self, gw, fake, service):
        guid, identity = self.item(gw, fake)
        before = fake.shop_stock(*identity)
        sale = self.event(guid, -2)
        assert [self.post(service, gw, sale).status_code for _ in range(3)] == [200, 200, 200]
        self.drain(service)
        assert fake.shop_stock(*identity) == before - 2
        assert service.queue.counts()["applied"] == 1

    def test_a_cancellation_raises_it_and_out_of_order_events_end_right(self, gw, fake, service):
        guid, identity = self.item(gw, fake)
        before = fake.shop_stock(*identity)
        for delta in (+1, -2, -1):  # the cancellation first, then the sales it belongs to
            self.post(service, gw, self.event(guid, delta))
        self.drain(service)
        assert fake.shop_stock(*identity) == before - 2

    def test_an_event_stored_before_a_crash_applies_after_the_restart(self, gw, fake):
        guid, identity = self.item(gw, fake)
        before = fake.shop_stock(*identity)
        with stock_service(self.connector, gw.config()) as first:
            assert self.post(first, gw, self.event(guid, -1)).status_code == 200
        assert fake.shop_stock(*identity) == before  # stored, not applied yet
        with stock_service(self.connector, gw.config()) as again:
            again.queue.recover()
            self.drain(again)
        assert fake.shop_stock(*identity) == before - 1

    def test_a_sale_in_the_shop_meanwhile_is_not_overwritten(self, gw, fake, service):
        guid, identity = self.item(gw, fake, at_least=5)
        before = fake.shop_stock(*identity)
        fake.sell_after_next_read(*identity, 2)
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        assert fake.shop_stock(*identity) == before - 2 - 1

    def test_a_bad_signature_an_old_timestamp_and_an_unknown_shop_are_refused(self, gw, fake, service):
        guid, identity = self.item(gw, fake)
        before = fake.shop_stock(*identity)
        assert self.post(service, gw, self.event(guid, -1), key=b"x" * 32).status_code == 401
        assert self.post(service, gw, self.event(guid, -1), when=time.time() - 3600).status_code == 401
        assert self.post(service, gw, self.event(guid, -1), shop=str(uuid.uuid4())).status_code == 401
        self.drain(service)
        assert fake.shop_stock(*identity) == before

    def test_the_stock_pass_never_pushes_stock_a_pending_sale_has_not_reached(self, gw, fake, service):
        guid, identity = self.item(gw, fake, at_least=5)
        assert gw.run(stock_only=True, archive_missing=False).exit_code == 0
        before = fake.shop_stock(*identity)
        fake.set_shop_stock(*identity, before - 1)  # a sale in the shop
        self.post(service, gw, self.event(guid, -2))  # a sale on the Gateway, stored, not applied yet
        held = gw.run(stock_only=True, archive_missing=False)
        assert held.counts["deferred"] >= 1 and gateway_stock(gw, guid) != before - 1
        self.drain(service)
        assert fake.shop_stock(*identity) == before - 3
        synced = gw.run(stock_only=True, archive_missing=False)
        assert synced.counts["created"] == synced.counts["archived"] == 0
        assert gateway_stock(gw, guid) == before - 3  # both sales, once each, on both sides

    def test_an_unchanged_shop_costs_the_stock_pass_no_gateway_write(self, gw, fake):
        gw.run(stock_only=True, archive_missing=False)
        writes = gw.writes()
        again = gw.run(stock_only=True, archive_missing=False)
        assert again.exit_code == 0 and gw.writes() == writes


def gateway_stock(gw: Harness, guid: str) -> int:
    return next(int(p.get("stock_level") or 0) for p in gw.products() if p["guid"] == guid)
