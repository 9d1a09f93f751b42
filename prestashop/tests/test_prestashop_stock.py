"""Step 2 through the PrestaShop fake: the standard stock suite, and the full-row PUT."""

import pytest
from gwsync.testing.stock_suite import StockSuite
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import PrestaShopFake


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
