"""The standard connector suite against the local fake Magento REST API, signed and with a bearer token."""

from __future__ import annotations

import pytest

from gwsync.testing import ConnectorSuite
from gwsync_magento.connector import MagentoConnector
from gwsync_magento.fake import MagentoFake


class TestMagentoOAuth(ConnectorSuite):
    """Magento 2.4.4+ as shipped: integration tokens only with OAuth 1.0a signatures."""

    connector = MagentoConnector

    @pytest.fixture
    def fake(self):
        with MagentoFake.running(oauth=True) as fake:
            yield fake


class TestMagentoBearer(ConnectorSuite):
    """A shop whose admin allows access tokens as bearer tokens (or Magento before 2.4.4)."""

    connector = MagentoConnector

    @pytest.fixture
    def fake(self):
        with MagentoFake.running(oauth=False) as fake:
            yield fake
