"""Step 2 through the PrestaShop fake: the standard stock suite, and the full-row PUT."""

import time

import pytest
from gwsync.stock.serve import stock_service
from gwsync.testing import Harness
from gwsync.testing.stock_suite import StockSuite
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import PrestaShopFake
from werkzeug.wrappers import Response


class TestPrestaShopStock(StockSuite):
    connector = PrestaShopConnector

    @pytest.fixture
    def fake(self):
        with PrestaShopFake.running() as fake:
            yield fake

    def test_the_put_sends_the_whole_row_so_nothing_is_nulled(self, gw, fake, service):
        guid, identity = self.item(gw, fake)
        row_before = dict(fake.shop.stock_row(int(identity[0]), int(identity[1] or 0)))
        self.post(service, gw, self.event(guid, -1))
        self.drain(service)
        (sent,) = fake.shop.stock_writes
        assert set(sent) == set(row_before)  # every field, or PrestaShop sets the missing ones to NULL
        assert sent["quantity"] == str(int(row_before["quantity"]) - 1)
        assert sent["location"] == row_before["location"] and sent["out_of_stock"] == row_before["out_of_stock"]

    def test_a_write_whose_answer_is_lost_is_checked_not_resent(self, gw, fake, service, monkeypatch):
        guid, identity = self.item(gw, fake)
        before = fake.shop_stock(*identity)
        land = fake.shop._put_stock

        def landed_but_answer_lost(sid, request):
            land(sid, request)
            monkeypatch.setattr(fake.shop, "_put_stock", land)
            return Response("<html>Bad Gateway</html>", 502, content_type="text/html")

        monkeypatch.setattr(fake.shop, "_put_stock", landed_but_answer_lost)
        self.post(service, gw, self.event(guid, -1))
        service.work_once()
        assert len(fake.shop.stock_writes) == 1  # the HTTP layer did not send it again
        monkeypatch.setattr(service, "clock", lambda: time.time() + 3600)  # the retry is due
        self.drain(service)
        assert fake.shop_stock(*identity) == before - 1 and len(fake.shop.stock_writes) == 1

    def test_multistore_sales_land_in_the_configured_shops_row(self, fake, tmp_path):
        fake.seed(3, variant_share=0)
        shop1 = next(iter(fake.shop.stock.values()))
        sid = fake.shop._id("stock")
        fake.shop.stock[sid] = {**shop1, "id": sid, "id_shop": "2", "quantity": "40"}  # listed after shop 1's
        with Harness(PrestaShopConnector, {**fake.config(), "shop_id": "2"}, tmp_path) as gw:
            assert gw.run().exit_code == 0
            guid = next(p["guid"] for p in gw.products() if p["data"]["source"]["product_id"] == shop1["id_product"])
            with stock_service(PrestaShopConnector, gw.config()) as service:
                self.post(service, gw, self.event(guid, -1))
                self.drain(service)
        assert fake.shop.stock[sid]["quantity"] == "39"
        assert [w["id"] for w in fake.shop.stock_writes] == [str(sid)]  # shop 1's row untouched
