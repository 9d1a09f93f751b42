"""Step 2 through the Shoper fake: the standard stock suite, and what is Shoper's own."""

import pytest

from gwsync.testing.stock_suite import StockSuite
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake


class TestShoperStock(StockSuite):
    connector = ShoperConnector

    @pytest.fixture
    def fake(self):
        with ShoperFake.running(rate_limit=True) as fake:
            yield fake
