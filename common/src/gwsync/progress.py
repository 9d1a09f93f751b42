"""The progress of one import: a live line on a terminal (rich), log lines anywhere else.

On a terminal: stage (reading, images, writing, archiving), items done (of the total
when known), items per second, the Gateway's request rate (sent now, and the adaptive
limit in force) and the 429s so far. Log lines are printed above the live line, never
glued onto it: while it runs, the logging handlers write through rich's console.
Off a terminal there is no live line, only a progress log line every `every` seconds.
rich (about 3 MB of RSS) is imported only for the live line (`gwsync.progress_live`).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from .report import Report

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger("gwsync.progress")

DONE = ("created", "updated", "unchanged", "skipped", "failed")


def stage_of(report: Report, images: Any) -> str:
    """What the run is busy with, from what it has done so far (the stages overlap: a pipeline)."""
    if report.counts["archived"]:
        return "archiving"
    if report.counts["created"] or report.counts["updated"]:
        return "writing"
    if images is not None and (images.fetched or images.uploaded or images.copied):
        return "images"
    return "reading"


class RunProgress:
    """Pass as `progress=` to the run and call `attach(engine)` once the engine exists."""

    def __init__(self, stream: IO[str] | None = None, every: float = 10.0,
                 total: int | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every, self.total = every, total
        self.engine: Any = None
        self.report: Report | None = None
        self.started = time.monotonic()
        self._last_log = self.started
        self._lock = threading.Lock()
        self._display: Progress | None = None
        self._task: Any = None
        self._swapped: list[tuple[logging.StreamHandler, IO[str]]] = []

    # -- hooks for the run ----------------------------------------------------------------

    def attach(self, engine: Any) -> None:
        """Read the engine's live figures (report, images, Gateway rate) from now on."""
        self.engine, self.report = engine, engine.report
        if self.tty and self._display is None:
            self._start()

    def __call__(self, report: Report) -> None:
        """The engine's per-item callback."""
        self.report = report
        if self._display is not None:
            self._display.update(self._task, completed=self.items_done())
            return
        now = time.monotonic()
        with self._lock:
            if now - self._last_log < self.every:
                return
            self._last_log = now
        log.info("%s", self.line())

    def done(self) -> None:
        """The run is over: the live line stays as the last state; logging writes to its stream again."""
        if self._display is not None:
            self._display.update(self._task, completed=self.items_done())
            self._display.stop()
            self._display = None
            for handler, stream in self._swapped:
                handler.setStream(stream)
            self._swapped.clear()

    # -- figures --------------------------------------------------------------------------

    def items_done(self) -> int:
        return sum(self.report.counts[k] for k in DONE) if self.report is not None else 0

    def figures(self) -> dict[str, Any]:
        engine = self.engine
        images = getattr(getattr(engine, "images", None), "counts", None)
        gateway = getattr(engine, "gateway", None)
        pacer = getattr(gateway, "pacer", None)
        stats = getattr(getattr(gateway, "http", None), "stats", None)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = self.items_done()
        return {
            "stage": stage_of(self.report, images) if self.report is not None else "reading",
            "done": done, "total": self.total, "per_second": done / elapsed,
            "images": (images.uploaded + images.copied) if images is not None else 0,
            "sending": pacer.measured_rate() if pacer is not None else None,
            "limit": pacer.current_rate() if pacer is not None else None,
            "throttled": stats.throttled if stats is not None else 0,
        }

    def line(self) -> str:
        f = self.figures()
        done = f"{f['done']:,}" + (f" of {f['total']:,}" if f["total"] else "")
        rate = ""
        if f["sending"] is not None:
            limit = "none" if f["limit"] is None else f"{f['limit']:.1f}/s"
            rate = f"; Gateway {f['sending']:.0f} req/s (limit {limit})"
        return (f"{f['stage']}: {done} items, {f['per_second']:.1f} items/s, {f['images']:,} images"
                f"{rate}; 429s {f['throttled']}")

    # -- the live line ----------------------------------------------------------------------

    def _start(self) -> None:
        from .progress_live import live_display  # rich only when there is a terminal to draw on

        self._display, self._task, self._swapped = live_display(self, self.stream, self.total)
