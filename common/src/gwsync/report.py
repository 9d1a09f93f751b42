"""What a run did: counts, every failed or skipped item with its reason, calls, time.

`Report` is filled by the engine. `RunInfo` is what the CLI knows about the run
around it (id, tool, times, shops); `report_document` joins the two into the JSON
report, and `events` lists what a run says to its operator, for the text and the
JSON renderers alike.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from .errors import EXIT_CANNOT_RUN, EXIT_ITEMS_FAILED, EXIT_OK
from .http import CallStats
from .plan import Action
from .plan_log import PlanEntries, PlanLog
from .redact import redact

COUNTERS = ("created", "updated", "unchanged", "archived", "skipped", "failed", "inactive", "deferred",
            "unimported")
# shown only when not zero: inactive items; for the stock pass, items left alone while a Gateway sale
# is on its way to the shop (deferred) and items the next import has yet to create (unimported)
QUIET_COUNTERS = frozenset({"inactive", "deferred", "unimported"})
RECORDED_PROBLEMS = 1000  # of each problem list, in the state's runs table


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
    plan: PlanLog = field(default_factory=PlanLog)  # gwsync.plan.Action; str() is its line
    notes: list[str] = field(default_factory=list)
    uncategorised: dict[str, int] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)
    read_error: str | None = None
    complete: bool = False
    seconds: float = 0.0
    state_calls: int | None = None  # queries and transactions the state store served (benchmarks)
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

    def planned(self, action: Action) -> None:
        self.plan.append(action)

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
        return self.exit_code_for()

    def exit_code_for(self, fail_on: Collection[str] = ()) -> int:
        """Failed writes are exit 1; items skipped for their data only with `--fail-on skipped`."""
        if self.read_error:
            return EXIT_CANNOT_RUN
        if self.counts["failed"] or ("skipped" in fail_on and self.counts["skipped"]):
            return EXIT_ITEMS_FAILED
        return EXIT_OK

    def summary_line(self) -> str:
        counts = ", ".join(f"{k} {self.counts[k]}" for k in COUNTERS if k not in QUIET_COUNTERS or self.counts[k])
        images = self.images.get("uploaded", 0) + self.images.get("copied", 0)
        calls = ", ".join(f"{host} {n}" for host, n in sorted(self.stats.per_host().items())) or "none"
        prefix = "dry run (nothing written): " if self.dry_run else ""
        return (f"{prefix}{counts}, images uploaded {images}; calls: {calls}; "
                f"{self.seconds:.1f} s")

    def as_dict(self) -> dict[str, Any]:
        return self._document(plan=True, limit=None)

    def as_record(self) -> dict[str, Any]:
        """What the state keeps of a run (`state show`): no plan (one line per write), and at most
        RECORDED_PROBLEMS entries of each problem list, with how many more there were; the
        `--report` file has it all."""
        return self._document(plan=False, limit=RECORDED_PROBLEMS)

    def _document(self, plan: bool, limit: int | None) -> dict[str, Any]:
        def listed(problems: list[Problem]) -> list[dict[str, str]]:
            return [p.as_dict() for p in problems[:limit]]

        left_out = {name: len(problems) - limit for name, problems in
                    (("failed", self.failures), ("skipped", self.skips), ("broken_images", self.image_problems))
                    if limit is not None and len(problems) > limit}
        return {
            "platform": self.platform,
            "dry_run": self.dry_run,
            "complete": self.complete,
            "read_error": redact(self.read_error) if self.read_error else None,
            "counts": dict(self.counts),
            "images": dict(self.images),
            "uncategorised": {"products": sum(self.uncategorised.values()),
                              "source_categories": dict(sorted(self.uncategorised.items()))},
            "failed": listed(self.failures),
            "skipped": listed(self.skips),
            "broken_images": listed(self.image_problems),
            **({"left_out": left_out} if left_out else {}),
            "notes": [redact(n) for n in self.notes],
            **({"plan": self.plan.entries()} if plan else {"planned": len(self.plan)}),
            "calls": {"per_host": self.stats.per_host(), "per_route": self.stats.per_route(),
                      "retries": self.stats.retries, "throttled": self.stats.throttled,
                      "gateway_rate": self.stats.rate_summary(), "state": self.state_calls},
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
        }


def utc_iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RunInfo:
    """The run as cron sees it; known before anything runs, filled in as the run goes."""

    tool: str
    version: str
    platform: str
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)
    finished: float | None = None
    source_shop: str | None = None
    gateway_shop: str | None = None
    gateway: str | None = None  # the Gateway's URL, or "sandbox" (the embedded one)

    def context(self) -> dict[str, str | None]:
        """Fields every structured log line carries."""
        return {"run_id": self.run_id, "platform": self.platform, "shop": self.source_shop,
                "gateway_shop": self.gateway_shop}


def report_document(run: RunInfo, report: Report | None, exit_code: int, error: str | None) -> dict[str, Any]:
    """The `--report` file: written for every run, also one that stopped before the sync began."""
    body = report.as_dict() if report is not None else {"counts": dict.fromkeys(COUNTERS, 0)}
    return {
        "tool": run.tool, "version": run.version, "run_id": run.run_id,
        "started": utc_iso(run.started), "finished": utc_iso(run.finished or time.time()),
        "platform": run.platform, "source_shop": run.source_shop, "gateway_shop": run.gateway_shop,
        "gateway": run.gateway,
        **body,
        "exit_code": exit_code, "error": redact(error) if error else None,
    }


def write_document(document: dict[str, Any], out: TextIO) -> None:
    """The report as indented JSON, its plan streamed entry by entry (never one list in memory)."""
    plain = {key: value for key, value in document.items() if not isinstance(value, PlanEntries)}
    lazy = [(key, value) for key, value in document.items() if isinstance(value, PlanEntries)]
    out.write(json.dumps(plain, indent=2, ensure_ascii=False).removesuffix("\n}").removesuffix("}"))
    separator = "," if plain else ""
    for key, entries in lazy:
        out.write(f"{separator}\n  {json.dumps(key)}: [")
        written = 0
        for entry in entries:
            out.write(("," if written else "") + "\n    " + json.dumps(entry, ensure_ascii=False, default=str))
            written += 1
        out.write("\n  ]" if written else "]")
        separator = ","
    out.write("\n}\n")


@dataclass(frozen=True)
class Event:
    """One thing to tell the operator: `kind` names it in JSON logs, `text` is the line for people."""

    kind: str  # plan, failed, skipped, image, note, uncategorised, read_error, error, check, summary
    level: str  # info, warning, error
    text: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def to_stdout(self) -> bool:
        return self.kind in ("plan", "check", "summary")


def events(report: Report) -> Iterator[Event]:
    """What a finished run says, in the order an operator reads it."""
    if report.dry_run:
        for action in report.plan:  # a line, or an action that renders as one (and has as_dict)
            fields = action.as_dict() if hasattr(action, "as_dict") else {}
            yield Event("plan", "info", redact(str(action)), fields)
    for kind, level, problems in (("failed", "error", report.failures), ("skipped", "warning", report.skips),
                                  ("image", "warning", report.image_problems)):
        for problem in problems:
            yield Event(kind, level, f"{kind:<7} {problem.identity}  {problem.name}: {redact(problem.reason)}",
                        problem.as_dict())
    if report.uncategorised:
        products = sum(report.uncategorised.values())
        yield Event("uncategorised", "info",
                    f"note: {products} products in {len(report.uncategorised)} source categories have no "
                    "Gateway category (`categories` prints a mapping to fill in; see GATEWAY_CATEGORY_MAP)",
                    {"products": products, "source_categories": len(report.uncategorised)})
    for note in report.notes:
        yield Event("note", "info", f"note: {redact(note)}")
    if report.read_error:
        yield Event("read_error", "error", f"error: {redact(report.read_error)}; nothing was archived")
    yield Event("summary", "info", report.summary_line(),
                {"counts": dict(report.counts), "images": dict(report.images), "seconds": round(report.seconds, 3),
                 "calls": report.stats.per_host()})
