"""The CLI every connector gets: settings sources, prompts, dry runs, reports, exit codes."""

from __future__ import annotations

import csv
import json
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import EXIT_LOCKED, AuthError
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
        Setting("zero_price", "LISTING_ZERO_PRICE", "Give product 0 a zero price", required=False,
                default="no", kind="bool"),
        Setting("category", "LISTING_CATEGORY", "Category path of every product", required=False),
    )
    good_token = ""
    interrupt_after: int | None = None  # raise KeyboardInterrupt (Ctrl+C) after this many products

    @property
    def shop(self) -> str:
        return "listing-shop"

    def check(self) -> str:
        self._authorise()
        return f"{self.config['count']} products"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        self._authorise()
        category = tuple(p.strip() for p in (self.config.get("category") or "").split(">") if p.strip())
        for n in range(self.config["count"]):
            if n == self.interrupt_after:
                raise KeyboardInterrupt
            price = Decimal("0") if n == 0 and self.config.get("zero_price") else Decimal("5.00")
            yield Product(product_id=str(n), name=f"Item {n}", price=price, vat=8, stock=n,
                          category_path=category)

    def _authorise(self) -> None:
        if self.config["token"] != self.good_token:
            raise AuthError("Listing refused the token: create a new one in the Listing panel")


@pytest.fixture
def gw(tmp_path):
    Listing.good_token = "tok-" + tmp_path.name
    Listing.interrupt_after = None
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
    assert result.exit_code == EXIT_LOCKED and "another run" in result.stderr  # harmless for cron: nothing done


def test_secrets_have_no_flags(gw):
    help_text = gw.cli(["import", "--help"]).stdout
    assert "--count" in help_text and "--token" not in help_text and "--signing-key" not in help_text
    assert "LISTING_TOKEN" in gw.cli(["--help"]).stdout


# -- issue 12: operator experience ----------------------------------------------------------

