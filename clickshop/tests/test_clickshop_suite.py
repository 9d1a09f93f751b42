"""The standard gateway-sync suite against a ClickShop shop publishing IdoSell IOF 3.0."""

import pytest
from gwsync.testing import ConnectorSuite
from gwsync_clickshop.connector import ClickShopConnector
from gwsync_clickshop.fake import ClickShopFake


class TestClickShop(ConnectorSuite):
    connector = ClickShopConnector

    @pytest.fixture
    def fake(self):
        with ClickShopFake.running() as fake:
            yield fake
