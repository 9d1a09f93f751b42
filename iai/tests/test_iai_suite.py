"""The standard connector suite against the local IdoSell Admin API fake."""

from __future__ import annotations

import pytest

from gwsync.testing.suite import ConnectorSuite
from gwsync_iai.connector import IaiConnector
from gwsync_iai.fake import IdoSellFake


class TestIai(ConnectorSuite):
    connector = IaiConnector

    @pytest.fixture
    def fake(self):
        with IdoSellFake.running() as fake:
            yield fake
