"""`state show` and `state reset` on both stores; an unwritable state directory; the store URL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from gwsync.connector import Connector, ReadContext
from gwsync.errors import ConfigError
from gwsync.models import Item, Product
from gwsync.stores import StateLocation
from gwsync.testing import Harness
from gwsync.testing.postgres import postgres_url  # noqa: F401  (fixture)


class Three(Connector):
    platform = "three"
    title = "Three"

    @property
    def shop(self) -> str:
        return "three-shop"

    def check(self) -> str:
        return "3 products"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        for n in range(3):
            yield Product(product_id=str(n), name=f"Item {n}", price=Decimal("5.00"), vat=23, stock=n)


@pytest.fixture(params=["sqlite", "postgres"])
def gw(request, tmp_path):
    with Harness(Three, {}, tmp_path) as h:
        if request.param == "postgres":
            h.extra_env = {"GATEWAY_SYNC_STATE_URL": request.getfixturevalue("postgres_url")}
        else:
            h.extra_env = {}
        yield h


def cli(gw, args, input=""):
    return gw.cli(args, env={**gw.env(), **gw.extra_env}, input=input)


def test_show_gives_counts_cursor_and_runs_then_reset_makes_the_next_run_rebuild(gw):
    assert cli(gw, ["import"]).exit_code == 0
    shown = cli(gw, ["state", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["live products"] == 3 and data["source shop"] == "three-shop"
    assert data["runs"][0]["status"] == "complete"
    recorded = data["runs"][0]["summary"]
    assert recorded["counts"]["created"] == 3 and recorded["planned"] == 3 and "plan" not in recorded
    assert gw.extra_env.get("GATEWAY_SYNC_STATE_URL", "\0") not in shown.output  # the URL may hold a password

    refused = cli(gw, ["state", "reset"])  # nothing can answer the confirmation
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    done = cli(gw, ["state", "reset", "--yes"])
    assert done.exit_code == 0, done.output
    assert json.loads(cli(gw, ["state", "show", "--json"]).stdout)["live products"] == 0

    writes = gw.writes()
    rerun = cli(gw, ["import"])
    assert rerun.exit_code == 0 and "created 0, updated 0" in rerun.stdout
    assert gw.writes() == writes  # rebuilt from the Gateway: nothing written again


def test_text_show_names_the_store(gw):
    cli(gw, ["import"])
    shown = cli(gw, ["state", "show"])
    assert "store: " + ("PostgreSQL" if gw.extra_env else "SQLite") in shown.stdout


def test_an_unwritable_state_directory_is_one_line_naming_the_setting_and_uid(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with Harness(Three, {}, tmp_path) as h:
        result = h.cli(["import"], env={**h.env(), "GATEWAY_SYNC_STATE_DIR": str(blocker / "state")})
    assert result.exit_code == 2
    assert "GATEWAY_SYNC_STATE_DIR" in result.stderr and f"uid {os.getuid()}" in result.stderr
    assert "Traceback" not in result.output


def test_state_url_schemes_follow_sqlalchemy(tmp_path):
    assert StateLocation.parse("sqlite:////var/lib/gw", tmp_path).directory == Path("/var/lib/gw")
    assert StateLocation.parse("sqlite:///gw-state", tmp_path).directory == Path("gw-state")  # relative
    assert StateLocation.parse(None, tmp_path).directory == tmp_path
    assert StateLocation.parse("postgresql://u:pw@db/gw", tmp_path).postgres_url
    with pytest.raises(ConfigError, match="GATEWAY_SYNC_STATE_URL: expected sqlite") as err:
        StateLocation.parse("mysql://u:secret@db/gw", tmp_path)
    assert "secret" not in str(err.value)
