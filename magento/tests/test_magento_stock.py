"""Step 2 through the Magento fake: the standard stock suite (MSI signed with OAuth, legacy stock
with a bearer token), the exact writes the shop receives, and what the `stock` pass costs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from gwsync.stock.apply import TargetGone
from gwsync.testing.stock_suite import StockSuite, gateway_stock
from gwsync_magento.connector import MagentoConnector
from gwsync_magento.fake import MagentoFake
from gwsync_magento.stock import LegacyItem, SourceRow, spread


class TestMagentoMsiStock(StockSuite):
    """Magento 2.4.4+ as shipped: MSI, integration tokens only with OAuth 1.0a signatures."""

    connector = MagentoConnector

    @pytest.fixture
    def fake(self):
        with MagentoFake.running(oauth=True) as fake:
            yield fake

    # -- the writes, exactly -------------------------------------------------------------

    def test_a_sale_of_a_simple_product_posts_its_one_source_item_through_the_admin_scope(self, gw, fake, service):
        guid, (product_id, variant_id) = simple_item(gw, fake)
        sku = fake.shop.products[int(product_id)]["sku"]
        fake.set_shop_stock(product_id, variant_id, 6)
        self.post(service, gw, self.event(guid, -2))
        self.drain(service)
        assert fake.shop.stock_writes == [("all", "POST", "inventory/source-items",
                                           {"sourceItems": [{"sku": sku, "source_code": "default", "quantity": 4,
                                                             "status": 1}]})]
        assert fake.shop_stock(product_id, variant_id) == 4

    def test_a_variant_is_written_by_its_own_sku_and_a_sale_empties_the_sources_in_order(self, gw, fake, service):
        guid, (product_id, variant_id) = variant_item(gw, fake)
        child_sku = fake.shop.products[int(variant_id)]["sku"]
        parent_sku = fake.shop.products[int(product_id)]["sku"]
        fake.shop.set_stock(child_sku, {"default": 2, "magazyn_2": 5})
        self.post(service, gw, self.event(guid, -3))
        self.drain(service)
        ((_, _, _, body),) = fake.shop.stock_writes
        assert body == {"sourceItems": [
            {"sku": child_sku, "source_code": "default", "quantity": 0, "status": 0},  # sold out: out of stock
            {"sku": child_sku, "source_code": "magazyn_2", "quantity": 4, "status": 1}]}
        assert all(item["sku"] != parent_sku for _, _, _, b in fake.shop.stock_writes for item in b["sourceItems"])
        assert fake.shop_stock(product_id, variant_id) == 4

    def test_a_shop_with_input_limits_gets_its_source_items_in_arrays_it_accepts(self, gw, fake, service,
                                                                                 monkeypatch):
        monkeypatch.setattr("gwsync_magento.stock.ARRAY_LIMIT", 1)
        fake.shop.array_limit = 1
        guid, (product_id, variant_id) = variant_item(gw, fake)
        fake.shop.set_stock(fake.shop.products[int(variant_id)]["sku"], {"default": 1, "magazyn_2": 5})
        self.post(service, gw, self.event(guid, -2))
        self.drain(service)
        assert [len(body["sourceItems"]) for _, _, _, body in fake.shop.stock_writes] == [1, 1]
        assert fake.shop_stock(product_id, variant_id) == 4

    def test_a_cancellation_puts_a_sold_out_source_back_in_stock(self, gw, fake, service):
        guid, (product_id, variant_id) = simple_item(gw, fake)
        sku = fake.shop.products[int(product_id)]["sku"]
        fake.set_shop_stock(product_id, variant_id, 0)
        self.post(service, gw, self.event(guid, +2))
        self.drain(service)
        assert fake.shop.source_items[(sku, "default")] == {"sku": sku, "source_code": "default", "quantity": 2,
                                                            "status": 1}

    def test_a_product_deleted_in_the_shop_is_parked_and_nothing_is_written(self, gw, fake, service):
        guid, (product_id, _) = simple_item(gw, fake)
        with fake.shop.lock:
            fake.shop.remove(int(product_id))
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        (parked,) = service.queue.parked()
        assert parked["product_guid"] == guid and f"no product with id {product_id}" in parked["reason"]
        # MSI would have saved a source item for the SKU no product has (magento2#30274)
        assert fake.shop.stock_writes == []

    def test_a_renamed_sku_is_followed_by_entity_id(self, gw, fake, service):
        guid, (product_id, variant_id) = simple_item(gw, fake)
        fake.set_shop_stock(product_id, variant_id, 5)
        with fake.shop.lock:
            old = fake.shop.products[int(product_id)]["sku"]
            fake.shop.products[int(product_id)]["sku"] = "RENAMED-1"
            for source in ("default", "magazyn_2"):
                row = fake.shop.source_items.pop((old, source), None)
                if row:
                    fake.shop.source_items[("RENAMED-1", source)] = {**row, "sku": "RENAMED-1"}
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        assert [item["sku"] for _, _, _, b in fake.shop.stock_writes for item in b["sourceItems"]] == ["RENAMED-1"]
        assert not any(key[0] == old for key in fake.shop.source_items)

    def test_a_source_set_out_of_stock_by_hand_is_left_alone(self, gw, fake, service):
        guid, (product_id, _) = simple_item(gw, fake)
        sku = fake.shop.products[int(product_id)]["sku"]
        fake.shop.source_items[(sku, "default")].update(quantity=9, status=0)
        self.post(service, gw, self.event(guid, +1))
        self.drain(service)
        (parked,) = service.queue.parked()
        assert "set out of stock by hand" in parked["reason"]
        assert fake.shop.source_items[(sku, "default")]["quantity"] == 9 and fake.shop.stock_writes == []

    def test_only_the_named_sources_are_read_and_written(self, fake, tmp_path):
        from gwsync.stock.serve import stock_service
        from gwsync.testing.harness import Harness
        fake.seed(self.catalog_size)
        with Harness(self.connector, {**fake.config(), "sources": "magazyn_2"}, tmp_path) as gw:
            assert gw.run().exit_code == 0
            guid, (product_id, variant_id) = variant_item(gw, fake)
            child_sku = fake.shop.products[int(variant_id)]["sku"]
            fake.shop.set_stock(child_sku, {"default": 7, "magazyn_2": 3})
            with stock_service(self.connector, gw.config()) as service:
                self.post(service, gw, self.event(guid, -1))
                self.drain(service)
            assert fake.shop.stock_writes[0][3] == {"sourceItems": [
                {"sku": child_sku, "source_code": "magazyn_2", "quantity": 2, "status": 1}]}
            assert fake.shop.source_items[(child_sku, "default")]["quantity"] == 7

    # -- the stock pass ------------------------------------------------------------------

    def test_the_stock_pass_reads_the_listing_and_all_source_items_in_bulk(self, gw, fake):
        assert gw.run(stock_only=True, archive_missing=False).exit_code == 0  # its first run reads records
        fake.shop.log.clear()
        writes = gw.writes()
        report = gw.run(stock_only=True, archive_missing=False)
        routes = [route for route, _ in fake.shop.log]
        assert report.exit_code == 0 and gw.writes() == writes
        # one listing page, one probe for MSI, one page of source items: no lookups, no records
        assert sorted(routes) == ["inventory/source-items", "inventory/source-items", "products"]
        scan = [args for route, args in fake.shop.log if route == "inventory/source-items"][-1]
        assert scan["searchCriteria[pageSize]"] == "300" and "searchCriteria[filter_groups][0][filters][0][field]" \
            not in scan and scan["searchCriteria[sortOrders][0][field]"] == "sku"

    def test_the_stock_pass_brings_a_shop_sale_and_a_price_change_to_the_gateway(self, gw, fake):
        gw.run(stock_only=True, archive_missing=False)
        guid, (product_id, variant_id) = simple_item(gw, fake)
        fake.shop.sell(fake.shop.products[int(product_id)]["sku"], 1)
        expected = fake.shop_stock(product_id, variant_id)
        changed = fake.change_price()  # a child's price: its updated_at moves
        prices = {source_of(p): p["base_price"]["amount"] for p in gw.products()}
        report = gw.run(stock_only=True, archive_missing=False)
        assert report.exit_code == 0 and gateway_stock(gw, guid) == expected
        after = {source_of(p): p["base_price"]["amount"] for p in gw.products()}
        assert {k for k in after if after[k] != prices[k]} == {changed}
        assert report.counts["updated"] == 2  # the sale and the changed price, nothing else


class TestMagentoLegacyStock(StockSuite):
    """A shop without MSI (modules disabled, or before 2.3): legacy stock items, bearer token."""

    connector = MagentoConnector

    @pytest.fixture
    def fake(self):
        with MagentoFake.running(oauth=False) as fake:
            fake.shop.msi = False
            yield fake

    def test_the_put_sends_only_qty_and_is_in_stock_to_the_item_id(self, gw, fake, service):
        guid, (product_id, variant_id) = variant_item(gw, fake)
        sku = fake.shop.products[int(variant_id)]["sku"]
        fake.set_shop_stock(product_id, variant_id, 1)
        before = dict(fake.shop.legacy[int(variant_id)])
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        assert fake.shop.stock_writes == [("all", "PUT", f"products/{sku}/stockItems/{before['item_id']}",
                                           {"stockItem": {"qty": 0, "is_in_stock": False}})]
        after = fake.shop.legacy[int(variant_id)]
        assert {k: v for k, v in after.items() if k not in ("qty", "is_in_stock")} == {
            k: v for k, v in before.items() if k not in ("qty", "is_in_stock")}

    def test_a_sku_with_a_slash_is_parked_not_sent_to_a_broken_path(self, gw, fake, service):
        guid, (product_id, _) = simple_item(gw, fake)
        fake.shop.products[int(product_id)]["sku"] = "A/B-1"
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        (parked,) = service.queue.parked()
        assert "contains '/'" in parked["reason"] and fake.shop.stock_writes == []

    def test_the_stock_pass_reads_the_listing_and_the_legacy_list_only(self, gw, fake):
        gw.run(stock_only=True, archive_missing=False)
        fake.shop.log.clear()
        gw.run(stock_only=True, archive_missing=False)
        assert sorted(route for route, _ in fake.shop.log) == ["inventory/source-items", "products",
                                                               "stockItems/lowStock"]


# -- the pure parts ------------------------------------------------------------------------

def rows(*specs: tuple[str, int, int]) -> list[SourceRow]:
    return [SourceRow("X", code, Decimal(q), status) for code, q, status in specs]


def test_an_oversell_empties_the_sources_and_reports_the_rest():
    changed, short = spread(rows(("default", 1, 1), ("b", 0, 0)), Decimal(-3))
    assert [(r.source_code, r.quantity, r.status) for r in changed] == [("default", 0, 0)] and short == 2


def test_a_sale_that_only_a_source_set_out_of_stock_by_hand_could_cover_is_left_to_the_merchant():
    with pytest.raises(TargetGone, match="by hand"):
        spread(rows(("default", 1, 1), ("b", 9, 0)), Decimal(-3))
    changed, short = spread(rows(("default", 5, 1), ("b", 9, 0)), Decimal(-3))  # covered: b is not touched
    assert [(r.source_code, r.quantity, r.status) for r in changed] == [("default", 2, 1)] and short == 0


def test_a_shop_selling_on_backorder_takes_the_rest_below_zero_and_stays_in_stock():
    changed, short = spread(rows(("default", 1, 1), ("b", -2, 1)), Decimal(-3))
    assert [(r.source_code, r.quantity, r.status) for r in changed] == [("default", 0, 0), ("b", -4, 1)]
    assert short == 0


def test_returned_stock_goes_to_the_first_in_stock_source():
    changed, _ = spread(rows(("default", 0, 0), ("b", 2, 1)), Decimal(2))
    assert [(r.source_code, r.quantity, r.status) for r in changed] == [("b", 4, 1)]


def test_decimal_quantities_keep_their_fraction():
    changed, _ = spread(rows(("default", 0, 0)) + [SourceRow("X", "b", Decimal("4.5"), 1)], Decimal(-1))
    assert [(r.source_code, r.quantity) for r in changed] == [("b", Decimal("3.5"))]
    assert changed[0].body()["quantity"] == 3.5


def test_a_legacy_item_set_out_of_stock_by_hand_is_never_written():
    with pytest.raises(TargetGone, match="by hand"):
        LegacyItem("X", "7", Decimal(4), in_stock=False).after(+1)
    assert LegacyItem("X", "7", Decimal(1), in_stock=True).after(-3) == ({"qty": 0, "is_in_stock": False},
                                                                          Decimal(2))


# -- helpers ---------------------------------------------------------------------------------

def source_of(product: dict) -> tuple[str, str | None]:
    source = product["data"]["source"]
    return source["product_id"], source.get("variant_id")


def simple_item(gw, fake) -> tuple[str, tuple[str, str | None]]:
    """A Gateway product made from a simple product without a parent."""
    return _item(gw, variant=False)


def variant_item(gw, fake) -> tuple[str, tuple[str, str | None]]:
    """A Gateway product made from a configurable's child."""
    return _item(gw, variant=True)


def _item(gw, *, variant: bool) -> tuple[str, tuple[str, str | None]]:
    for product in gw.products():
        source = product["data"]["source"]
        if bool(source.get("variant_id")) == variant:
            return product["guid"], (source["product_id"], source.get("variant_id"))
    raise AssertionError("no such item was imported")
