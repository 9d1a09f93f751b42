"""The standard gateway-sync suite against the fake feed."""

import pytest
from gwsync.testing import ConnectorSuite
from gwsync_feed.connector import FeedConnector
from gwsync_feed.fake import FeedFake


class TestFeed(ConnectorSuite):
    connector = FeedConnector

    @pytest.fixture
    def fake(self):
        with FeedFake.running() as fake:
            yield fake
