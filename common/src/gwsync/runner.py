"""Wires one run together: Gateway (real or embedded sandbox), state, lock, connector, engine."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .categories import CategoryMap
from .config import SANDBOX, Resolved, default_state_dir
from .connector import Connector
from .gateway.auth import decode_signing_key, parse_shop_guid
from .errors import ConfigError
from .gateway.client import GatewayClient
from .gateway.payload import rekeyed
from .http import CallStats
from .memory import return_large_buffers
from .ratecontrol import DEFAULT_CONCURRENCY
from .report import Report
from .state_pg import Scope
from .stores import StateLocation, open_state
from .execute import SEARCH_LAG
from .sync import Engine, Options, clean_shop_identity

log = logging.getLogger(__name__)


@dataclass
class GatewayTarget:
    url: str
    shop_guid: str
    key: bytes
    embedded: bool = False


@contextmanager
def gateway_target(config: Resolved, state_dir: Path) -> Iterator[GatewayTarget]:
    """The configured Gateway, or the embedded sandbox with a local shop of its own."""
    if config["gateway_url"] != SANDBOX:
        yield GatewayTarget(config["gateway_url"], parse_shop_guid(config["shop_guid"]),
                            decode_signing_key(config["signing_key"]))
        return
    from .sandbox import start_in_thread  # the sandbox is only imported when it is used

    guid, key_b64 = _sandbox_shop(state_dir, config["shop_guid"], config["signing_key"])
    server = start_in_thread(state_dir / "sandbox.sqlite", shops={guid: key_b64})
    try:
        yield GatewayTarget(server.url, guid, decode_signing_key(key_b64), embedded=True)
    finally:
        server.stop()


def _sandbox_shop(state_dir: Path, guid: str | None, key_b64: str | None) -> tuple[str, str]:
    if guid and key_b64:
        return parse_shop_guid(guid), key_b64
    path = state_dir / "sandbox-shop.json"
    if path.exists():
        saved = json.loads(path.read_text())
        return saved["shop_guid"], saved["signing_key"]
    state_dir.mkdir(parents=True, exist_ok=True)
    saved = {"shop_guid": str(uuid.uuid4()), "signing_key": base64.b64encode(secrets.token_bytes(32)).decode()}
    path.touch(mode=0o600)
    path.write_text(json.dumps(saved))
    return saved["shop_guid"], saved["signing_key"]


def search_lag(config: Resolved) -> float:
    """GATEWAY_SEARCH_LAG (B16): seconds the Gateway's search may lag behind its writes."""
    value = config["search_lag"] if config["search_lag"] is not None else os.environ.get("GATEWAY_SEARCH_LAG")
    if value is None or str(value).strip() == "":
        return SEARCH_LAG
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError("GATEWAY_SEARCH_LAG must be a number of seconds, e.g. 2") from None
    if not 0 <= seconds <= 60:
        raise ConfigError("GATEWAY_SEARCH_LAG must be between 0 and 60 seconds")
    return seconds


