"""The run's progress: a live rich line on a terminal with log lines above it, log lines elsewhere."""

from __future__ import annotations

import io
import logging
import re
from types import SimpleNamespace

import pytest
from gwsync.http import CallStats
from gwsync.images import ImageCounts
from gwsync.progress import RunProgress, stage_of
from gwsync.ratecontrol import AdaptiveRate
from gwsync.report import Report

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def screen_lines(output: str) -> list[str]:
    """What a terminal shows: a carriage return goes back to the start of the line and the
    next text overwrites it (rich also erases the line there)."""
    return [ANSI.sub("", line.rsplit("\r", 1)[-1]).rstrip() for line in output.split("\n")]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def engine() -> SimpleNamespace:
    stats = CallStats()
    stats.throttled = 3
    return SimpleNamespace(report=Report("listing", stats), images=SimpleNamespace(counts=ImageCounts()),
                           gateway=SimpleNamespace(pacer=AdaptiveRate(), http=SimpleNamespace(stats=stats)))


@pytest.fixture
def root_handler():
    """A root log handler writing to a given stream, restored afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level

    def install(stream) -> logging.StreamHandler:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        return handler

    yield install
    root.handlers[:] = saved
    root.setLevel(level)


def test_the_stage_follows_what_the_run_has_done():
    e = engine()
    assert stage_of(e.report, e.images.counts) == "reading"
    e.images.counts.fetched = 1
    assert stage_of(e.report, e.images.counts) == "images"
    e.report.count("created")
    assert stage_of(e.report, e.images.counts) == "writing"
    e.report.count("archived")
    assert stage_of(e.report, e.images.counts) == "archiving"


def test_the_line_shows_items_rate_and_429s():
    e = engine()
    progress = RunProgress(stream=io.StringIO(), total=10)
    progress.attach(e)
    e.report.count("created", 4)
    e.images.counts.uploaded = 2
    line = progress.line()
    assert line.startswith("writing: 4 of 10 items") and "2 images" in line
    assert "limit none" in line and line.endswith("429s 3")


def test_off_a_terminal_there_is_no_live_line_only_log_lines(root_handler):
    stream = io.StringIO()
    root_handler(stream)
    e = engine()
    progress = RunProgress(stream=stream, every=0.0)
    progress.attach(e)
    e.report.count("unchanged", 2)
    progress(e.report)
    progress.done()
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()
    assert stream.getvalue().startswith("INFO reading: 2 items, ")


def test_on_a_terminal_log_lines_are_never_glued_to_the_live_line(root_handler):
    terminal = Terminal()
    handler = root_handler(terminal)
    e = engine()
    progress = RunProgress(stream=terminal)
    progress.attach(e)
    e.report.count("created", 5)
    progress(e.report)
    logging.getLogger("gwsync.test").warning("a log line while the display runs")
    progress.done()
    lines = screen_lines(terminal.getvalue())
    assert "WARNING a log line while the display runs" in lines  # a line of its own
    assert any("writing: 5 items" in line for line in lines)
    assert handler.stream is terminal  # logging writes straight to the terminal again
