"""Running the sandbox: a threaded werkzeug server in the foreground or in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .context import EXTENSION
from .faults import Faults
from .store import Store

Shops = Mapping[str, str] | Iterable[tuple[str, str]]


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request (benchmarks make thousands)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def open_store(store: str | Path | Store) -> tuple[Store, bool]:
    """A Store and whether we opened it (and so must close it)."""
    if isinstance(store, Store):
        return store, False
    path = Path(store)
    if str(store) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    return Store(path if str(store) != ":memory:" else ":memory:"), True


def add_shops(store: Store, shops: Shops | None) -> None:
    pairs = shops.items() if isinstance(shops, Mapping) else (shops or ())
    for guid, key_b64 in pairs:
        store.add_shop(guid, key_b64)


class InFlight:
    """WSGI middleware counting the requests being served: a test that kills a client can wait
    for what that client left in flight to finish, as a real Gateway finishes it after the crash."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._busy = 0
        self._idle = threading.Condition()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with self._idle:
            self._busy += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)


def build_server(store: Store, host: str, port: int, *, faults: Faults | None = None,
                 base_url: str | None = None, log_requests: bool = False) -> tuple[BaseWSGIServer, Flask, str]:
    """The app behind a threaded server; hosted URLs use the server's own URL by default."""
    app = create_app(store, faults=faults)
    handler = WSGIRequestHandler if log_requests else QuietRequestHandler
    server = make_server(host, port, InFlight(app), threaded=True, request_handler=handler)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{server.server_port}"
    app.extensions[EXTENSION].base_url = (base_url or url).rstrip("/")
    return server, app, url


class SandboxServer:
    """A sandbox serving on 127.0.0.1 in a daemon thread: `.url`, `.store`, `.faults`, `.stop()`."""

    def __init__(self, store: str | Path | Store, port: int = 0, shops: Shops | None = None, *,
                 host: str = "127.0.0.1", faults: Faults | None = None, base_url: str | None = None) -> None:
        self.store, self._owns_store = open_store(store)
        add_shops(self.store, shops)
        self.faults = faults or Faults()
        self._server, self.app, self.url = build_server(
            self.store, host, port, faults=self.faults, base_url=base_url)
        # A short poll interval makes stop() quick (tests start many servers).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="gateway-sandbox", daemon=True)
        self._thread.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no request is being served (False if some still are after `timeout`)."""
        wsgi = self._server.app
        return wsgi.wait_idle(timeout) if isinstance(wsgi, InFlight) else True

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(store_path: str | Path | Store, port: int = 0, shops: Shops | None = None, *,
                    host: str = "127.0.0.1", faults: Faults | None = None,
                    base_url: str | None = None) -> SandboxServer:
    """Start a sandbox for tests or embedded use; call `.stop()` (or use it as a context manager)."""
    return SandboxServer(store_path, port, shops, host=host, faults=faults, base_url=base_url)