def errors_of(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_help_shows_real_defaults_types_env_vars_and_which_settings_are_secret(gw):
    text = " ".join(gw.cli(["import", "--help"]).stdout.split())  # unwrap click's line breaks
    assert "--concurrency INTEGER" in text and "[env var: GATEWAY_CONCURRENCY; default: 8]" in text
    assert "--rate-limit INTEGER" in text and "[env var: GATEWAY_RATE_LIMIT]" in text  # no ceiling by default
    assert "--gateway-url URL" in text and "--count INTEGER" in text and "--zero-price YES|NO" in text
    assert "[env var: LISTING_ZERO_PRICE; default: no]" in text
    assert "[env var: LISTING_COUNT; required]" in text
    assert "default: (" not in text  # the setting's key no longer lands in click's default slot
    assert "Secrets have no flags" in text and "LISTING_TOKEN: Listing API token" in text
    assert "GATEWAY_SIGNING_KEY" in text and "--token" not in text


def test_an_unknown_config_key_is_refused_naming_the_valid_ones(gw, tmp_path):
    config = tmp_path / "typo.toml"
    config.write_text('gateway-url = "https://gateway.example"\n', encoding="utf-8")
    result = gw.cli(["import", "--dry-run", "--config", str(config)])
    assert result.exit_code == 2
    assert errors_of(result) == [result.stderr.strip()]
    assert "unknown key 'gateway-url' (did you mean 'gateway_url'?)" in result.stderr
    assert "valid keys: gateway_url, signing_key, shop_guid" in result.stderr
    assert gw.writes() == 0


def test_a_dry_run_on_the_embedded_sandbox_says_so_on_its_first_line(gw):
    env = {k: v for k, v in gw.env().items() if k not in ("GATEWAY_URL", "GATEWAY_SHOP_GUID",
                                                          "GATEWAY_SIGNING_KEY")}
    result = gw.cli(["import", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0].startswith("dry run against the embedded sandbox")


@pytest.mark.parametrize("name, value, expected", [
    ("GATEWAY_RATE_LIMIT", "0", "GATEWAY_RATE_LIMIT: must be 1 or more, not 0"),
    ("GATEWAY_RATE_LIMIT", "-3", "GATEWAY_RATE_LIMIT: must be 1 or more, not -3"),
    ("LISTING_ZERO_PRICE", "maybe", "LISTING_ZERO_PRICE: 'maybe' is not yes or no"),
    ("GATEWAY_URL", "sandbx", "GATEWAY_URL: 'sandbx' is not an http(s) URL; did you mean 'sandbox'?"),
    ("GATEWAY_CATEGORY_MAP", "missing.csv", "GATEWAY_CATEGORY_MAP: no file at missing.csv"),
])
def test_bad_values_are_one_line_each_and_exit_2(gw, name, value, expected):
    result = gw.cli(["import"], env={**gw.env(), name: value})
    assert result.exit_code == 2
    assert errors_of(result) == [f"error: {expected}"] and result.stderr.strip() == f"error: {expected}"
    assert gw.writes() == 0


def test_an_unwritable_report_is_refused_before_anything_runs(gw, tmp_path):
    result = gw.cli(["import", "--report", str(tmp_path / "no-such-dir" / "report.json")])
    assert result.exit_code == 2 and "--report" in errors_of(result)[0]
    assert gw.writes() == 0 and not gw.state_dir.exists()


def assert_run_fields(data: dict, exit_code: int) -> None:
    assert data["exit_code"] == exit_code and data["tool"] == "gateway-listing"
    assert data["version"] and data["platform"] == "listing" and len(data["run_id"]) == 36
    for key in ("started", "finished"):
        assert datetime.fromisoformat(data[key]).utcoffset() == timedelta(0)
    assert set(data["counts"]) >= {"created", "updated", "unchanged", "archived", "skipped", "failed"}


def test_the_report_is_written_when_the_run_fails_before_the_sync(gw, tmp_path):
    report = tmp_path / "report.json"
    result = gw.cli(["import", "--report", str(report)], env={**gw.env(), "LISTING_TOKEN": "wrong-token"})
    assert result.exit_code == 3
    data = json.loads(report.read_text())
    assert_run_fields(data, 3)
    assert "Listing refused the token" in data["error"] and data["gateway_shop"] == gw.shop_guid
    assert data["counts"]["created"] == 0 and "wrong-token" not in report.read_text()


def test_the_report_is_written_when_a_setting_is_missing(gw, tmp_path):
    report = tmp_path / "report.json"
    env = {k: v for k, v in gw.env().items() if k != "LISTING_COUNT"}
    assert gw.cli(["import", "--report", str(report)], env=env).exit_code == 2
    data = json.loads(report.read_text())
    assert_run_fields(data, 2)
    assert "LISTING_COUNT" in data["error"]


def test_a_successful_report_names_the_run_and_both_shops(gw, tmp_path):
    report = tmp_path / "report.json"
    assert gw.cli(["import", "--report", str(report)]).exit_code == 0
    data = json.loads(report.read_text())
    assert_run_fields(data, 0)
    assert data["source_shop"] == "listing-shop" and data["gateway_shop"] == gw.shop_guid
    assert data["error"] is None and data["counts"]["created"] == 3


def test_items_skipped_for_their_data_exit_0_and_are_listed_unless_fail_on_skipped(gw, tmp_path):
    env = {**gw.env(), "LISTING_ZERO_PRICE": "yes"}
    result = gw.cli(["import"], env=env)
    assert result.exit_code == 0, result.output
    assert "skipped listing|listing-shop|0|" in result.stderr and "price is zero" in result.stderr
    report = tmp_path / "report.json"
    strict = gw.cli(["import", "--fail-on", "skipped", "--report", str(report)], env=env)
    assert strict.exit_code == 1 and json.loads(report.read_text())["exit_code"] == 1


def test_ctrl_c_exits_130_and_still_writes_the_report(gw, tmp_path):
    Listing.interrupt_after = 2
    report = tmp_path / "report.json"
    result = gw.cli(["import", "--report", str(report)])
    assert result.exit_code == 130 and "interrupted" in errors_of(result)[0]
    data = json.loads(report.read_text())
    assert data["exit_code"] == 130 and "Ctrl+C" in data["error"]
    assert len(gw.products()) <= 2  # what was read before is kept; nothing archived


def test_no_archive_keeps_products_that_left_the_source(gw):
    assert gw.cli(["import"]).exit_code == 0
    result = gw.cli(["import", "--no-archive"], env={**gw.env(), "LISTING_COUNT": "1"})
    assert result.exit_code == 0 and "archived 0" in result.stdout
    assert len(gw.products()) == 3
    assert "archived 2" in gw.cli(["import"], env={**gw.env(), "LISTING_COUNT": "1"}).stdout


@pytest.mark.parametrize("flag, option", [("--allow-mass-archive", "allow_mass_archive"),
                                          ("--allow-second-source", "allow_second_source")])
def test_import_flags_reach_the_engine(gw, monkeypatch, flag, option):
    import gwsync.cli

    seen = []
    monkeypatch.setattr(gwsync.cli, "_stop_on_sigterm", lambda engine: seen.append(engine.options))
    gw.cli(["import", flag])
    gw.cli(["import"])
    assert [getattr(o, option) for o in seen] == [True, False]


def test_json_logs_from_the_environment_make_every_line_json(gw):
    env = {**gw.env(), "GATEWAY_LOG_FORMAT": "json", "LISTING_ZERO_PRICE": "yes"}
    result = gw.cli(["import"], env=env)
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]  # fails on any non-JSON line
    run_ids = {line["run_id"] for line in lines}
    assert len(run_ids) == 1 and all(line["platform"] == "listing" for line in lines)
    for line in lines:
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0) and line["level"]
    by_event = {line.get("event"): line for line in lines}
    assert by_event["skipped"]["reason"] == "price is zero or missing" and by_event["skipped"]["item"]
    assert by_event["summary"]["counts"]["created"] == 2 and by_event["summary"]["shop"] == "listing-shop"


