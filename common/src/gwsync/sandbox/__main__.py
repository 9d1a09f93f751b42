"""`gateway-sandbox`: run the Gateway emulator, or register a shop for it."""

from __future__ import annotations

import base64
import ipaddress
import secrets
import signal
import sys
import uuid
from importlib import metadata
from typing import Any

import click

from .server import add_shops, build_server, open_store


def _parse_shop(value: str) -> tuple[str, str]:
    guid, sep, key = value.partition(":")
    if not sep:
        raise click.BadParameter(f"{value!r} is not GUID:BASE64KEY", param_hint="--shop")
    return guid, key


def _stop_on_sigterm(*_: Any) -> None:
    raise KeyboardInterrupt


@click.group()
@click.version_option(metadata.version("gateway-sync-common"), "--version", prog_name="gateway-sandbox",
                      message="%(prog)s %(version)s (gateway-sync-common)")
def main() -> None:
    """A local emulator of the Gateway API (spec Part B) for tests, benchmarks and demos."""


@main.command()
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False), help="SQLite file (created when missing).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; anything but loopback needs --public.")
@click.option("--public", is_flag=True,
              help="Allow a non-loopback --host. The sandbox has unauthenticated control endpoints "
                   "and fetches URLs: never expose it to a network you do not trust.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port; 0 picks a free one.")
@click.option("--shop", "shops", multiple=True, metavar="GUID:BASE64KEY", help="Register a shop (repeatable).")
@click.option("--base-url", default=None, help="Public root used in hosted image URLs.")
@click.option("--log-requests/--no-log-requests", default=False, help="One stderr line per request.")
def serve(db: str, host: str, port: int, public: bool, shops: tuple[str, ...], base_url: str | None,
          log_requests: bool) -> None:
    """Serve the sandbox until interrupted; prints its URL on stdout."""
    if not public and not is_loopback_host(host):
        raise click.UsageError(f"--host {host} is not a loopback address; the sandbox's control "
                               "endpoints have no authentication, so add --public to mean it")
    try:
        pairs = [_parse_shop(value) for value in shops]
        store, _ = open_store(db)
        add_shops(store, pairs)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        server, _, url = build_server(store, host, port, base_url=base_url, log_requests=log_requests)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    click.echo(url)
    click.echo(f"Gateway sandbox on {url} (database {db}); Ctrl+C stops it.", err=True)
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@main.command("new-shop")
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False), help="SQLite file (created when missing).")
@click.option("--guid", default=None, help="Shop guid (default: a new random one).")
@click.option("--name", default=None, help="A name for people, shown on the sandbox page.")
def new_shop(db: str, guid: str | None, name: str | None) -> None:
    """Register a shop with a fresh random 32-byte key; prints env lines for it."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    store, _ = open_store(db)
    try:
        guid = store.add_shop(guid or str(uuid.uuid4()), key)
        if name:
            store.set_shop_name(guid, name)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        store.close()
    click.echo(f"GATEWAY_SHOP_GUID={guid}")
    click.echo(f"GATEWAY_SIGNING_KEY={key}")


if __name__ == "__main__":
    main()
