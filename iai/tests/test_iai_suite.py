"""The standard connector suite against the local IdoSell Admin API fake."""

from __future__ import annotations

import pytest

from gwsync.errors import EXIT_CANNOT_RUN, EXIT_OK
from gwsync.testing.harness import Harness
from gwsync.testing.suite import ConnectorSuite
from gwsync_iai.connector import IaiConnector
from gwsync_iai.fake import API_KEY, LIMITED_KEY, IdoSellFake


class TestIai(ConnectorSuite):
    connector = IaiConnector

    @pytest.fixture
    def fake(self):
        with IdoSellFake.running() as fake:
            yield fake


def _one_error_line(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


@pytest.mark.parametrize("what, change, expected", [
    ("wrong panel URL", lambda fake: {"url": fake.base_url + "/sklep"}, "IAI_URL"),
    ("key without product rights", lambda fake: {"api_key": LIMITED_KEY}, "PIM"),
    ("missing key", lambda fake: {"api_key": "x"}, "IAI_API_KEY"),
])
def test_errors_users_meet_exit_3_with_one_line(tmp_path, what, change, expected):
    with IdoSellFake.running() as fake:
        fake.seed(2)
        with Harness(IaiConnector, fake.config(), tmp_path) as gw:
            for command in (["check"], ["import"]):
                result = gw.cli(command, env=gw.env({**fake.config(), **change(fake)}))
                assert result.exit_code == EXIT_CANNOT_RUN, (what, result.output)
                assert expected in _one_error_line(result)
                assert all(key not in result.output for key in (API_KEY, LIMITED_KEY))


def test_docker_run_i_answers_are_honoured_in_order(tmp_path):
    """Piped answers: Gateway signing key, shop GUID, IdoSell API key, then the missing panel URL."""
    with IdoSellFake.running() as fake:
        fake.seed(3)
        with Harness(IaiConnector, fake.config(), tmp_path) as gw:
            env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir)}
            answers = "\n".join([gw.signing_key, gw.shop_guid, API_KEY, fake.base_url]) + "\n"
            result = gw.cli(["import"], env=env, input=answers)
            assert result.exit_code == EXIT_OK, result.output
            assert len(gw.products()) == fake.expected_items()
            assert API_KEY not in result.output and gw.signing_key not in result.output


def test_each_picture_is_copied_once_by_url_and_again_only_when_it_changed(tmp_path):
    with IdoSellFake.running() as fake:
        fake.seed(12)
        distinct = {p["productImageHash"] for r in fake.products.values() for p in r["productImages"]}
        with Harness(IaiConnector, fake.config(), tmp_path) as gw:
            assert gw.run().images["copied"] == len(distinct) > 0  # public: /downloads/, no upload
            assert gw.run(full=True).images["copied"] == 0
            record = next(r for r in fake.products.values() if r["productImages"])
            fake.touch(record["productId"], productImages=[dict(record["productImages"][0],
                                                                productImageHash="0" * 32)])
            report = gw.run()
            assert report.images["copied"] == 1 and report.images["uploaded"] == 0
