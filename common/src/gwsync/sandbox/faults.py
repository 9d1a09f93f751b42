"""Fault injection for the sandbox: latency, 429, 5xx, responses lost after commit, index lag,
a rate limit.

Counts ("the next N requests") are deterministic and preferred in tests;
rates draw from a seeded RNG so a run can be repeated. `fail_paths` (a
regular expression searched in the request path) narrows every fault to the
matching requests. Everything is guarded by one lock: the server is threaded.

`rate_limit` makes the sandbox behave like a Gateway with a request-rate limit
(B12): a token bucket of `rate_limit` requests per second holding at most
`rate_limit_burst` (default: one second's worth); a request finding it empty is
answered 429 with `Retry-After: retry_after`. Storage (`/storage/`, S3 in
production) is not the Gateway API and is never limited.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

DROP_MODES = ("reset", "504")
UNLIMITED_PREFIXES = ("/storage",)  # S3 in production: not under the Gateway's rate limit


@dataclass
class FaultSettings:
    latency: float = 0.0  # seconds added before each matching request
    error_rate: float = 0.0  # fraction answered `error_status` before doing anything
    fail_next: int = 0  # the next N matching requests answered `error_status`
    error_status: int = 500
    throttle_rate: float = 0.0  # fraction answered 429
    throttle_next: int = 0  # the next N matching requests answered 429
    retry_after: int = 1  # Retry-After seconds sent with a 429
    drop_rate: float = 0.0  # fraction of successful writes whose answer is lost after commit
    drop_next: int = 0  # the next N successful writes whose answer is lost
    drop_first: bool = False  # the first successful write of each route loses its answer
    drop_mode: str = "reset"  # "reset": the connection breaks; "504": a Gateway Timeout
    index_lag_ms: int = 0  # E4 sees a write only this many milliseconds after it committed (B16)
    fail_paths: str | None = None  # regex; when set, only matching paths get faults
    seed: int | None = None
    rate_limit: float = 0.0  # requests per second allowed (0: no limit); beyond it 429 + Retry-After
    rate_limit_burst: int = 0  # requests the bucket holds (0: one second's worth of `rate_limit`)


@dataclass
class RateLimitFigures:
    """What the rate limit let through and refused, for benchmarks (utilisation)."""

    admitted: int = 0
    refused: int = 0
    first: float | None = None
    last: float | None = None

    def achieved_rate(self) -> float:
        """Admitted requests per second between the first and the last one."""
        if self.first is None or self.last is None or self.last <= self.first:
            return 0.0
        return (self.admitted - 1) / (self.last - self.first)


@dataclass(frozen=True)
class Injection:
    """What to answer instead of serving a request."""

    kind: str  # "throttle" or "error"
    status: int
    headers: dict[str, str]


class Faults:
    """Thread-safe fault settings; change them with `configure` or POST /_sandbox/faults."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, **settings: Any) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._rng = random.Random()
        self._pattern: re.Pattern[str] | None = None
        self._dropped_routes: set[str] = set()
        self.clock = clock  # the index lag's and the rate limit's clock; tests share theirs
        self._tokens = 0.0
        self._filled_at = clock()
        self.rate_figures = RateLimitFigures()
        self.configure(**settings)

    def configure(self, **settings: Any) -> FaultSettings:
        """Replace every setting: anything not given goes back to its default."""
        new = FaultSettings(**_checked(settings))
        with self._lock:
            self._settings = new
            self._rng = random.Random(new.seed)
            self._pattern = re.compile(new.fail_paths) if new.fail_paths else None
            self._dropped_routes = set()
            self._tokens, self._filled_at = float(self._burst()), self.clock()  # a full bucket
            self.rate_figures = RateLimitFigures()
            return FaultSettings(**asdict(new))

    def update(self, **settings: Any) -> FaultSettings:
        """Change only the given settings."""
        with self._lock:
            current = asdict(self._settings)
        current.update(settings)
        return self.configure(**current)

    def reset(self) -> None:
        self.configure()

    def settings(self) -> FaultSettings:
        with self._lock:
            return FaultSettings(**asdict(self._settings))

    def _applies(self, path: str) -> bool:
        return self._pattern is None or bool(self._pattern.search(path))

    def latency_for(self, path: str) -> float:
        with self._lock:
            return self._settings.latency if self._applies(path) else 0.0

    def before_request(self, path: str) -> Injection | None:
        """A 429 or an error to answer before the request is served, or None."""
        with self._lock:
            s = self._settings
            if not self._applies(path):
                return None
            if self._take("throttle_next") or self._draw(s.throttle_rate) or not self._within_rate(path):
                return Injection("throttle", 429, {"Retry-After": str(s.retry_after)})
            if self._take("fail_next") or self._draw(s.error_rate):
                return Injection("error", s.error_status, {})
            return None

    def drop_after_commit(self, path: str, route: str = "") -> str | None:
        """The drop mode when this committed write's answer must be lost, else None."""
        with self._lock:
            if not self._applies(path):
                return None
            first = self._settings.drop_first and route not in self._dropped_routes
            if first:
                self._dropped_routes.add(route)
            if first or self._take("drop_next") or self._draw(self._settings.drop_rate):
                return self._settings.drop_mode
            return None

    def index_lag(self) -> float:
        """Seconds a write stays invisible to E4 (B16)."""
        with self._lock:
            return self._settings.index_lag_ms / 1000.0

    def _burst(self) -> int:
        s = self._settings
        return s.rate_limit_burst or max(1, round(s.rate_limit))

    def _within_rate(self, path: str) -> bool:
        """Take a token from the rate-limit bucket (True), or find it empty (False)."""
        s = self._settings
        if s.rate_limit <= 0 or path.startswith(UNLIMITED_PREFIXES):
            return True
        now = self.clock()
        self._tokens = min(self._burst(), self._tokens + (now - self._filled_at) * s.rate_limit)
        self._filled_at = now
        figures = self.rate_figures
        if self._tokens < 1:
            figures.refused += 1
            return False
        self._tokens -= 1
        figures.admitted += 1
        figures.first = now if figures.first is None else figures.first
        figures.last = now
        return True

    def _take(self, counter: str) -> bool:
        left = getattr(self._settings, counter)
        if left > 0:
            setattr(self._settings, counter, left - 1)
            return True
        return False

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate


