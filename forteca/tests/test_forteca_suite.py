"""The standard gateway-sync suite against a Forteca shop publishing Ceneo XML."""

import pytest
from gwsync.testing import ConnectorSuite
from gwsync_forteca.connector import FortecaConnector
from gwsync_forteca.fake import FortecaFake


class TestForteca(ConnectorSuite):
    connector = FortecaConnector

    @pytest.fixture
    def fake(self):
        with FortecaFake.running() as fake:
            yield fake
