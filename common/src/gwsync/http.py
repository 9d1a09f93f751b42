"""One way every connector and the Gateway client talk HTTP.

Pooled requests sessions with explicit timeouts; urllib3 `Retry` for calls that
are safe to repeat; a per-host token bucket for platforms, or an adaptive rate
(`gwsync.ratecontrol`) that every attempt, resends included, goes through; call
counters per host and route; errors turned into one readable, redacted line.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NameResolutionError
from urllib3.util.retry import Retry

from . import __version__
from .errors import HttpError, Unreachable
from .ratecontrol import OVERLOAD_STATUSES, AdaptiveRate, RateFigures
from .redact import redact

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read
# `check` lowers this to 1 so that a refused connection or an unknown host is reported at once
CONNECT_RETRIES = 5
_ID_SEGMENT = re.compile(r"^(\d+|[0-9a-f]{8}-[0-9a-f-]{27,}|[0-9a-f]{32,})$", re.I)


class RateLimiter:
    """Token bucket shared by every thread that calls one host.

    `hold()` lets a connector pause all callers when the platform's own limit
    headers say the bucket is nearly full, before any 429 happens.
    """

    def __init__(self, per_second: float, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = float(per_second)
        self.capacity = float(burst or max(1, int(per_second)))
        self._tokens = self.capacity
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._held_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # wall time during which at least one caller waited (not summed per thread)
        self._waiters = 0
        self._since = 0.0

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                wait = max(self._held_until - now, 0.0)
                if wait == 0.0 and self._tokens >= 1:
                    self._tokens -= 1
                    return
                if wait == 0.0:
                    wait = (1 - self._tokens) / self.rate
                self._waiting(+1, now)
            try:
                self._sleep(wait)
            finally:
                with self._lock:
                    self._waiting(-1, self._clock())

    def _waiting(self, delta: int, now: float) -> None:
        """Count waiters under the lock; time passes into `waited` only while one or more wait."""
        if self._waiters == 0 and delta > 0:
            self._since = now
        self._waiters += delta
        if self._waiters == 0:
            self.waited += now - self._since


@dataclass
class CallStats:
    """What went over the wire: requests per (host, route), retries, 429s."""

    calls: Counter = field(default_factory=Counter)
    retries: int = 0
    throttled: int = 0
    rate: RateFigures | None = None  # the Gateway's adaptive rate, when this run has one
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, host: str, route: str, attempts: int, throttled: int) -> None:
        with self._lock:
            self.calls[(host, route)] += attempts
            self.retries += attempts - 1
            self.throttled += throttled

    def per_host(self) -> dict[str, int]:
        hosts: Counter = Counter()
        for (host, _), count in self.calls.items():
            hosts[host] += count
        return dict(hosts)

    def total(self, host: str | None = None) -> int:
        return sum(c for (h, _), c in self.calls.items() if host in (None, h))

    def rate_summary(self) -> dict[str, float | int] | None:
        """The Gateway's adaptive rate as it ended: sends/s achieved, highest in flight, pauses."""
        f = self.rate
        if f is None:
            return None
        return {"achieved_per_second": round(f.achieved_rate(), 2), "max_in_flight": f.max_in_flight,
                "overloads": f.overloads, "rate_cuts": f.cuts, "paused_seconds": round(f.paused_seconds, 1)}

    def per_route(self) -> dict[str, int]:
        return {f"{host} {route}": count for (host, route), count in sorted(self.calls.items())}


