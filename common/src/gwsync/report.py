"""What a run did: counts, every failed or skipped item with its reason, calls, time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import EXIT_CANNOT_RUN, EXIT_ITEMS_FAILED, EXIT_OK
from .http import CallStats
from .redact import redact

COUNTERS = ("created", "updated", "unchanged", "archived", "skipped", "failed", "inactive")


@dataclass
class Problem:
    identity: str
    name: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"item": self.identity, "name": self.name, "reason": redact(self.reason)}


@dataclass
class Report:
    platform: str
    stats: CallStats
    dry_run: bool = False
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    failures: list[Problem] = field(default_factory=list)
    skips: list[Problem] = field(default_factory=list)
    image_problems: list[Problem] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uncategorised: dict[str, int] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)
    read_error: str | None = None
    complete: bool = False
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def fail(self, identity: str, name: str, reason: str) -> None:
        with self._lock:
            self.counts["failed"] += 1
            self.failures.append(Problem(identity, name, reason))

    def skip(self, identity: str, name: str, reason: str) -> None:
        with self._lock:
            self.counts["skipped"] += 1
            self.skips.append(Problem(identity, name, reason))

    def broken_image(self, identity: str, name: str, reason: str) -> None:
        with self._lock:
            self.image_problems.append(Problem(identity, name, reason))

    def planned(self, line: str) -> None:
        with self._lock:
            self.plan.append(line)

    def uncategorised_path(self, path: str) -> None:
        with self._lock:
            self.uncategorised[path] = self.uncategorised.get(path, 0) + 1

    def finish(self) -> None:
        self.seconds = time.monotonic() - self.started

    @property
    def writes(self) -> int:
        return self.counts["created"] + self.counts["updated"] + self.counts["archived"]

    @property
    def exit_code(self) -> int:
        if self.read_error:
            return EXIT_CANNOT_RUN
        if self.counts["failed"] or self.counts["skipped"]:
            return EXIT_ITEMS_FAILED
        return EXIT_OK

    def summary_line(self) -> str:
        counts = ", ".join(f"{k} {self.counts[k]}" for k in COUNTERS if k != "inactive" or self.counts[k])
        images = self.images.get("uploaded", 0) + self.images.get("copied", 0)
        calls = ", ".join(f"{host} {n}" for host, n in sorted(self.stats.per_host().items())) or "none"
        prefix = "dry run (nothing written): " if self.dry_run else ""
        return (f"{prefix}{counts}, images uploaded {images}; calls: {calls}; "
                f"{self.seconds:.1f} s")

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "dry_run": self.dry_run,
            "complete": self.complete,
            "read_error": redact(self.read_error) if self.read_error else None,
            "counts": dict(self.counts),
            "images": dict(self.images),
            "uncategorised": {"products": sum(self.uncategorised.values()),
                              "source_categories": dict(sorted(self.uncategorised.items()))},
            "failed": [p.as_dict() for p in self.failures],
            "skipped": [p.as_dict() for p in self.skips],
            "broken_images": [p.as_dict() for p in self.image_problems],
            "notes": [redact(n) for n in self.notes],
            "calls": {"per_host": self.stats.per_host(), "per_route": self.stats.per_route(),
                      "retries": self.stats.retries, "throttled": self.stats.throttled},
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
        }
