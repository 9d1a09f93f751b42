"""The CLI every connector gets: settings sources, prompts, dry runs, reports, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import AuthError
from gwsync.models import Item, Product
from gwsync.state import ShopLock, state_file
from gwsync.testing import Harness


class Listing(Connector):
    """Yields `count` simple products; refuses any token but the one the test made."""

    platform = "listing"
    title = "Listing"
    settings = (
        Setting("count", "LISTING_COUNT", "How many products", kind="int"),
        Setting("token", "LISTING_TOKEN", "Listing API token", secret=True, credential=True),
    )
    good_token = ""

    @property
    def shop(self) -> str:
        return "listing-shop"

    def check(self) -> str:
        self._authorise()
        return f"{self.config['count']} products"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        self._authorise()
        for n in range(self.config["count"]):
            yield Product(product_id=str(n), name=f"Item {n}", price=Decimal("5.00"), vat=8, stock=n)

    def _authorise(self) -> None:
        if self.config["token"] != self.good_token:
            raise AuthError("Listing refused the token: create a new one in the Listing panel")


@pytest.fixture
def gw(tmp_path):
    Listing.good_token = "tok-" + tmp_path.name
    with Harness(Listing, {"count": 3, "token": Listing.good_token}, tmp_path) as h:
        yield h


def test_piped_answers_fill_the_gateway_key_guid_and_credentials_in_order(gw):
    env = {k: v for k, v in gw.env().items() if k not in ("GATEWAY_SIGNING_KEY", "GATEWAY_SHOP_GUID",
                                                          "LISTING_TOKEN")}
    result = gw.cli(["import"], env=env, input=f"{gw.signing_key}\n{gw.shop_guid}\n{Listing.good_token}\n")
    assert result.exit_code == 0, result.output
    assert "created 3" in result.stdout
    assert Listing.good_token not in result.output and gw.signing_key not in result.output
    assert len(gw.products()) == 3


def test_config_file_is_used_below_env_and_flags(gw, tmp_path):
    config = tmp_path / "gwsync.toml"
    config.write_text('count = 7\ntoken = "wrong"\n', encoding="utf-8")
    env = {k: v for k, v in gw.env().items() if k != "LISTING_COUNT"}
    result = gw.cli(["import", "--config", str(config), "--count", "2"], env=env)
    assert result.exit_code == 0, result.output  # token from env beats the file's
    assert "created 2" in result.stdout


@pytest.mark.parametrize("content, message", [
    ("count = = 3", "is not valid TOML"),
    (None, "cannot read"),
])
def test_unreadable_config_exits_2_with_one_line(gw, tmp_path, content, message):
    config = tmp_path / "c.toml"
    if content is not None:
        config.write_text(content)
    result = gw.cli(["import", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and message in result.stderr


def test_bad_gateway_settings_exit_2_naming_the_setting(gw):
    for name, value in (("GATEWAY_SHOP_GUID", "shop-1"), ("GATEWAY_SIGNING_KEY", "%%%"),
                        ("GATEWAY_URL", "gateway.example")):
        result = gw.cli(["import"], env={**gw.env(), name: value})
        assert result.exit_code == 2 and name in result.stderr and "Traceback" not in result.output


def test_dry_run_without_a_gateway_uses_the_embedded_sandbox(gw):
    env = {k: v for k, v in gw.env().items() if not k.startswith("GATEWAY_") or k == "GATEWAY_SYNC_STATE_DIR"}
    result = gw.cli(["import", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("create  listing|listing-shop|") == 3
    assert "dry run (nothing written)" in result.stdout and "embedded sandbox" in result.stderr


def test_report_file_and_json_logs(gw, tmp_path):
    report = tmp_path / "report.json"
    result = gw.cli(["import", "--report", str(report), "--log-format", "json", "-v"])
    assert result.exit_code == 0
    data = json.loads(report.read_text())
    assert data["counts"]["created"] == 3 and data["exit_code"] == 0 and data["complete"] is True
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert logs and all({"time", "level", "message"} <= set(line) for line in logs)


def test_a_second_run_for_the_same_shop_exits_4_at_once(gw):
    path = state_file(gw.state_dir, "listing", "listing-shop", gw.sandbox.url, gw.shop_guid)
    with ShopLock(path):
        result = gw.cli(["import"])
    assert result.exit_code == 4 and "another run" in result.stderr  # harmless for cron: nothing done


def test_secrets_have_no_flags(gw):
    help_text = gw.cli(["import", "--help"]).stdout
    assert "--count" in help_text and "--token" not in help_text and "--signing-key" not in help_text
    assert "LISTING_TOKEN" in gw.cli(["--help"]).stdout