def _checked(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate settings coming from a test or from JSON; ValueError names the bad one."""
    known = {f.name: f for f in fields(FaultSettings)}
    unknown = set(settings) - set(known)
    if unknown:
        raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
    for name in ("error_rate", "throttle_rate", "drop_rate"):
        value = settings.get(name, 0.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be a number from 0 to 1")
    for name in ("fail_next", "throttle_next", "drop_next", "retry_after", "index_lag_ms",
                 "rate_limit_burst"):
        value = settings.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
    rate = settings.get("rate_limit", 0.0)
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate < 0:
        raise ValueError("rate_limit must be a non-negative number of requests per second")
    if not isinstance(settings.get("drop_first", False), bool):
        raise ValueError("drop_first must be true or false")
    latency = settings.get("latency", 0.0)
    if not isinstance(latency, (int, float)) or isinstance(latency, bool) or latency < 0:
        raise ValueError("latency must be a non-negative number of seconds")
    status = settings.get("error_status", 500)
    if not isinstance(status, int) or not 500 <= status <= 599:
        raise ValueError("error_status must be a 5xx status")
    if settings.get("drop_mode", "reset") not in DROP_MODES:
        raise ValueError(f"drop_mode must be one of {', '.join(DROP_MODES)}")
    if settings.get("fail_paths"):
        try:
            re.compile(settings["fail_paths"])
        except re.error as exc:
            raise ValueError(f"fail_paths is not a regular expression: {exc}") from exc
    return settings
