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

    def test_unencoded_image_urls_are_percent_encoded(self, gw, fake):
        """The seeded catalog holds one NULL photo on purpose (reported as broken); this test
        wants no image problem, so that photo goes. Photo references with a space and Polish
        letters still find their BLOB; none of them is ever sent to /downloads/."""
        fake.execute("DELETE FROM tw_ZdjecieTw WHERE zd_Zdjecie IS NULL")
        super().test_unencoded_image_urls_are_percent_encoded(gw, fake)
