"""Adaptive request rate for the Gateway (gateway-api.md B12).

The Gateway publishes no limit; it says "too much" with 429 (Retry-After) or 503,
and both mean "not processed". One `AdaptiveRate` per run, shared by every thread
that calls the Gateway, does three things:

- caps the requests in flight (`GATEWAY_CONCURRENCY`, default 8);
- on an overload answer pauses every caller together until Retry-After has
  passed (one shared pause, not one per worker) and halves the request rate
  (multiplicative decrease);
- while answers are fine, lets the rate grow back answer by answer.

There is no rate at all until the first overload: a Gateway that never
complains is never slowed down. `ceiling` (`GATEWAY_RATE_LIMIT`) is an optional
hard limit that the rate never exceeds.

Growth follows CUBIC (RFC 9438), the curve the AWS SDKs' adaptive retry mode
uses: fast back towards the rate at which the last overload happened, flat near
it, then probing above it. A straight additive increase after a halving spends
half of every cycle well below the limit (about 75 % utilisation); the cubic
curve spends most of it near the limit while keeping overloads rare.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

OVERLOAD_STATUSES = frozenset({429, 503})
DEFAULT_CONCURRENCY = 8
BETA = 0.5  # B12: the rate is cut by half
CUBIC_C = 0.4  # RFC 9438's constant (rate units per second cubed)
MIN_RATE = 0.5  # never slower than one call every two seconds
MEASURE_WINDOW = 2.0  # seconds of sends behind the measured rate
DEFAULT_PAUSE = 1.0  # a 429/503 without Retry-After
MAX_PAUSE = 300.0


@dataclass
class RateFigures:
    """What the limiter saw, for reports and benchmarks."""

    overloads: int = 0
    cuts: int = 0
    paused_seconds: float = 0.0
    max_in_flight: int = 0
    sends: int = 0
    first_send: float | None = None
    last_send: float | None = None

    def achieved_rate(self) -> float:
        if self.first_send is None or self.last_send is None or self.last_send <= self.first_send:
            return 0.0
        return (self.sends - 1) / (self.last_send - self.first_send)


class AdaptiveRate:
    """Concurrency cap, shared pause and AIMD rate for one run's Gateway calls (thread-safe).

    Use `with limiter.slot():` around one request, and inside it `send()` before
    every attempt (the first one and each resend) and `answer(status, sent_at,
    retry_after)` after it.
    """

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY, ceiling: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if ceiling is not None and ceiling <= 0:
            raise ValueError("the rate ceiling must be positive")
        self.concurrency = concurrency
        self.ceiling = float(ceiling) if ceiling else None
        self._clock, self._sleep = clock, sleep
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self.rate: float | None = self.ceiling  # None: no pacing at all
        self._next_send = clock()
        self._paused_until = -math.inf
        self._last_cut = -math.inf  # answers to sends before this moment never cut again
        self._last_max = 0.0  # the rate at which the last overload happened (CUBIC's W_max)
        self._recent: deque[float] = deque()  # send times within MEASURE_WINDOW
        self._in_flight = 0
        self._local = threading.local()
        self.figures = RateFigures()

    # -- concurrency ------------------------------------------------------------------

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `concurrency` places for a request and all its resends."""
        self.take_slot()
        try:
            yield
        finally:
            self.release_slot()

    def take_slot(self) -> None:
        self._slots.acquire()
        with self._lock:
            self._in_flight += 1
            self.figures.max_in_flight = max(self.figures.max_in_flight, self._in_flight)

    def release_slot(self) -> None:
        with self._lock:
            self._in_flight -= 1
        self._slots.release()

    # -- pacing -------------------------------------------------------------------------

    def send(self) -> float:
        """Wait for the shared pause and for this call's turn; return the send time."""
        while True:
            with self._lock:
                now = self._clock()
                start = max(now, self._paused_until)
                if self.rate is not None:
                    start = max(start, self._next_send)
                    self._next_send = start + 1.0 / self.rate
                if start <= now:
                    return self._record_send(now)
                wait = start - now
            self._sleep(wait)
            with self._lock:
                # a pause that began while we slept holds us too; otherwise our turn has come
                if self._paused_until <= self._clock():
                    return self._record_send(self._clock())

    def last_sent(self) -> float:
        """When this thread last sent (the attempt whose answer is being fed back)."""
        return getattr(self._local, "sent_at", self._clock())

    def _record_send(self, now: float) -> float:
        self._local.sent_at = now
        self._recent.append(now)
        while self._recent and self._recent[0] < now - MEASURE_WINDOW:
            self._recent.popleft()
        f = self.figures
        f.sends += 1
        f.first_send = now if f.first_send is None else f.first_send
        f.last_send = now
        return now

    def measured_rate(self) -> float:
        """Sends per second over the last MEASURE_WINDOW seconds (what we really sent)."""
        with self._lock:
            return self._measured(self._clock())

    def _measured(self, now: float) -> float:
        recent = [t for t in self._recent if t >= now - MEASURE_WINDOW]
        if len(recent) < 2:
            return float(len(recent))
        span = max(now - recent[0], MEASURE_WINDOW / 4)
        return len(recent) / span

    # -- feedback -------------------------------------------------------------------------

    def answer(self, status: int | None, sent_at: float, retry_after: float | None = None) -> None:
        """Feed back one answer (`status` None: no answer at all, which changes nothing)."""
        if status in OVERLOAD_STATUSES:
            self.overloaded(sent_at, retry_after)
        elif status is not None and status < 500:
            self._grow()

    def overloaded(self, sent_at: float, retry_after: float | None) -> None:
        """A 429/503: everyone pauses; the rate halves once per overload, however many answers tell of it."""
        pause = DEFAULT_PAUSE if retry_after is None else min(max(retry_after, 0.0), MAX_PAUSE)
        with self._lock:
            now = self._clock()
            self.figures.overloads += 1
            until = now + pause
            if until > self._paused_until:
                self.figures.paused_seconds += until - max(now, self._paused_until)
                self._paused_until = until
            if sent_at < self._last_cut:
                return  # sent before the last cut: that cut already answered this overload
            sending = self._measured(now)
            base = min(self.rate, sending) if self.rate is not None else sending
            base = max(base, MIN_RATE / BETA)
            self._last_max = base
            self.rate = max(MIN_RATE, base * BETA)
            self._last_cut = until  # the cut counts from the end of the pause
            self._next_send = max(self._next_send, until)
            self.figures.cuts += 1
        log.debug("overload: pause %.1f s, sending %.1f/s, rate cut to %.1f/s", pause, sending, self.rate)

    def _grow(self) -> None:
        with self._lock:
            if self.rate is None:
                return
            now = self._clock()
            if now < self._last_cut:
                return
            elapsed = now - self._last_cut
            k = (self._last_max * (1 - BETA) / CUBIC_C) ** (1 / 3)
            target = self._last_max + CUBIC_C * (elapsed - k) ** 3
            rate = max(self.rate, target)
            self.rate = min(rate, self.ceiling) if self.ceiling else rate

    # -- for reports ----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def current_rate(self) -> float | None:
        """The rate in force (None: not limited), for the progress display."""
        with self._lock:
            return self.rate
