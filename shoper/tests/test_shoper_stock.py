"""Step 2 through the Shoper fake: the standard stock suite, and what is Shoper's own.

The Gateway item of a variant is its own `product-stocks` row (`variant_id` = `stock_id`);
a product without variants is its base row. The write is `PUT /webapi/rest/product-stocks/{id}`
with the stock alone (or the warehouse map when warehouses are on), answered with `1`.
"""

import time
from decimal import Decimal

import pytest
import requests

from gwsync.stock.apply import StockTarget, TargetGone
from gwsync.testing.stock_suite import StockSuite, gateway_stock
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake
from gwsync_shoper.stock import spread, stock_body

STOCK_PASS_ROUTES = {"GET /webapi/rest/product-stocks", "GET /webapi/rest/specialoffers"}


class TestShoperStock(StockSuite):
    connector = ShoperConnector

    @pytest.fixture
    def fake(self):
        with ShoperFake.running(rate_limit=True) as fake:
            fake.shop.add_product(variants=True)  # at least one of each kind, whatever the seed draws
            fake.shop.add_product(variants=False)
            yield fake

    # -- helpers ---------------------------------------------------------------------------

    def guid_of(self, gw, fake, *, variant: bool, at_least: int = 3) -> tuple[str, tuple[str, str | None]]:
        for product in gw.products():
            source = product["data"]["source"]
            identity = (source["product_id"], source.get("variant_id"))
            if (identity[1] is not None) == variant:
                if fake.shop_stock(*identity) < at_least:
                    fake.set_shop_stock(*identity, at_least + 2)
                return product["guid"], identity
        raise AssertionError(f"the import created no {'variant' if variant else 'simple product'}")

    def later(self, service, seconds: float = 1000.0) -> None:
        """Move the service's clock past the retry backoff."""
        service.clock = lambda: time.time() + seconds

    # -- the write -------------------------------------------------------------------------

    @pytest.mark.parametrize("variant", [True, False], ids=["variant", "simple"])
    def test_a_sale_puts_only_the_new_stock_to_the_items_own_row(self, gw, fake, service, variant):
        guid, (product_id, variant_id) = self.guid_of(gw, fake, variant=variant)
        row = fake.shop.item_row(product_id, variant_id)
        untouched = {k: v for k, v in row.items() if k != "stock"}
        before = fake.shop_stock(product_id, variant_id)
        self.post(service, gw, self.event(guid, -2))
        self.drain(service)
        expected_row = variant_id if variant else fake.shop.products[product_id]["stock"]["stock_id"]
        assert fake.shop.stock_writes == [(expected_row, {"stock": before - 2})]
        assert row["extended"] == ("1" if variant else "0")
        assert {k: v for k, v in row.items() if k != "stock"} == untouched  # nothing else changed
        if not variant:  # the product's embedded stock follows its base row
            assert fake.shop.products[product_id]["stock"]["stock"] == str(before - 2)

    def test_with_warehouses_on_the_warehouse_map_is_written_not_stock(self, gw, fake, service):
        guid, identity = self.guid_of(gw, fake, variant=True, at_least=4)
        fake.shop.enable_warehouses()
        row = fake.shop.item_row(*identity)
        row["warehouses"] = {"1": "1", "2": "5"}
        row["stock"] = "6"
        self.post(service, gw, self.event(guid, -3))
        self.drain(service)
        # a sale takes from the warehouses in id order; the whole map is sent back
        assert fake.shop.stock_writes == [(identity[1], {"warehouses": {"1": "0", "2": "3"}})]
        assert fake.shop_stock(*identity) == 3 and service.queue.counts()["applied"] == 1

    def test_a_fraction_of_stock_is_kept(self, gw, fake, service):
        guid, identity = self.guid_of(gw, fake, variant=False)
        fake.shop.item_row(*identity)["stock"] = "2.5"
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        assert fake.shop.stock_writes[-1][1] == {"stock": 1.5}
        assert fake.shop.item_row(*identity)["stock"] == "1.5"

    @pytest.mark.parametrize("status", [400, 503])
    def test_a_locked_row_is_retried_later_not_parked(self, gw, fake, service, status):
        guid, identity = self.guid_of(gw, fake, variant=True)
        before = fake.shop_stock(*identity)
        fake.shop.lock_status = status  # which status Shoper gives "Object is locked" is unverified
        fake.shop.locked.add(identity[1])
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        counts = service.queue.counts()
        assert counts["pending"] == 1 and counts["parked"] == 0 and fake.shop_stock(*identity) == before
        fake.shop.locked.clear()  # the vendor closed the editor
        self.later(service)
        self.drain(service)
        assert fake.shop_stock(*identity) == before - 1 and service.queue.counts()["applied"] == 1

    @pytest.mark.parametrize("variant", [True, False], ids=["variant", "simple"])
    def test_an_item_deleted_from_the_shop_is_parked_with_its_reason(self, gw, fake, service, variant):
        guid, (product_id, variant_id) = self.guid_of(gw, fake, variant=variant)
        if variant:
            del fake.shop.stocks[variant_id]
        else:
            fake.shop.remove_product(product_id)
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        (parked,) = service.queue.parked()
        assert f"product {product_id}" in parked["reason"] and "no longer exists in Shoper" in parked["reason"]
        assert fake.shop.stock_writes == []

    def test_a_row_deleted_between_the_read_and_the_write_is_gone(self, gw, fake):
        _, (product_id, variant_id) = self.guid_of(gw, fake, variant=True)
        connector = ShoperConnector(fake.config())
        writer = connector.stock_writer()
        target = StockTarget(product_id, variant_id)
        try:
            before = writer.read(target)
            del fake.shop.stocks[variant_id]
            with pytest.raises(TargetGone, match="deleted from Shoper"):
                writer.write(target, before - 1)
        finally:
            connector.close()

    def test_a_write_answered_429_is_sent_again_after_retry_after(self, gw, fake):
        _, identity = self.guid_of(gw, fake, variant=False)
        connector = ShoperConnector(fake.config())
        writer = connector.stock_writer()
        target = StockTarget(*identity)
        try:
            before = writer.read(target)
            fake.fail_next(429)
            writer.write(target, before - 1)
        finally:
            connector.close()
        assert fake.shop_stock(*identity) == before - 1 and len(fake.shop.stock_writes) == 1

    # -- the stock pass --------------------------------------------------------------------

    def test_the_stock_pass_reads_only_the_stock_table_and_offers(self, gw, fake):
        gw.run(stock_only=True, archive_missing=False)
        fake.shop.requests.clear()
        fake.shop.sub_requests.clear()
        writes = gw.writes()
        report = gw.run(stock_only=True, archive_missing=False)
        assert report.exit_code == 0 and gw.writes() == writes
        assert set(fake.shop.sub_requests) == STOCK_PASS_ROUTES
        # one login and one bulk call: the stock table's page and the offers travel together
        assert dict(fake.shop.requests) == {"POST /webapi/rest/auth": 1, "POST /webapi/rest/bulk": 1}
        assert report.counts["unchanged"] == fake.expected_items()

        fake.shop.requests.clear()
        fake.shop.sub_requests.clear()
        gw.run()  # the incremental catalog read, for comparison
        assert sum(fake.shop.sub_requests.values()) > len(STOCK_PASS_ROUTES)

    def test_the_stock_pass_follows_a_stock_and_a_price_change(self, gw, fake):
        _, (product_id, variant_id) = self.guid_of(gw, fake, variant=True)
        guid = next(p["guid"] for p in gw.products() if p["data"]["source"].get("variant_id") == variant_id)
        fake.set_shop_stock(product_id, variant_id, 17)
        changed_id, _ = fake.change_price()
        report = gw.run(stock_only=True, archive_missing=False)
        assert report.counts["updated"] == 2
        assert gateway_stock(gw, guid) == 17
        row = fake.shop.item_row(changed_id, None)
        changed = next(p for p in gw.products() if p["data"]["source"]["product_id"] == changed_id)
        assert Decimal(str(changed["base_price"]["amount"])) == Decimal(row["comp_price"])


