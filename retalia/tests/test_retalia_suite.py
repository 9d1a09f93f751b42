"""The standard gateway-sync suite against a Retalia shop publishing Google Merchant XML."""

import pytest
from gwsync.testing import ConnectorSuite
from gwsync_retalia.connector import RetaliaConnector
from gwsync_retalia.fake import RetaliaFake


class TestRetalia(ConnectorSuite):
    connector = RetaliaConnector

    @pytest.fixture
    def fake(self):
        with RetaliaFake.running() as fake:
            yield fake
