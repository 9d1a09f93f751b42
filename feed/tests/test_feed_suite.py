"""The standard gateway-sync suite against the fake feed."""

import pytest
from gwsync.testing import ConnectorSuite
from gwsync.testing.suite import BOTH_STORES
from gwsync_feed.connector import FeedConnector
from gwsync_feed.fake import FeedFake


class TestFeed(ConnectorSuite):
    connector = FeedConnector
    state_stores = BOTH_STORES  # the whole suite on PostgreSQL too (other connectors: its core)

    @pytest.fixture
    def fake(self):
        with FeedFake.running() as fake:
            yield fake
