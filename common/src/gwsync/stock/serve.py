"""Wires `gateway-<platform> serve` together: config, the shop's state, the queue, waitress."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import astuple
from pathlib import Path

from ..config import SANDBOX, Resolved, default_state_dir
from ..connector import Connector
from ..errors import ConfigError
from ..gateway.auth import decode_signing_key, parse_shop_guid
from ..memory import return_large_buffers
from ..state import StateStore, clean_shop_identity, state_file
from ..state_pg import Scope
from ..stores import StateLocation, open_state
from .apply import StockTarget
from .queue import EventQueue
from .queue_pg import PgEventQueue
from .service import MAX_BODY, StockService

log = logging.getLogger(__name__)


def queue_path(state_dir: Path, platform: str, source_shop: str, gateway_url: str, shop_guid: str) -> Path:
    """One event queue per scope, beside the scope's state file."""
    path = state_file(state_dir, platform, source_shop, gateway_url, shop_guid)
    return path.with_name("events-" + path.name)


@contextmanager
def stock_service(connector_cls: type[Connector], config: Resolved, *, workers: int = 2) -> Iterator[StockService]:
    if config["gateway_url"] == SANDBOX:
        raise ConfigError("GATEWAY_URL: serve receives a real Gateway's events; set its URL "
                          "(the sandbox's URL when testing)")
    guid = parse_shop_guid(config["shop_guid"])
    key = decode_signing_key(config["signing_key"])
    state_dir = config["state_dir"] or default_state_dir()
    connector = connector_cls(config.values)
    try:
        writer = connector.stock_writer()  # may ask the shop whether the key can write (PrestaShop)
        if writer is None:
            why = f" ({connector_cls.no_stock_write})" if connector_cls.no_stock_write else ""
            raise ConfigError(f"{connector_cls.title} has no safe way to write stock{why}: serve is not "
                              "available for it (see its README)")
    except BaseException:
        connector.close()
        raise
    scope = Scope(connector.platform, clean_shop_identity(connector.shop), config["gateway_url"], guid)
    location = StateLocation.parse(config.values.get("state_url"), state_dir)
    with ExitStack() as stack:
        stack.callback(connector.close)
        state = stack.enter_context(open_state(location, scope, lock=False))  # import and stock keep the lock
        queue = open_queue(location, scope)
        stack.callback(queue.close)
        yield StockService(queue, {guid: key}, _resolver(state), writer, workers=workers)


def open_queue(location: StateLocation, scope: Scope) -> EventQueue | PgEventQueue:
    """The fleet's PostgreSQL when the state lives there, else a SQLite file beside the state."""
    if location.postgres_url:
        return PgEventQueue(location.postgres_url, scope)
    assert location.directory is not None
    return EventQueue(queue_path(location.directory, *astuple(scope)))


def _resolver(state: StateStore) -> Callable[[str], StockTarget | None]:
    def resolve(product_guid: str) -> StockTarget | None:
        item = state.item_by_guid(product_guid)
        if item is None:
            return None
        sku = (item.payload or {}).get("product", {}).get("sku")
        return StockTarget(item.product_id, item.variant_id, sku)
    return resolve


def serve_forever(service: StockService, host: str, port: int,
                  ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until SIGTERM or Ctrl+C; the event in flight finishes, the rest stay queued."""
    from waitress.server import create_server

    server = create_server(service, host=host, port=port, threads=4, max_request_body_size=MAX_BODY,
                           ident="gateway-sync", clear_untrusted_proxy_headers=True)
    stop = threading.Event()

    def on_sigterm(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            log.info("stopping: finishing the event in flight")
            # ends waitress's loop from inside, as Ctrl+C does; closing its socket from here instead
            # leaves the loop polling a closed descriptor while a keep-alive connection is open (EBADF)
            raise KeyboardInterrupt

    return_large_buffers()  # a long-lived process: large freed buffers go back to the system
    service.start()
    url = f"http://{host}:{server.effective_port}"
    log.info("serving stock events at %s/gateway/events/<shop guid>", url)
    ready(url)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(OSError):
            server.close()
        service.stop()
        log.info("stopped: %s", service.queue.counts())
