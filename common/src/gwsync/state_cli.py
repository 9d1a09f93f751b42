"""`gateway-<platform> state show|reset`: look at or forget one shop's state, in either store."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from .config import SANDBOX, Resolved, default_state_dir
from .connector import Connector
from .errors import ConfigError
from .state import clean_shop_identity
from .state_pg import Scope
from .stores import StateLocation, open_state


def scope_of(connector_cls: type[Connector], config: Resolved) -> tuple[Scope, StateLocation]:
    """The same scope a run of this config uses, found without starting anything."""
    state_dir = config["state_dir"] or default_state_dir()
    connector = connector_cls(config.values)
    try:
        shop = clean_shop_identity(connector.shop)
    finally:
        connector.close()
    gateway, guid = config["gateway_url"], config["shop_guid"]
    if gateway == SANDBOX:
        saved = state_dir / "sandbox-shop.json"
        if not guid and not saved.exists():
            raise ConfigError("there is no state yet: no run has used the embedded sandbox here")
        guid = guid or json.loads(saved.read_text())["shop_guid"]
    location = StateLocation.parse(config.values.get("state_url"), state_dir)
    return Scope(connector_cls.platform, shop, gateway, guid), location


@contextmanager
def shop_state(connector_cls: type[Connector], config: Resolved, lock: bool) -> Iterator[Any]:
    scope, location = scope_of(connector_cls, config)
    with open_state(location, scope, lock=lock) as state:
        yield state, scope, location


def state_group(connector_cls: type[Connector], resolve: Callable[[dict[str, Any]], Resolved],
                options: Callable[[], list[click.Parameter]], fail: Callable[[BaseException], None]) -> click.Group:
    """`resolve`, `options` (the settings' flags, made anew per command) and `fail` come from the tool's CLI."""

    @click.group("state", help="Look at or reset this shop's sync state (SQLite file or PostgreSQL).")
    def group() -> None:
        pass

    @group.command("show", help="Cursor, counts and the last runs of this shop's state.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
    @click.option("--runs", default=5, show_default=True, type=click.IntRange(0, 100), help="How many runs.")
    def show(as_json: bool, runs: int, **params: Any) -> None:
        try:
            with shop_state(connector_cls, resolve(params), lock=False) as (state, scope, location):
                data = {"platform": scope.platform, "source shop": scope.source_shop,
                        "gateway shop": scope.shop_guid, "store": location.describe(),
                        **state.summary(), "runs": state.runs(runs)}
        except Exception as exc:
            fail(exc)
            return
        if as_json:
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for key, value in data.items():
            if key != "runs":
                click.echo(f"{key}: {value}")
        for run in data["runs"]:
            counts = run["summary"].get("counts", {})
            click.echo(f"run {run['started']} -> {run['finished']} {run['status']}: "
                       + ", ".join(f"{k} {v}" for k, v in counts.items()))

    @group.command("reset", help="Forget this shop's state; the next run rebuilds it from the Gateway "
                   "with one scan and writes nothing that is already there.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
    def reset(yes: bool, **params: Any) -> None:
        try:
            config = resolve(params)
            if not yes:
                if not sys.stdin.isatty():
                    raise ConfigError("state reset: nothing can answer the confirmation here; add --yes")
                click.confirm("Forget this shop's sync state?", abort=True, err=True)
            with shop_state(connector_cls, config, lock=True) as (state, scope, _):
                state.reset()
        except click.Abort:
            click.echo("nothing was reset", err=True)
            sys.exit(1)
        except Exception as exc:
            fail(exc)
            return
        click.echo(f"state of {scope.platform} {scope.source_shop} -> {scope.shop_guid} reset; "
                   "the next run rebuilds it from the Gateway")

    for command in (show, reset):
        command.params.extend(options())
    return group
