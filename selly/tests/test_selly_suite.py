"""The standard connector suite against the local fake of Selly's table API."""

from __future__ import annotations

import pytest

from gwsync.errors import EXIT_CANNOT_RUN, EXIT_OK
from gwsync.testing import ConnectorSuite
from gwsync.testing.harness import Harness
from gwsync_selly.connector import SellyConnector
from gwsync_selly.fake import SellyFake


class TestSelly(ConnectorSuite):
    connector = SellyConnector

    @pytest.fixture
    def fake(self):
        with SellyFake.running() as fake:
            yield fake
