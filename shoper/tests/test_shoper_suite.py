"""The standard connector suite against the fake Shoper WebAPI with its leaky bucket switched on."""

import pytest

from gwsync.testing.suite import ConnectorSuite
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake


class TestShoper(ConnectorSuite):
    connector = ShoperConnector

    @pytest.fixture
    def fake(self):
        with ShoperFake.running(rate_limit=True) as fake:
            yield fake
