"""`check`: the platform side and the Gateway side, each on its own.

One side failing never hides the other: both are tried, each gives one line, and
the exit code is the worst of the two. Connection errors are retried at most once
so that a refused connection or an unknown host is reported within seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import http
from .config import Resolved, default_state_dir
from .connector import Connector
from .errors import EXIT_CANNOT_RUN, EXIT_OK, SyncError
from .gateway.client import GatewayClient
from .http import CallStats
from .redact import redact


@dataclass(frozen=True)
class SideResult:
    side: str  # the platform's title, or "Gateway"
    line: str
    exit_code: int = EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK


@contextmanager
def fail_fast(connect_retries: int = 1) -> Iterator[None]:
    """HTTP clients made inside retry a failed connection at most `connect_retries` times."""
    before = http.CONNECT_RETRIES
    http.CONNECT_RETRIES = connect_retries
    try:
        yield
    finally:
        http.CONNECT_RETRIES = before


def check_both(connector_cls: type[Connector], config: Resolved) -> list[SideResult]:
    with fail_fast():
        return [_platform_side(connector_cls, config), _gateway_side(config)]


def _platform_side(connector_cls: type[Connector], config: Resolved) -> SideResult:
    try:
        connector = connector_cls(config.values, CallStats())
        try:
            return SideResult(connector_cls.title, f"{connector_cls.title}: {connector.check()}")
        finally:
            connector.close()
    except SyncError as exc:
        # the platform's own messages name it (or its setting) already
        return SideResult(connector_cls.title, redact(exc), exc.exit_code)
    except Exception as exc:  # one clean line, never a traceback
        return SideResult(connector_cls.title, f"{connector_cls.title}: internal error "
                          f"({type(exc).__name__}: {redact(exc)})", EXIT_CANNOT_RUN)


def _gateway_side(config: Resolved) -> SideResult:
    from .runner import gateway_target  # the runner imports the engine; only `check` needs it here

    state_dir = config["state_dir"] or default_state_dir()
    try:
        with gateway_target(config, state_dir) as target:
            gateway = GatewayClient(target.url, target.shop_guid, target.key, stats=CallStats())
            try:
                count = gateway.count_products()
            finally:
                gateway.close()
            where = "embedded sandbox" if target.embedded else target.url
            return SideResult("Gateway", f"Gateway {where}: shop {target.shop_guid}, {count} live products")
    except SyncError as exc:
        message = redact(exc)
        prefixed = message.lower().startswith("gateway")
        return SideResult("Gateway", message if prefixed else f"Gateway: {message}", exc.exit_code)
    except Exception as exc:
        return SideResult("Gateway", f"Gateway: internal error ({type(exc).__name__}: {redact(exc)})",
                          EXIT_CANNOT_RUN)
