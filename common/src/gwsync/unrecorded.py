"""What a run made and has not written to its state yet (hosted images, variant tags).

Entries are readable at once and written in bulk by `flush`. An entry leaves memory only
after its write has committed, so a lookup (memory first, then the state) never misses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Unrecorded(Generic[K, V]):
    """Thread-safe; `flush` writes everything put so far in one call of `write`."""

    def __init__(self) -> None:
        self._entries: dict[K, V] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()

    def put(self, key: K, value: V) -> int:
        """Keep an entry; returns how many wait to be written."""
        with self._lock:
            self._entries[key] = value
            return len(self._entries)

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._entries.get(key)

    def some(self, keys: Iterable[K]) -> dict[K, V]:
        with self._lock:
            return {key: self._entries[key] for key in keys if key in self._entries}

    def find(self, wanted: Callable[[V], bool]) -> tuple[K, V] | None:
        """The first entry whose value is wanted (entries are few: a flush empties them)."""
        with self._lock:
            return next(((key, value) for key, value in self._entries.items() if wanted(value)), None)

    def flush(self, write: Callable[[list[tuple[K, V]]], None]) -> None:
        with self._flushing:
            with self._lock:
                rows = list(self._entries.items())
            if not rows:
                return
            write(rows)
            with self._lock:
                for key, value in rows:
                    if self._entries.get(key) == value:  # not put again meanwhile
                        del self._entries[key]
