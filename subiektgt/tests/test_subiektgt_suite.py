"""The standard connector suite against a SQLite copy of a Subiekt GT database."""

from __future__ import annotations

import pytest

from gwsync.testing import ConnectorSuite
from gwsync_subiektgt.connector import SubiektGTConnector
from gwsync_subiektgt.fake import SubiektFake


class TestSubiektGT(ConnectorSuite):
    connector = SubiektGTConnector

    @pytest.fixture
    def fake(self, tmp_path):
        with SubiektFake.running(tmp_path) as fake:
            yield fake
