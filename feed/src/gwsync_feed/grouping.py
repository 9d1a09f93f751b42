"""Variant groups in bounded memory: entries are staged in a temporary SQLite file.

A group's members may be anywhere in the feed (feeds usually list them side by
side, but not always), and a one-pass read cannot know a group is complete before
the end of the feed. Holding the feed in memory would break the 1 GB case, and
reading it twice would download a remote feed twice. So entries that may belong
to a group are written to a private on-disk SQLite database (deleted when
closed; SQLite keeps only a small page cache in memory) and read back sorted by
group at the end. Memory is flat; disk use is about the size of the staged
entries. Only the members of one group are in memory at a time, at most
`MAX_VARIANTS` of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from .entries import Entry

MAX_VARIANTS = 1000  # more is a feed error, not a product: the group is skipped
_BATCH = 1000

# Scratch data: no journal, no fsync; a 1 MB page cache whatever the feed's size (the file is
# written once and read once in order: the OS cache serves it as well, and RSS stays lower).
_PRAGMAS = "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1024;"
_SCHEMA = """
CREATE TABLE staged (group_key TEXT NOT NULL, seq INTEGER NOT NULL, entry TEXT NOT NULL,
                     PRIMARY KEY (group_key, seq)) WITHOUT ROWID;
CREATE TABLE singles (item_id TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
"""


@dataclass
class Group:
    key: str
    entries: list[Entry] = field(default_factory=list)
    overflow: int = 0  # members beyond MAX_VARIANTS, not kept


class Staging:
    """Entries by group key, written in batches, read back one group at a time."""

    def __init__(self) -> None:
        # "" = a private temporary database on disk; the generator that owns it may be
        # resumed from another thread than the one that created it, never concurrently.
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.executescript(_PRAGMAS + _SCHEMA)
        self._pending: list[tuple[str, int, str]] = []
        self._seq = 0

    def add(self, key: str, entry: Entry) -> None:
        self._seq += 1
        self._pending.append((key, self._seq, entry.to_json()))
        if len(self._pending) >= _BATCH:
            self._flush()

    def first_position(self, item_id: str, position: int) -> int | None:
        """Record an ungrouped item id; if it was seen before, where it was first."""
        row = self._db.execute("SELECT position FROM singles WHERE item_id = ?", (item_id,)).fetchone()
        if row:
            return int(row[0])
        self._db.execute("INSERT INTO singles VALUES (?, ?)", (item_id, position))
        return None

    def is_single(self, item_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM singles WHERE item_id = ?", (item_id,)).fetchone() is not None

    def groups(self) -> Iterator[Group]:
        self._flush()
        group: Group | None = None
        rows = self._db.execute("SELECT group_key, entry FROM staged ORDER BY group_key, seq")
        for key, text in rows:
            if group is None or key != group.key:
                if group is not None:
                    yield group
                group = Group(key)
            if len(group.entries) < MAX_VARIANTS:
                group.entries.append(Entry.from_json(text))
            else:
                group.overflow += 1
        if group is not None:
            yield group

    def close(self) -> None:
        self._db.close()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany("INSERT INTO staged VALUES (?, ?, ?)", self._pending)
            self._pending.clear()
