"""The standard connector suite against the local fake of Selly's table API."""

from __future__ import annotations

import pytest

from gwsync.testing import ConnectorSuite
from gwsync_selly.connector import SellyConnector
from gwsync_selly.fake import SellyFake


class TestSelly(ConnectorSuite):
    connector = SellyConnector

    @pytest.fixture
    def fake(self):
        with SellyFake.running() as fake:
            yield fake