def test_quiet_prints_nothing_on_success_and_the_summary_and_errors_on_failure(gw):
    result = gw.cli(["import", "--quiet"], env={**gw.env(), "LISTING_ZERO_PRICE": "yes"})
    assert result.exit_code == 0 and result.output == ""
    failed = gw.cli(["import", "-q", "--fail-on", "skipped"], env={**gw.env(), "LISTING_ZERO_PRICE": "yes"})
    assert failed.exit_code == 1
    assert failed.stdout.startswith("created 0, updated 0") and failed.stderr.startswith("skipped ")
    assert len(failed.output.splitlines()) == 2


def test_check_reports_each_side_even_when_the_other_fails(gw):
    bad_platform = gw.cli(["check"], env={**gw.env(), "LISTING_TOKEN": "wrong-token"})
    assert bad_platform.exit_code == 3
    assert errors_of(bad_platform) == ["error: Listing refused the token: create a new one in the Listing panel"]
    assert f"shop {gw.shop_guid}, 0 live products" in bad_platform.stdout
    closed = free_port()
    bad_gateway = gw.cli(["check", "-v"], env={**gw.env(), "GATEWAY_URL": f"http://127.0.0.1:{closed}"})
    assert bad_gateway.exit_code == 3 and "Listing: 3 products" in bad_gateway.stdout
    assert "connection refused" in errors_of(bad_gateway)[0]
    retries = [line for line in bad_gateway.stderr.splitlines() if "Retrying" in line and str(closed) in line]
    assert len(retries) == 1  # -v shows the retry; a refused connection is tried twice at most


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_categories_prints_the_unmapped_paths_as_a_csv_with_suggestions(gw, tmp_path):
    env = {**gw.env(), "LISTING_CATEGORY": "Odzież > Kobieta > Sukienki wieczorowe"}
    assert gw.cli(["import"], env=env).exit_code == 0
    result = gw.cli(["categories"], env=env)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(result.stdout.splitlines(), delimiter=";"))
    assert rows[0] == ["source path", "Gateway path"]
    assert rows[1][0] == "Odzież > Kobieta > Sukienki wieczorowe" and rows[1][1].startswith("Kobieta > ")
    assert len(rows) == 2 and "1 source categories" in result.stderr
    # the file works as it is: with it as the mapping, every product gets its category
    mapping = tmp_path / "categories.csv"
    mapping.write_text(result.stdout, encoding="utf-8")
    mapped = gw.cli(["import", "--full"], env={**env, "GATEWAY_CATEGORY_MAP": str(mapping)})
    assert mapped.exit_code == 0 and "have no Gateway category" not in mapped.stderr
    assert all(p["tag_guids"] for p in gw.products())
    assert gw.cli(["categories"], env=env).stdout.strip() == "source path;Gateway path"


def test_categories_before_any_import_says_what_to_run(gw):
    result = gw.cli(["categories"])
    assert result.exit_code == 2 and "gateway-listing import" in errors_of(result)[0]


def test_version_names_the_tool(gw):
    result = gw.cli(["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("gateway-listing ")


def test_check_in_json_mode_prints_json_lines_for_both_sides(gw):
    result = gw.cli(["check", "--log-format", "json"], env={**gw.env(), "LISTING_TOKEN": "wrong-token"})
    assert result.exit_code == 3
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert {(line["event"], line.get("side")) for line in lines} == {("error", "Listing"), ("check", "Gateway")}


def test_a_json_dry_run_gives_each_planned_action_as_a_json_line(gw):
    env = {k: v for k, v in gw.env().items() if k not in ("GATEWAY_URL", "GATEWAY_SHOP_GUID",
                                                          "GATEWAY_SIGNING_KEY")}
    result = gw.cli(["import", "--dry-run", "--log-format", "json"], env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0]["event"] == "note" and "embedded sandbox" in lines[0]["message"]
    assert sum(line.get("event") == "plan" for line in lines) == 3
