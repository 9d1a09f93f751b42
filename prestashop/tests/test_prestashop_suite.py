"""The standard connector suite against the local fake of the PrestaShop webservice."""

from __future__ import annotations

import pytest

from gwsync.testing import ConnectorSuite
from gwsync.testing.suite import BOTH_STORES
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import GOOD_KEY, OTHER_KEY, PrestaShopFake


class TestPrestaShop(ConnectorSuite):
    connector = PrestaShopConnector
    state_stores = BOTH_STORES  # the whole suite on PostgreSQL too (other connectors: its core) ...
    # ... but the four single-fault runs (Gateway retries and pacing, the same code on either store;
    # 2.5 min of CI): the fault-profile test runs the faults here on PostgreSQL, the feed runs all four
    postgres_leaves_out = frozenset({"test_faults_keep_exactly_once"})

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


def _no_taxes(fake) -> None:
    fake.shop.keys[GOOD_KEY]["resources"] -= {"taxes"}


@pytest.mark.parametrize("break_it, config, fix", [
    (lambda fake: None, {"api_key": "short-key"}, "32-character webservice key"),
    (lambda fake: None, "bad", "set its Status to Enabled"),  # 401 codes 20/21
    (_no_taxes, {}, "View (GET)|taxes"),  # 401 code 26 (import) / the missing list (check)
    (lambda fake: setattr(fake.shop, "webservice_enabled", False), {}, "Enable PrestaShop's webservice"),
    (lambda fake: fake.shop.keys[GOOD_KEY]["no_get"].add("taxes"), {}, "View (GET)|taxes"),
    (lambda fake: setattr(fake.shop, "strip_authorization", True), {}, "drops the Authorization header"),
], ids=["key-format", "key-refused-20", "resource-26", "webservice-off-22", "method-25", "fastcgi"])
def test_errors_users_meet_exit_3_with_one_line_and_no_key(tmp_path, break_it, config, fix):
    from gwsync.errors import EXIT_CANNOT_RUN
    from gwsync.testing.harness import Harness

    with PrestaShopFake.running() as fake:
        fake.seed(3)
        settings = fake.bad_config() if config == "bad" else {**fake.config(), **config}
        with Harness(PrestaShopConnector, settings, tmp_path) as gw:
            break_it(fake)
            for command in (["import"], ["check"]):
                result = gw.cli(command)
                errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
                assert result.exit_code == EXIT_CANNOT_RUN, result.output
                assert len(errors) == 1 and all(part in errors[0] for part in fix.split("|")), result.stderr
                assert "Traceback" not in result.output
                assert all(key not in result.output for key in (GOOD_KEY, OTHER_KEY, gw.signing_key))
            assert gw.writes() == 0
