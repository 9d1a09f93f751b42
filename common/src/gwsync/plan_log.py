"""A run's plan, one action per write, in bounded memory.

A first import plans an action for every item: 100,000 actions with their field changes are
tens of megabytes. The first IN_MEMORY stay objects (a dry run prints them, tests read them);
the rest go to an unnamed temporary file as JSON lines and are read back, in order, by whoever
iterates the plan: the dry run's output and the `--report` file, which streams them.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from .plan import Action, Kind

IN_MEMORY = 1000


@dataclass(frozen=True)
class SpilledAction:
    """An action read back from the spill file: the same line and fields as the `Action` it was."""

    line: str
    fields: dict[str, Any]

    @property
    def kind(self) -> Kind:
        return Kind(self.fields["action"])

    def __str__(self) -> str:
        return self.line

    def as_dict(self) -> dict[str, Any]:
        return self.fields


class PlanLog:
    """Thread-safe; iterating it (any number of times) yields every action in the order planned."""

    def __init__(self, in_memory: int = IN_MEMORY) -> None:
        self.in_memory = in_memory
        self._head: list[Action] = []
        self._spill: IO[str] | None = None
        self._count = 0
        self._lock = threading.Lock()

    def append(self, action: Action) -> None:
        with self._lock:
            self._count += 1
            if len(self._head) < self.in_memory:
                self._head.append(action)
                return
            if self._spill is None:
                self._spill = tempfile.TemporaryFile("w+b")  # noqa: SIM115 (closed by close())
            entry = json.dumps([str(action), action.as_dict()], ensure_ascii=False, default=str)
            self._spill.write(entry.encode() + b"\n")

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Action | SpilledAction]:
        yield from self._head[:]
        position = 0
        while True:
            batch, position = self._read_spill(position)
            if not batch:
                return
            for line, fields in batch:
                yield SpilledAction(line, fields)

    def _read_spill(self, position: int, lines: int = 500) -> tuple[list[Any], int]:
        """Up to `lines` spilled actions from `position`; appends go on at the end meanwhile."""
        with self._lock:
            if self._spill is None:
                return [], position
            self._spill.seek(position)
            raw = [line for line in (self._spill.readline() for _ in range(lines)) if line]
            position = self._spill.tell()
            self._spill.seek(0, 2)
        return [json.loads(line) for line in raw], position

    def entries(self) -> PlanEntries:
        return PlanEntries(self)

    def close(self) -> None:
        with self._lock:
            if self._spill is not None:
                self._spill.close()
                self._spill = None


class PlanEntries:
    """The plan as JSON-ready dicts, lazily: a report document holds this, not a list of them."""

    def __init__(self, log: PlanLog) -> None:
        self._log = log

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (action.as_dict() for action in self._log)

    def __len__(self) -> int:
        return len(self._log)
