"""Step 2 through the IdoSell fake: the standard stock suite, the exact relative PUT, the
targeting of sizes, what can never apply, and what the stock pass costs."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
from gwsync.errors import EXIT_CONFIG, EXIT_OK, ConfigError
from gwsync.testing.harness import Harness
from gwsync.testing.stock_suite import StockSuite, gateway_stock
from gwsync_iai.connector import IaiConnector
from gwsync_iai.fake import API_KEY, IdoSellFake
from gwsync_iai.stock import change_fault, size_quantities, write_stock_id


class TestIaiStock(StockSuite):
    connector = IaiConnector

    @pytest.fixture
    def fake(self):
        with IdoSellFake.running() as fake:
            yield fake

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def source_of(gw: Harness, plain: bool) -> tuple[str, str, str | None]:
        """(guid, product id, variant id) of a Gateway product from a plain product or a size."""
        for product in gw.products():
            source = product["data"]["source"]
            if (source.get("variant_id") is None) == plain:
                return product["guid"], source["product_id"], source.get("variant_id")
        raise AssertionError("no such product imported")

    def sale(self, service, gw, guid: str, delta: int) -> None:
        assert self.post(service, gw, self.event(guid, delta)).status_code == 200
        self.drain(service)

    # -- the write -------------------------------------------------------------------------------

    def test_a_sale_of_a_size_is_one_substract_of_that_size_in_m1(self, gw, fake, service):
        guid, product, variant = self.source_of(gw, plain=False)
        pid, size = variant.split("-", 1)
        fake.set_shop_stock(product, variant, 9)
        fake.reset_counters()
        self.sale(service, gw, guid, -2)
        assert fake.stock_writes == [{"params": {"products": [{
            "ident": {"identType": "id", "identValue": pid},
            "sizes": [{"ident": {"identType": "id", "identValue": size},
                       "quantity": {"stocks": [{"stock_id": 1,
                                                "quantity_operation": {"operation": "substract", "quantity": 2}}]}}],
        }]}}]
        assert (fake.quantity(int(pid), size, 1), fake.quantity(int(pid), size, 2)) == (7, 0)
        # one stock read of one product, one write: no search, no read-modify-write
        assert dict(fake.calls) == {"GET products/stocks": 1, "PUT products/stocks": 1}

    def test_a_sale_m1_cannot_cover_takes_the_rest_from_the_other_counted_warehouse(self, gw, fake, service):
        guid, product, variant = self.source_of(gw, plain=False)
        pid, size = variant.split("-", 1)
        fake.set_shop_stock(product, variant, 1)
        fake.products[int(pid)]["productStocksData"]["productStocksQuantities"][1]["productSizesData"] = [
            {"sizeId": size, "productSizeQuantity": 4}]  # M2 holds 4 more
        self.sale(service, gw, guid, -3)
        stocks = fake.stock_writes[0]["params"]["products"][0]["sizes"][0]["quantity"]["stocks"]
        assert stocks == [{"stock_id": 1, "quantity_operation": {"operation": "substract", "quantity": 1}},
                          {"stock_id": 2, "quantity_operation": {"operation": "substract", "quantity": 2}}]
        assert (fake.quantity(int(pid), size, 1), fake.quantity(int(pid), size, 2)) == (0, 2)
        assert fake.shop_stock(product, variant) == 2

    def test_a_cancellation_of_a_plain_product_adds_to_its_single_size(self, gw, fake, service):
        guid, product, variant = self.source_of(gw, plain=True)
        assert variant is None
        (size,) = [str(s["sizeId"]) for s in fake.products[int(product)]["productSizesAttributes"]]
        before = fake.shop_stock(product, None)
        self.sale(service, gw, guid, +3)
        (body,) = fake.stock_writes
        (sent,) = body["params"]["products"]
        assert sent["ident"]["identValue"] == product and sent["sizes"][0]["ident"]["identValue"] == size
        assert sent["sizes"][0]["quantity"]["stocks"][0]["quantity_operation"] == {"operation": "add", "quantity": 3}
        assert fake.shop_stock(product, None) == before + 3

    def test_a_size_of_a_colour_version_is_written_to_that_version_product(self, gw, fake, service):
        grouped = next(p for p in gw.products() if p["data"]["source"].get("variant_id")
                       and p["data"]["source"]["variant_id"].split("-")[0] != p["data"]["source"]["product_id"])
        source = grouped["data"]["source"]
        member = source["variant_id"].split("-")[0]  # the version's own product, not the group's main one
        fake.set_shop_stock(source["product_id"], source["variant_id"], 4)
        self.sale(service, gw, grouped["guid"], -1)
        assert fake.stock_writes[0]["params"]["products"][0]["ident"]["identValue"] == member
        assert fake.shop_stock(source["product_id"], source["variant_id"]) == 3

    def test_the_fake_refuses_a_body_the_real_api_would(self, fake):
        fake.seed(2)
        url = f"{fake.base_url}/api/admin/v8/products/stocks"
        bad = {"params": {"products": [{"ident": {"identType": "id", "identValue": "1"}, "sizes": [
            {"ident": {"identType": "id", "identValue": "uniw"},
             "quantity": {"stocks": [{"stock_id": 1, "quantity_operation": {"operation": "subtract", "quantity": 1}}]}}]}]}}
        answer = requests.put(url, json=bad, headers={"X-API-KEY": API_KEY}, timeout=5)
        assert answer.status_code == 422 and "substract" in answer.json()["errors"]["faultString"]
        assert fake.stock_writes == []

    # -- what can never apply --------------------------------------------------------------------

    @pytest.mark.parametrize("missing_as", ["item_error", "empty", "404"])
    def test_a_product_gone_from_the_shop_parks_the_event_with_its_reason(self, gw, fake, service, missing_as):
        guid, product, _ = self.source_of(gw, plain=True)
        fake.missing_as = missing_as
        fake.delete_product(int(product))
        self.sale(service, gw, guid, -1)
        (parked,) = service.queue.parked()
        assert f"no product {product}" in parked["reason"]
        assert service.queue.counts()["applied"] == 0 and fake.stock_writes == []

    def test_a_size_gone_from_the_product_parks_the_event(self, gw, fake, service):
        guid, product, variant = self.source_of(gw, plain=False)
        size = variant.split("-", 1)[1]
        record = fake.products[int(variant.split("-")[0])]
        record["productSizesAttributes"] = [s for s in record["productSizesAttributes"] if s["sizeId"] != size]
        for stock in record["productStocksData"]["productStocksQuantities"]:
            stock["productSizesData"] = [r for r in stock["productSizesData"] if r["sizeId"] != size]
        self.sale(service, gw, guid, -1)
        (parked,) = service.queue.parked()
        assert f"no size {size}" in parked["reason"] and fake.stock_writes == []

    def test_a_change_idosell_refuses_is_parked_with_its_fault_and_nothing_changes(self, gw, fake, service):
        guid, product, variant = self.source_of(gw, plain=False)
        fake.set_shop_stock(product, variant, 1)
        self.sale(service, gw, guid, -3)  # more than M1 holds: refused per item (HTTP 207)
        (parked,) = service.queue.parked()
        assert "IdoSell refused" in parked["reason"] and "faultCode 7" in parked["reason"]
        assert fake.shop_stock(product, variant) == 1

    def test_a_lost_answer_is_not_applied_twice(self, gw, fake, service):
        guid, product, variant = self.source_of(gw, plain=False)
        fake.set_shop_stock(product, variant, 6)
        original = service.writer.client.change_stock

        def lost(body, what):  # the change lands, the answer does not come back
            original(body, what)
            raise ConnectionError("connection reset")

        service.writer.client.change_stock = lost
        self.post(service, gw, self.event(guid, -2))
        service.work_once()  # the write landed, the event waits for its retry
        assert fake.shop_stock(product, variant) == 4 and service.queue.counts()["applied"] == 0
        service.writer.client.change_stock = original
        service.clock = lambda: time.time() + 3600  # past the backoff
        self.drain(service)
        assert service.queue.counts()["applied"] == 1
        assert fake.shop_stock(product, variant) == 4 and len(fake.stock_writes) == 1

    # -- the stock pass ---------------------------------------------------------------------------

    def test_the_stock_pass_on_an_unchanged_shop_costs_two_empty_searches(self, gw, fake):
        assert gw.run(stock_only=True, archive_missing=False).exit_code == 0  # first: every product
        fake.reset_counters()
        writes = gw.writes()
        report = gw.run(stock_only=True, archive_missing=False)
        assert report.exit_code == 0 and gw.writes() == writes
        assert dict(fake.calls) == {"POST products/products/search": 2}
        modes = [r["json"]["params"]["productDate"]["productDateMode"] for r in fake.requests]
        assert modes == ["quantity_changed", "price_changed"]
        elements = set(fake.requests[0]["json"]["params"]["returnElements"])
        assert {"quantities", "sizes_attributes", "retail_price"} <= elements
        assert not elements & {"lang_data", "pictures", "category_name"}  # no texts, no pictures

    def test_the_stock_pass_sends_only_the_changed_stock_and_price(self, gw, fake):
        gw.run(stock_only=True, archive_missing=False)
        stock_pid, _ = fake.change_stock()  # +3 on a plain product
        price_pid, price_item = fake.change_price()  # +10.00 on one size
        writes = gw.writes()
        report = gw.run(stock_only=True, archive_missing=False)
        assert report.counts["updated"] == 2 and gw.writes() - writes == 2
        by_source = {(p["data"]["source"]["product_id"], p["data"]["source"].get("variant_id")): p
                     for p in gw.products()}
        assert by_source[(stock_pid, None)]["stock_level"] == fake.shop_stock(stock_pid, None)
        size = next(s for s in fake.products[int(price_pid)]["productSizesAttributes"]
                    if f"{price_pid}-{s['sizeId']}" == price_item)
        amount = by_source[(price_pid, price_item)]["base_price"]["amount"]
        assert Decimal(str(amount)) == Decimal(str(size["productRetailPrice"]))

    def test_the_first_stock_pass_reads_every_product_in_narrow_pages(self, gw, fake):
        fake.reset_counters()
        report = gw.run(stock_only=True, archive_missing=False)
        assert report.exit_code == 0 and report.counts["updated"] == 0  # the import sent the same
        assert dict(fake.calls) == {"POST products/products/search": 1}  # 8 products: one page
        assert "productDate" not in fake.requests[0]["json"]["params"]

    def test_a_sale_applied_by_serve_reaches_the_gateway_once_through_the_stock_pass(self, gw, fake, service):
        guid, product, variant = self.source_of(gw, plain=False)
        fake.set_shop_stock(product, variant, 8)
        gw.run(stock_only=True, archive_missing=False)
        self.sale(service, gw, guid, -2)
        gw.run(stock_only=True, archive_missing=False)
        assert gateway_stock(gw, guid) == 6 == fake.shop_stock(product, variant)


# -- pure readers and the warehouse setting ------------------------------------------------------


def test_per_item_faults_are_found_in_either_place_of_a_207_answer():
    ok = {"results": [{"ident": {"identValue": "1"}, "error": {"faultCode": 0, "faultString": ""},
                       "sizes": [{"ident": {"identValue": "3"}, "error": {"faultCode": 0}}]}], "isErrors": False}
    assert change_fault(ok) is None and change_fault({"results": [{"sizes": [{}]}]}) is None
    size_fault = {"results": [{"sizes": [{"error": {"faultCode": "7", "faultString": "za mało"}}]}]}
    assert change_fault(size_fault) == "faultCode 7: za mało"
    assert change_fault({"results": [{"error": {"faultCode": 4, "faultString": "brak"}}]}) == "faultCode 4: brak"
    assert change_fault({"results": [], "isErrors": True}) is not None


def test_stock_rows_are_read_in_both_spellings_and_sizes_known_only_by_disposition_count():
    result = {"quantities": {"stocks": [{"stock_id": 1, "sizes": [{"size_id": "3", "quantity": 2.5}]},
                                        {"stockId": "2", "sizes": [{"sizeId": "3", "quantity": 1}]}],
                             "dispositions": {"sales": [{"sizeId": "4", "allstocks": 0}]}}}
    assert size_quantities(result) == {"3": {1: Decimal("2.5"), 2: Decimal("1")}, "4": {}}


@pytest.mark.parametrize("setting, counted, expected", [
    (None, None, 1), (None, frozenset({3}), 3), ("2", frozenset({1, 2}), 2), (None, frozenset({1, 4}), 1),
])
def test_the_warehouse_written_is_one_the_stock_pass_counts(setting, counted, expected):
    assert write_stock_id(setting, counted) == expected


@pytest.mark.parametrize("setting, counted", [("5", frozenset({1, 2})), (None, frozenset({2, 3})), ("x", None),
                                              ("0", None)])
def test_a_warehouse_the_stock_pass_would_not_see_is_a_config_error(setting, counted):
    with pytest.raises(ConfigError, match="IAI_WRITE_STOCK"):
        write_stock_id(setting, counted)


def test_stock_from_the_cli_and_serve_refusing_a_warehouse_the_stock_pass_does_not_count(tmp_path):
    with IdoSellFake.running() as fake:
        fake.seed(4)
        with Harness(IaiConnector, fake.config(), tmp_path) as gw:
            assert gw.run().exit_code == 0
            result = gw.cli(["stock"])
            assert result.exit_code == EXIT_OK, result.output
            refused = gw.cli(["serve", "--port", "0"], env=gw.env({**fake.config(), "stocks": "2", "write_stock": 1}))
            assert refused.exit_code == EXIT_CONFIG and "IAI_WRITE_STOCK=1" in refused.output
            assert "Traceback" not in refused.output and API_KEY not in result.output + refused.output