def run_import(connector_cls: type[Connector], config: Resolved, *, dry_run: bool = False,
               full: bool = False, workers: int = 4,
               progress: Callable[[Report], None] | None = None,
               on_engine: Callable[[Engine], None] | None = None,
               options: Options | None = None) -> Report:
    """One import. `options` (tests, or a CLI that sets more) wins over the keyword arguments."""
    return_large_buffers()  # batch buffers freed on worker threads must not stay as RSS (gwsync.memory)
    stats = CallStats()
    started = time.time()
    state_dir = config["state_dir"] or default_state_dir()
    category_map = CategoryMap.load(config["category_map"]) if config["category_map"] else None
    if options is None:
        options = Options(dry_run=dry_run, full=full, workers=workers)
    options.category_map = options.category_map or category_map
    if options.search_lag is None:
        options.search_lag = search_lag(config)
    connector = connector_cls(config.values, stats)
    with ExitStack() as stack:
        stack.callback(connector.close)
        target = stack.enter_context(gateway_target(config, state_dir))
        gateway = GatewayClient(target.url, target.shop_guid, target.key, stats=stats,
                                per_second=config["rate_limit"] or None,
                                concurrency=max(1, config["concurrency"] or DEFAULT_CONCURRENCY))
        stack.callback(gateway.close)
        source_shop = clean_shop_identity(connector.shop)
        scope = Scope(connector.platform, source_shop, SANDBOX if target.embedded else target.url,
                      target.shop_guid)
        location = StateLocation.parse(config.values.get("state_url"), state_dir)
        engines: list[Engine] = []
        # a dry run's state changes are never kept (SQLite rolls back, other stores get an overlay)
        state = stack.enter_context(open_state(location, scope, workers=options.workers, dry_run=options.dry_run,
                                               on_lease_lost=lambda: [e.stop() for e in engines]))
        if options.stock_only:
            options.defer = pending_sales(location, scope)
        report = Report(connector.platform, stats, dry_run=options.dry_run)
        engine = Engine(connector, gateway, state, report, options, progress=progress)
        engines.append(engine)
        if on_engine:
            on_engine(engine)
        log.info("%s %s: %s into Gateway shop %s%s", connector.title, source_shop,
                 "planning an import (dry run)" if options.dry_run else "importing", target.shop_guid,
                 " (embedded sandbox)" if target.embedded else f" at {target.url}")
        try:
            engine.run()
        finally:
            report.finish()
            engine.images.close()
            report.state_calls = getattr(state, "round_trips", None)
            if not options.dry_run:
                state.record_run(started, "complete" if report.complete else "incomplete", report.as_record())
        if target.embedded:
            report.notes.append(f"Gateway: embedded sandbox (data in {state_dir})")
        rate = gateway.pacer.figures
        log.info("requests %d (retried %d, 429 answers %d); Gateway: %.1f requests/s, at most %d in flight, "
                 "%.1f s paused on overload answers", stats.total(), stats.retries, stats.throttled,
                 rate.achieved_rate(), rate.max_in_flight, rate.paused_seconds)
        return report


def pending_sales(location: StateLocation, scope: Scope) -> Callable[[str], bool]:
    """Gateway products with a stock event `serve` has stored but not yet applied to the shop."""
    from .stock.serve import open_queue

    queue = open_queue(location, scope)
    try:
        pending = frozenset(queue.pending_deltas())
    finally:
        queue.close()
    return pending.__contains__


def run_migrate_source(connector_cls: type[Connector], config: Resolved, old_shop: str) -> int:
    """Re-key the Gateway products of source shop `old_shop` to the connector's current identity
    (the shop's URL changed): one PUT per product, archived ones included. Returns how many moved.

    The next import then rebuilds its state from the Gateway and writes nothing new."""
    stats = CallStats()
    state_dir = config["state_dir"] or default_state_dir()
    connector = connector_cls(config.values, stats)
    moved = 0
    with ExitStack() as stack:
        stack.callback(connector.close)
        new_shop = clean_shop_identity(connector.shop)
        old_shop = old_shop.strip()
        if old_shop == new_shop:
            raise ConfigError(f"--from {old_shop}: that is the shop's current identity already")
        target = stack.enter_context(gateway_target(config, state_dir))
        gateway = GatewayClient(target.url, target.shop_guid, target.key, stats=stats,
                                per_second=config["rate_limit"] or None,
                                concurrency=max(1, config["concurrency"] or DEFAULT_CONCURRENCY))
        stack.callback(gateway.close)
        scope = Scope(connector.platform, new_shop, SANDBOX if target.embedded else target.url, target.shop_guid)
        location = StateLocation.parse(config.values.get("state_url"), state_dir)
        stack.enter_context(open_state(location, scope))  # holds the shop's lock while it moves products
        for view in list(gateway.products_of_source(connector.platform, old_shop)):
            body = rekeyed(view, new_shop)
            if body is None:
                continue
            if view.get("archived"):
                body["archived"] = True
            gateway.update_product(str(view["guid"]), body)
            moved += 1
        log.info("%d products moved from source shop %s to %s", moved, old_shop, new_shop)
    return moved

