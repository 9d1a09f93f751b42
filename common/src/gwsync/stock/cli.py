"""`gateway-<platform> serve` and `serve status`: the click side of the step-2 service."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from ..config import Resolved, default_state_dir
from ..connector import Connector
from ..gateway.auth import parse_shop_guid
from ..logs import FORMATS, setup_logging
from ..state import clean_shop_identity
from ..state_pg import Scope
from ..stores import StateLocation
from .serve import open_queue, serve_forever, stock_service


def serve_group(connector_cls: type[Connector], resolve: Callable[[dict[str, Any]], Resolved],
                options: Callable[[], list[click.Parameter]], fail: Callable[[BaseException], None]) -> click.Group:
    @click.group("serve", invoke_without_command=True,
                 help="Apply the Gateway's stock events to the shop (a long-running HTTP service). Events "
                      "arrive at /gateway/events/<shop guid>; /healthz answers probes. Put it behind a "
                      "TLS-terminating proxy.")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
    @click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port.")
    @click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16),
                  help="Events applied at once (never two for one product).")
    @click.option("--log-format", type=click.Choice(FORMATS, case_sensitive=False), default="text",
                  show_default=True, envvar="GATEWAY_LOG_FORMAT", show_envvar=True,
                  help="Log lines for people, or one JSON object per line for machines.")
    @click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
    @click.pass_context
    def group(ctx: click.Context, host: str, port: int, workers: int, log_format: str, verbose: bool,
              **params: Any) -> None:
        if ctx.invoked_subcommand is not None:
            ctx.obj = params
            return
        setup_logging(log_format, verbose)
        try:
            with stock_service(connector_cls, resolve(params), workers=workers) as service:
                serve_forever(service, host, port)
        except Exception as exc:
            fail(exc)

    @group.command("status", help="Events pending, applied and parked (with their reasons).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
    @click.pass_context
    def status(ctx: click.Context, as_json: bool) -> None:
        try:
            config = resolve(dict(ctx.obj))
            connector = connector_cls(config.values)
            try:
                scope = Scope(connector.platform, clean_shop_identity(connector.shop), config["gateway_url"],
                              parse_shop_guid(config["shop_guid"]))
            finally:
                connector.close()
            location = StateLocation.parse(config.values.get("state_url"), config["state_dir"] or default_state_dir())
            queue = open_queue(location, scope)
            try:
                data = {"counts": queue.counts(), "parked": queue.parked()}
            finally:
                queue.close()
        except Exception as exc:
            fail(exc)
            return
        if as_json:
            click.echo(json.dumps(data, indent=2))
            return
        click.echo(", ".join(f"{k} {v}" for k, v in data["counts"].items()))
        for parked in data["parked"]:
            click.echo(f"parked {parked['id']} product {parked['product_guid']} delta {parked['delta']:+d}: "
                       f"{parked['reason']}")
        sys.exit(1 if data["parked"] else 0)

    group.params.extend(options())
    return group
