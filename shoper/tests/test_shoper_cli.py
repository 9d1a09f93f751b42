"""What a vendor meets on the command line: piped answers, and one clear line per error."""

import pytest

from gwsync.errors import EXIT_CANNOT_RUN, EXIT_OK
from gwsync.testing.harness import Harness
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake


@pytest.fixture
def fake():
    with ShoperFake.running(12) as fake:
        yield fake


@pytest.fixture
def gw(fake, tmp_path):
    with Harness(ShoperConnector, fake.config(), tmp_path) as h:
        yield h


def one_error_line(result, secrets):
    assert result.exit_code == EXIT_CANNOT_RUN, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert all(secret not in result.output for secret in secrets)
    return errors[0]


def test_piped_answers_come_in_the_documented_order(gw, fake):
    # docker run -i: signing key, shop GUID, login, password (then the Gateway URL, given here)
    env = {k: v for k, v in gw.env().items()
           if k not in ("GATEWAY_SIGNING_KEY", "GATEWAY_SHOP_GUID", "SHOPER_CLIENT_ID", "SHOPER_CLIENT_SECRET")}
    answers = "\n".join([gw.signing_key, gw.shop_guid, fake.shop.login, fake.shop.password]) + "\n"
    result = gw.cli(["check"], env=env, input=answers)
    assert result.exit_code == EXIT_OK, result.output
    assert "Shoper shop Sklep testowy" in result.stdout
    assert fake.shop.password not in result.output


@pytest.mark.parametrize("command", [["import"], ["check"]])
def test_wrong_password_says_auth_failure(gw, fake, command):
    line = one_error_line(gw.cli(command, env=gw.env(fake.bad_config())), fake.secrets())
    assert "auth_failure" in line and "SHOPER_CLIENT_SECRET" in line


@pytest.mark.parametrize("command", [["import"], ["check"]])
def test_wrong_shop_url_says_check_shoper_url(gw, fake, command):
    config = {**fake.config(), "url": fake.url + "/some-other-site"}
    line = one_error_line(gw.cli(command, env=gw.env(config)), fake.secrets())
    assert "check SHOPER_URL" in line


@pytest.mark.parametrize("command", [["import"], ["check"]])
def test_missing_rights_name_the_rights_to_give(gw, fake, monkeypatch, command):
    handle = fake.shop.handle

    def no_rights(method, path, params):
        if "/products" in path or "/product-stocks" in path:
            return 403, {"error": "insufficient_scope", "error_description": "Access denied"}
        return handle(method, path, params)

    monkeypatch.setattr(fake.shop, "handle", no_rights)
    line = one_error_line(gw.cli(command), fake.secrets())
    assert "may not read" in line and "Asortyment" in line
    assert gw.writes() == 0
