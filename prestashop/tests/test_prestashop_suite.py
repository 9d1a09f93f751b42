"""The standard connector suite against the local fake of the PrestaShop webservice."""

from __future__ import annotations

import pytest

from gwsync.testing import ConnectorSuite
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import PrestaShopFake


class TestPrestaShop(ConnectorSuite):
    connector = PrestaShopConnector

    @pytest.fixture
    def fake(self):
        with PrestaShopFake.running() as fake:
            yield fake
