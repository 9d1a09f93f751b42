"""The standard connector suite against the local fake of Sellasist's REST API."""

from __future__ import annotations

import pytest

from gwsync.testing import ConnectorSuite
from gwsync_sellasist.connector import SellasistConnector
from gwsync_sellasist.fake import SellasistFake


class TestSellasist(ConnectorSuite):
    connector = SellasistConnector

    @pytest.fixture
    def fake(self):
        with SellasistFake.running() as fake:
            fake.account.duplicate_every = 7  # the documented quirk: a product listed twice
            yield fake