# -- the fake refuses what Shoper refuses ------------------------------------------------------

@pytest.fixture
def shop():
    with ShoperFake.running(rate_limit=False) as fake:
        fake.shop.add_product(variants=False)
        session = requests.Session()
        token = session.post(fake.url + "/webapi/rest/auth", auth=(fake.shop.login, fake.shop.password)).json()
        session.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield fake, session


def put(fake, session, stock_id, body):
    return session.put(f"{fake.url}/webapi/rest/product-stocks/{stock_id}", json=body)


def test_the_fake_answers_a_stock_put_with_the_integer_1(shop):
    fake, session = shop
    response = put(fake, session, "1", {"stock": 4})
    assert response.status_code == 200 and response.json() == 1 and fake.shop.stocks["1"]["stock"] == "4"


@pytest.mark.parametrize("body, reason", [
    ({"stock": "many"}, "invalid value"),
    ({"quantity": 4}, "Unknown field"),
    ({}, "Invalid request body"),
    ({"warehouses": {"1": "4"}}, "not enabled"),
])
def test_the_fake_refuses_a_bad_stock_put(shop, body, reason):
    fake, session = shop
    response = put(fake, session, "1", body)
    assert response.status_code == 400 and reason in response.json()["error_description"]
    assert fake.shop.stock_writes == []


def test_with_warehouses_on_the_fake_refuses_stock_and_takes_the_map(shop):
    fake, session = shop
    fake.shop.enable_warehouses()
    assert put(fake, session, "1", {"stock": 4}).status_code == 400
    assert put(fake, session, "1", {"warehouses": {"9": "4"}}).status_code == 400
    assert put(fake, session, "1", {"warehouses": {"2": "4"}}).json() == 1
    row = fake.shop.stocks["1"]
    assert row["stock"] == str(int(row["warehouses"]["1"]) + 4)


def test_the_fake_answers_404_for_a_missing_row(shop):
    fake, session = shop
    response = put(fake, session, "999", {"stock": 1})
    assert response.status_code == 404 and response.json()["error"] == "invalid_request"


# -- the body, pure ----------------------------------------------------------------------------

def test_stock_body_without_warehouses_is_the_stock_alone():
    assert stock_body({"stock_id": "5", "stock": "6.0", "warehouses": [], "price": "9.99"}, 4) == {"stock": 4}


def test_a_sale_bigger_than_the_warehouses_hold_leaves_the_deficit_on_the_first():
    assert spread({"2": Decimal(1), "1": Decimal(2)}, Decimal(-5)) == {"1": Decimal(-2), "2": Decimal(0)}
    assert spread({"1": Decimal(0), "2": Decimal(3)}, Decimal(2)) == {"1": Decimal(2), "2": Decimal(3)}