def route_of(method: str, url: str) -> str:
    """`GET /api/products/12` -> `GET /api/products/{id}`: counters stay readable."""
    path = urlsplit(url).path
    parts = ["{id}" if _ID_SEGMENT.match(p) else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"


class PacedRetry(Retry):
    """urllib3's Retry whose resends take their turn in the run's `AdaptiveRate`.

    A 429/503 feeds the shared pause and the halving instead of a private sleep;
    other retryable failures back off as usual, then wait for their turn too, so
    no resend goes out unthrottled. With `resend_overload`, a 429/503 is resent
    whatever the method (B12: "not processed", creates included).
    """

    pacer: AdaptiveRate | None = None
    resend_overload: bool = False

    def new(self, **kw: Any) -> PacedRetry:
        retry = super().new(**kw)
        retry.pacer, retry.resend_overload = self.pacer, self.resend_overload
        return retry

    def increment(self, method: str | None = None, url: str | None = None, *args: Any,
                  error: Exception | None = None, **kwargs: Any) -> Retry:
        # A host name that does not resolve will not resolve a second later: say so at once
        # (an unknown host is a setting to fix, reported within a second, not after backoffs).
        if isinstance(error, NameResolutionError):
            raise MaxRetryError(kwargs.get("_pool"), url or "", error) from error
        return super().increment(method, url, *args, error=error, **kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if self.resend_overload and status_code in OVERLOAD_STATUSES and self.status != 0:
            return True
        return super().is_retry(method, status_code, has_retry_after)

    def sleep(self, response: Any = None) -> None:
        if self.pacer is None:
            super().sleep(response)
            return
        status = getattr(response, "status", None)
        if status in OVERLOAD_STATUSES:
            after = self.get_retry_after(response) if response is not None else None
            self.pacer.overloaded(self.pacer.last_sent(), after if after is not None
                                  else max(self.get_backoff_time(), 1.0))
        else:
            self._sleep_backoff()
        self.pacer.send()


def make_retry(methods: Iterable[str], total: int = 5, retry_after_max: int = 300, *,
               pacer: AdaptiveRate | None = None, resend_overload: bool = False,
               overload_only: bool = False) -> Retry:
    """Every knob set. `overload_only`: nothing is retried but a 429/503 (which was not processed)."""
    failures = 0 if overload_only else total
    retry = PacedRetry(
        total=total,
        connect=min(failures, CONNECT_RETRIES),
        read=failures,
        status=total,
        other=0,
        allowed_methods=frozenset(methods),
        status_forcelist=OVERLOAD_STATUSES if overload_only else RETRY_STATUSES,
        backoff_factor=0.5,
        backoff_jitter=0.3,
        backoff_max=30,
        respect_retry_after_header=True,
        retry_after_max=retry_after_max,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    retry.pacer, retry.resend_overload = pacer, resend_overload
    return retry


def _session(retry: Retry, pool: int, headers: dict[str, str], auth: Any) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(headers)
    session.auth = auth
    return session


class HttpClient:
    """A pooled HTTP client for one service (a platform or the Gateway).

    `request(..., idempotent=True)` marks a POST that only reads (a search): it
    may be retried. Any other POST is sent exactly once; what to do after an
    ambiguous failure is the caller's decision.
    """

    def __init__(self, base_url: str, *, service: str, stats: CallStats | None = None,
                 auth: Any = None, headers: dict[str, str] | None = None,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 limiter: RateLimiter | None = None, retries: int = 5,
                 retry_after_max: int = 300, pool: int = 8,
                 on_response: Callable[[requests.Response], None] | None = None,
                 pacer: AdaptiveRate | None = None, resend_overload: bool = False) -> None:
        """`pacer`: every attempt (resends too) waits for this adaptive rate and holds one of
        its slots. `resend_overload`: a 429/503 means "not processed" (B12), so it is resent
        whatever the method, a create included."""
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.service = service
        self.stats = stats or CallStats()
        self.timeout = timeout
        self.limiter = limiter
        self.pacer = pacer
        self.on_response = on_response
        all_headers = {"User-Agent": f"gateway-sync/{__version__} {service}", **(headers or {})}
        paced = {"pacer": pacer, "resend_overload": resend_overload}
        self._safe = _session(make_retry(SAFE_METHODS, retries, retry_after_max, **paced),
                              pool, all_headers, auth)
        self._read_post = _session(make_retry(SAFE_METHODS | {"POST"}, retries, retry_after_max, **paced),
                                   pool, all_headers, auth)
        once = (make_retry(SAFE_METHODS, retries, retry_after_max, overload_only=True, **paced)
                if resend_overload else make_retry(SAFE_METHODS, 0))  # total=0: never again
        self._once = _session(once, pool, all_headers, auth)

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._safe.headers)

    def set_header(self, name: str, value: str) -> None:
        for session in (self._safe, self._read_post, self._once):
            session.headers[name] = value

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def request(self, method: str, path: str, *, idempotent: bool | None = None, retry: bool = True,
                timeout: tuple[float, float] | None = None, **kwargs: Any) -> requests.Response:
        """One call. `retry=False` sends it once whatever the method (a first probe whose
        failure should be reported at once rather than after minutes of backoff)."""
        method = method.upper()
        url = self.url(path)
        if idempotent is None:
            idempotent = method in SAFE_METHODS
        if not retry:
            session = self._once
        elif method in SAFE_METHODS:
            session = self._safe
        else:
            session = self._read_post if idempotent else self._once
        if self.limiter:
            self.limiter.acquire()
        host = urlsplit(url).netloc.rpartition("@")[2]  # counters and reports never show user info
        response = self._send(session, method, url, timeout or self.timeout, host, **kwargs)
        attempts, throttled = _attempts(response)
        self.stats.record(host, route_of(method, url), attempts, throttled)
        if self.on_response:
            self.on_response(response)
        return response

    def _send(self, session: requests.Session, method: str, url: str, timeout: tuple[float, float],
              host: str, **kwargs: Any) -> requests.Response:
        """The request with its resends, holding a place of the pacer until the answer is in
        (for a streamed answer, until the caller closes it: the body is part of the transfer)."""
        pacer = self.pacer
        if pacer is None:
            return self._unpaced(session, method, url, timeout, host, **kwargs)
        pacer.take_slot()
        try:
            pacer.send()
            response = self._unpaced(session, method, url, timeout, host, **kwargs)
            pacer.answer(response.status_code, pacer.last_sent(), wait_seconds(response, default=1.0))
        except BaseException:
            pacer.release_slot()
            raise
        if kwargs.get("stream"):
            _release_on_close(response, pacer.release_slot)
        else:
            pacer.release_slot()
        return response

    def _unpaced(self, session: requests.Session, method: str, url: str, timeout: tuple[float, float],
                 host: str, **kwargs: Any) -> requests.Response:
        try:
            return session.request(method, url, timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            self.stats.record(host, route_of(method, url), 1, 0)
            raise Unreachable(f"{self.service}: {method} {redact(_without_userinfo(url))} failed: "
                              f"{_reason(exc)}") from None

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        for session in (self._safe, self._read_post, self._once):
            session.close()


def _release_on_close(response: requests.Response, release: Callable[[], None]) -> None:
    """Call `release` once, when the streamed response is closed (`with response:` does)."""
    close = response.close
    held = [release]

    def close_and_release() -> None:
        try:
            close()
        finally:
            with contextlib.suppress(IndexError):  # list.pop is atomic: a second close releases nothing
                held.pop()()

    response.close = close_and_release  # type: ignore[method-assign]


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _attempts(response: requests.Response) -> tuple[int, int]:
    retries = getattr(response.raw, "retries", None)
    history = retries.history if retries is not None else ()
    throttled = sum(1 for h in history if h.status == 429) + (response.status_code == 429)
    return 1 + len(history), throttled


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker, reason in (("Name or service not known", "host not found (check the URL)"),
                           ("nodename nor servname", "host not found (check the URL)"),
                           ("Connection refused", "connection refused"),
                           ("timed out", "timed out"), ("Read timed out", "timed out"),
                           ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted")):
        if marker in text:
            return reason
    return redact(type(exc).__name__ + ": " + text)[:300]


def excerpt(response: requests.Response, limit: int = 300) -> str:
    """A short, redacted piece of a body, for messages and reports."""
    try:
        text = response.text
    except Exception:  # a body that cannot be decoded is not worth a traceback
        return ""
    return redact(" ".join(text.split()))[:limit]


def http_error(response: requests.Response, what: str) -> HttpError:
    request_id = (response.headers.get("X-Request-Id") or response.headers.get("X-Amzn-RequestId"))
    message = f"{what}: HTTP {response.status_code}"
    body = excerpt(response)
    if body:
        message += f": {body}"
    if request_id:
        message += f" (request id {request_id})"
    return HttpError(message, status=response.status_code, body=body, request_id=request_id)


def looks_like_firewall(response: requests.Response) -> bool:
    """An HTML 403 page usually comes from a WAF or hosting firewall, not the API."""
    content_type = response.headers.get("Content-Type", "")
    return response.status_code == 403 and "html" in content_type.lower()


def wait_seconds(response: requests.Response, default: float = 1.0, cap: float = 300.0) -> float:
    value = response.headers.get("Retry-After")
    try:
        return min(max(float(value), 0.0), cap) if value else default
    except ValueError:
        return default

