"""`gateway-<platform> serve`: receive the Gateway's stock events and apply them to the shop.

The HTTP side only verifies and stores (answering 2xx once the event is durable); worker
threads apply stored events, one product at a time, in arrival order, retrying with
backoff and parking what can never apply. Served by waitress, a production WSGI server.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import SyncError
from ..redact import redact
from .apply import Resolver, StockWriter, TargetGone, apply_event
from .events import HEADER, Refused, parse, verify
from .queue import EventQueue, QueuedEvent

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
MAX_ATTEMPTS = 30
PATH_PREFIX = "/gateway/events/"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def backoff(attempts: int) -> float:
    return float(min(300, 2 ** min(attempts, 9)))


class StockService:
    def __init__(self, queue: EventQueue, shops: dict[str, bytes], resolve: Resolver, writer: StockWriter,
                 *, workers: int = 2, clock: Callable[[], float] = time.time) -> None:
        self.queue, self.shops, self.resolve, self.writer = queue, shops, resolve, writer
        self.clock = clock
        self.workers = workers
        self._wake = threading.Condition()
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.applied = 0

    # -- HTTP ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method == "GET":
            healthy = self._stop.is_set() or all(t.is_alive() for t in self._threads)
            return _json(start_response, 200 if healthy else 503,
                         {"status": "ok" if healthy else "workers stopped", **self.queue.counts()})
        if path.startswith(PATH_PREFIX) and method == "POST":
            return self._receive(path.removeprefix(PATH_PREFIX).strip("/"), environ, start_response)
        return _json(start_response, 404, {"error": "not found"})

    def _receive(self, guid: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = _body(environ)
            key = self.shops.get(guid)
            if key is None:
                raise Refused("not a shop this service serves")
            verify(environ.get("HTTP_" + HEADER.upper().replace("-", "_")), body, key, self.clock())
            event = parse(body)
            new = self.queue.add(event, guid, body)
        except Refused as refused:
            log.warning("event refused: %s", refused)
            return _json(start_response, refused.status, {"error": str(refused)})
        log.info("event %s stored (%s, delta %+d)", event.id, "new" if new else "duplicate", event.data.delta)
        if new:
            with self._wake:
                self._wake.notify()
        return _json(start_response, 200, {"status": "stored" if new else "duplicate"})

    # -- workers ---------------------------------------------------------------------------

    def start(self) -> None:
        recovered = self.queue.recover()
        if recovered:
            log.info("%d events were in flight at the last stop; checked before they apply", recovered)
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"gwsync-stock-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the events in flight; the rest stay queued for the next start."""
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        while not self._stop.is_set():
            if not self.work_once():
                with self._wake:
                    self._wake.wait(timeout=1.0)

    def work_once(self) -> bool:
        """Claim and apply one ready event; False when none is ready."""
        with self._busy_lock:
            event = self.queue.claim(self._busy, now=self.clock())
            if event is None:
                return False
            self._busy.add(event.product_guid)
        try:
            self._apply(event)
        finally:
            with self._busy_lock:
                self._busy.discard(event.product_guid)
        return True

    def _apply(self, event: QueuedEvent) -> None:
        target = self.resolve(event.product_guid)
        if target is None:
            self.queue.park(event.seq, "unknown Gateway product: not imported by this tool")
            log.warning("event %s parked: unknown Gateway product %s", event.id, event.product_guid)
            return
        try:
            outcome = apply_event(event, target, self.writer, self.queue)
        except TargetGone as gone:
            self.queue.park(event.seq, redact(str(gone)))
            log.warning("event %s parked: %s", event.id, redact(gone))
            return
        except Exception as exc:  # a platform hiccup: the event waits and tries again
            reason = redact(str(exc) if isinstance(exc, SyncError) else f"{type(exc).__name__}: {exc}")
            if event.attempts >= MAX_ATTEMPTS:
                self.queue.park(event.seq, f"gave up after {event.attempts} attempts: {reason}")
            else:
                self.queue.retry_later(event.seq, reason, self.clock() + backoff(event.attempts))
            log.warning("event %s not applied (attempt %d): %s", event.id, event.attempts, reason)
            return
        self.queue.applied(event.seq)
        self.applied += 1
        log.info("event %s applied to %s %s: %s", event.id, target.product_id, target.variant_id or "", outcome)


def _body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused("bad Content-Length", status=400) from None
    if length > MAX_BODY:
        raise Refused(f"body over {MAX_BODY} bytes", status=413)
    return environ["wsgi.input"].read(length) if length else b""


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 413: "Payload Too Large",
              503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
