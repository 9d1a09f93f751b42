"""The live progress line on a terminal, drawn with rich (imported only when there is a terminal)."""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task
from rich.text import Text


def live_display(progress: Any, stream: IO[str], total: int | None) -> tuple[Progress, Any, list]:
    """Start the live line for `progress` (a RunProgress); log handlers on `stream` then write
    through rich's console, above the line. Returns the display, its task and the swapped handlers."""
    console = Console(file=stream, stderr=stream is sys.stderr)
    display = Progress(SpinnerColumn(), _LineColumn(progress), console=console, transient=False,
                       refresh_per_second=4, redirect_stdout=False, redirect_stderr=False)
    task = display.add_task("import", total=total)
    display.start()
    swapped: list[tuple[logging.StreamHandler, IO[str]]] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
            swapped.append((handler, handler.stream))
            handler.setStream(_ConsoleWriter(console))
    return display, task, swapped


class _LineColumn(ProgressColumn):
    def __init__(self, progress: Any) -> None:
        super().__init__()
        self.progress = progress

    def render(self, task: Task) -> Text:
        return Text(self.progress.line(), no_wrap=True, overflow="ellipsis")


class _ConsoleWriter:
    """A file-like object for logging that prints through a rich console (above a live display)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def write(self, text: str) -> int:
        if text.strip():
            self.console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        pass
