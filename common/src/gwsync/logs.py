"""Logging for people (text) or machines (one JSON object per line), and what a run says.

In JSON mode every line a run prints is a JSON object: log lines, notes, skipped
and failed items, errors and the summary, each with an ISO 8601 UTC time, the
level, the run id, the platform and the shops, plus the event's own fields.
`--quiet` prints nothing on success, and the summary and errors on failure.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

import click
from pythonjsonlogger.json import JsonFormatter

from .redact import RedactingFilter, redact
from .report import Event, RunInfo

FORMATS = ("text", "json")
EVENTS = logging.getLogger("gwsync.run")
# LogRecord attributes an event field must not overwrite
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class RunContext(logging.Filter):
    """Adds the run's id, platform and shops to every record (JSON mode shows them)."""

    def __init__(self, run: RunInfo) -> None:
        super().__init__()
        self.run = run

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in self.run.context().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter("%(levelname)s %(name)s %(message)s", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"},
                         json_ensure_ascii=False)


def setup_logging(log_format: str, verbose: bool, quiet: bool = False, run: RunInfo | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if run is not None:
        handler.addFilter(RunContext(run))
    handler.setFormatter(json_formatter() if log_format == "json"
                         else logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO)
    # with -v, urllib3's retry warnings show every retried call; otherwise the outcome is reported
    logging.getLogger("urllib3").setLevel(logging.WARNING if verbose else logging.ERROR)


class Output:
    """Says a run's events: plain lines (stdout for the plan and summary) or JSON log records."""

    def __init__(self, log_format: str, quiet: bool = False) -> None:
        self.json = log_format == "json"
        self.quiet = quiet

    def say(self, event: Event) -> None:
        if self.json:
            fields = {("item_" + k if k in _RESERVED else k): v for k, v in event.fields.items()}
            EVENTS.log(logging.getLevelName(event.level.upper()), event.text,
                       extra={"event": event.kind, **fields})
        else:
            click.echo(event.text, err=not event.to_stdout)

    def error(self, message: str, **fields: Any) -> None:
        """The one line that says why a run or a command stopped."""
        self.say(Event("error", "error", f"error: {redact(message)}", fields))

    def first(self, message: str) -> None:
        """A line that must come before anything else (e.g. the dry run's embedded sandbox)."""
        if not self.quiet:
            self.say(Event("note", "warning", message))

    def finish(self, events: Iterable[Event], failed: bool, fail_on: Iterable[str] = ()) -> None:
        """Quiet: nothing on success; on failure the errors and the summary."""
        loud = {"failed", "read_error", "error", "summary", *(["skipped"] if "skipped" in fail_on else [])}
        for event in events:
            if not self.quiet or (failed and event.kind in loud):
                self.say(event)
