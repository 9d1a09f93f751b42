"""What a connector's fake platform offers the standard suite, and a loopback server for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, Self

from werkzeug.serving import make_server


class FakePlatform(Protocol):
    """A local stand-in of a platform API, serving the platform's real shapes.

    Identities are `(product_id, variant_id)` as the connector puts them into
    `SourceId` (variant_id None for a product without variants).
    """

    def config(self) -> dict[str, str]:
        """Connector settings (by `Setting.key`) that point at this fake with valid credentials."""

    def bad_config(self) -> dict[str, str]:
        """The same settings with a credential the fake refuses."""

    def secrets(self) -> list[str]:
        """Secret values in `config()` that must never appear in output or state."""

    def seed(self, products: int) -> None:
        """A catalog of that many products: some with variants, some with images."""

    def expected_items(self) -> int:
        """How many Gateway products a full import of the current catalog must create."""

    def change_price(self) -> tuple[str, str | None]:
        """Change one sellable item's price; return its identity."""

    def change_stock(self) -> tuple[str, str | None]:
        """Change one sellable item's stock only; return its identity."""

    def add_product(self) -> str:
        """Add a product without variants; return its product id."""

    def remove_product(self) -> str:
        """Remove a product without variants from the shop; return its product id."""

    def stop(self) -> None:
        """Stop serving."""


# Each connector package exposes `start_fake(port: int = 0) -> FakePlatform` in its
# `fake` module: a seeded, running fake, used by the Docker smoke test (gwsync.testing.smoke).


class LoopbackServer:
    """Runs a WSGI app on 127.0.0.1 in a thread; optional latency per request."""

    def __init__(self, app: Any, latency: float = 0.0, port: int = 0) -> None:
        self.latency = latency
        self._app = app
        self._server = make_server("127.0.0.1", port, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _wsgi(self, environ: dict, start_response: Any) -> Any:
        if self.latency:
            time.sleep(self.latency)
        return self._app(environ, start_response)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class RunningFake:
    """`with SomeFake.running(...) as fake:` makes a fake, starts it, and stops it after the block;
    the arguments are the fake's own. A subclass provides `start()` (returning itself) and `stop()`."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @classmethod
    @contextmanager
    def running(cls, *args: Any, **kwargs: Any) -> Iterator[Self]:
        fake = cls(*args, **kwargs).start()
        try:
            yield fake
        finally:
            fake.stop()


class LoopbackFake(RunningFake):
    """A fake whose platform is one WSGI app (`backend`) on a loopback server; the port is bound
    when the fake is made, so `url` is known before it starts."""

    def __init__(self, backend: Any, latency: float = 0.0, port: int = 0) -> None:
        self.server = LoopbackServer(backend, latency, port)
        self.url = self.server.url

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()


@contextmanager
def serve(app: Any, latency: float = 0.0, port: int = 0) -> Iterator[LoopbackServer]:
    server = LoopbackServer(app, latency, port).start()
    try:
        yield server
    finally:
        server.stop()
