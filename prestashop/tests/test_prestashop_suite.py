"""The standard connector suite against the local fake of the PrestaShop webservice."""

from __future__ import annotations

import pytest

from gwsync.testing import ConnectorSuite
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import PrestaShopFake


class TestPrestaShop(ConnectorSuite):
    connector = PrestaShopConnector

    @pytest.fixture
    def fake(self):
        with PrestaShopFake.running() as fake:
            yield fake


def test_docker_run_i_answers_are_honoured_in_order(tmp_path):
    """Piped answers: Gateway signing key, shop GUID, webservice key, then the missing shop URL."""
    from gwsync.errors import EXIT_OK
    from gwsync.testing.harness import Harness

    with PrestaShopFake.running() as fake:
        fake.seed(3)
        with Harness(PrestaShopConnector, fake.config(), tmp_path) as gw:
            env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir)}
            answers = "\n".join([gw.signing_key, gw.shop_guid, fake.config()["api_key"], fake.url]) + "\n"
            result = gw.cli(["import"], env=env, input=answers)
            assert result.exit_code == EXIT_OK, result.output
            assert len(gw.products()) == fake.expected_items()
            assert fake.config()["api_key"] not in result.output
