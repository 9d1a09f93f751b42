"""The local state store: what we wrote where, so that re-runs write only real changes.

SQLite (WAL) behind a small interface (`StateStore`), one file per Gateway shop
and source, with an exclusive per-shop lock. The Gateway stays the truth: this
store can be rebuilt from it (see `gwsync.sync`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from .errors import ConfigError, LockHeld

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    identity TEXT PRIMARY KEY, product_id TEXT NOT NULL, variant_id TEXT,
    guid TEXT, hash TEXT, payload TEXT, archived INTEGER NOT NULL DEFAULT 0, updated REAL);
CREATE INDEX IF NOT EXISTS items_product ON items(product_id);
CREATE INDEX IF NOT EXISTS items_guid ON items(guid);
CREATE TABLE IF NOT EXISTS intents (identity TEXT PRIMARY KEY, product_id TEXT NOT NULL, created REAL);
CREATE TABLE IF NOT EXISTS image_keys (cache_key TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS image_blobs (sha256 TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS variant_tags (group_key TEXT PRIMARY KEY, guid TEXT NOT NULL, name TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started REAL, finished REAL,
    status TEXT, summary TEXT);
"""


@dataclass(frozen=True)
class ItemState:
    identity: str
    product_id: str
    variant_id: str | None
    guid: str | None
    hash: str | None
    payload: dict | None
    archived: bool


class StateStore(Protocol):
    """What the engine needs from a store; a PostgreSQL one can implement the same."""

    def item(self, identity: str) -> ItemState | None: ...
    def items_of_product(self, product_id: str) -> list[ItemState]: ...
    def item_by_guid(self, guid: str) -> ItemState | None: ...
    def live_items(self) -> Iterator[ItemState]: ...
    def product_ids(self) -> frozenset[str]: ...
    def save_item(self, identity: str, product_id: str, variant_id: str | None, guid: str,
                  payload: dict | None, hash_: str | None, archived: bool = False) -> None: ...
    def set_archived(self, identity: str, archived: bool) -> None: ...
    def add_intents(self, entries: Iterable[tuple[str, str]]) -> None: ...
    def clear_intents(self, identities: Iterable[str]) -> None: ...
    def intents(self) -> list[tuple[str, str]]: ...
    def image_by_key(self, cache_key: str) -> str | None: ...
    def image_by_hash(self, sha256: str) -> str | None: ...
    def save_blob(self, sha256: str, url: str) -> None: ...
    def save_image(self, cache_key: str, url: str, sha256: str | None = None) -> None: ...
    def variant_tag(self, group_key: str) -> str | None: ...
    def save_variant_tag(self, group_key: str, guid: str, name: str) -> None: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def record_run(self, started: float, status: str, summary: dict) -> None: ...
    def close(self) -> None: ...


class SqliteState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"GATEWAY_SYNC_STATE_DIR: cannot open the state file {path}: {exc}") from None
        os.chmod(path, 0o600)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- items --------------------------------------------------------------------

    def item(self, identity: str) -> ItemState | None:
        rows = self._rows("SELECT * FROM items WHERE identity = ?", (identity,))
        return _item(rows[0]) if rows else None

    def items_of_product(self, product_id: str) -> list[ItemState]:
        return [_item(r) for r in self._rows("SELECT * FROM items WHERE product_id = ?", (product_id,))]

    def item_by_guid(self, guid: str) -> ItemState | None:
        """The source item behind a Gateway product (step 2: where a Gateway sale goes)."""
        rows = self._rows("SELECT * FROM items WHERE guid = ?", (guid,))
        return _item(rows[0]) if rows else None

    def live_items(self) -> Iterator[ItemState]:
        rows = self._rows("SELECT identity, product_id, variant_id, guid, hash, NULL, archived, updated "
                          "FROM items WHERE archived = 0 AND guid IS NOT NULL")
        return (_item(r) for r in rows)

    def product_ids(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._rows("SELECT DISTINCT product_id FROM items"))

    def save_item(self, identity: str, product_id: str, variant_id: str | None, guid: str,
                  payload: dict | None, hash_: str | None, archived: bool = False) -> None:
        text = json.dumps(payload, ensure_ascii=False) if payload is not None else None
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO items VALUES (?,?,?,?,?,?,?,?)",
                       (identity, product_id, variant_id, guid, hash_, text, int(archived), time.time()))
            db.execute("DELETE FROM intents WHERE identity = ?", (identity,))

    def set_archived(self, identity: str, archived: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE items SET archived = ?, updated = ? WHERE identity = ?",
                       (int(archived), time.time(), identity))

    # -- create intents -----------------------------------------------------------------

    def add_intents(self, entries: Iterable[tuple[str, str]]) -> None:
        now = time.time()
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO intents VALUES (?,?,?)",
                           [(identity, product_id, now) for identity, product_id in entries])

    def clear_intents(self, identities: Iterable[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM intents WHERE identity = ?", [(i,) for i in identities])

    def intents(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._rows("SELECT identity, product_id FROM intents")]

    # -- images, tags, meta ---------------------------------------------------------------

    def image_by_key(self, cache_key: str) -> str | None:
        rows = self._rows("SELECT url FROM image_keys WHERE cache_key = ?", (cache_key,))
        return rows[0][0] if rows else None

    def image_by_hash(self, sha256: str) -> str | None:
        rows = self._rows("SELECT url FROM image_blobs WHERE sha256 = ?", (sha256,))
        return rows[0][0] if rows else None

    def save_blob(self, sha256: str, url: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO image_blobs VALUES (?,?)", (sha256, url))

    def save_image(self, cache_key: str, url: str, sha256: str | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO image_keys VALUES (?,?)", (cache_key, url))
            if sha256:
                db.execute("INSERT OR REPLACE INTO image_blobs VALUES (?,?)", (sha256, url))

    def variant_tag(self, group_key: str) -> str | None:
        rows = self._rows("SELECT guid FROM variant_tags WHERE group_key = ?", (group_key,))
        return rows[0][0] if rows else None

    def save_variant_tag(self, group_key: str, guid: str, name: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO variant_tags VALUES (?,?,?)", (group_key, guid, name))

    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))

    def record_run(self, started: float, status: str, summary: dict) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO runs (started, finished, status, summary) VALUES (?,?,?,?)",
                       (started, time.time(), status, json.dumps(summary)))

    # -- for operators (`state show`, `state reset`) -------------------------------------

    def summary(self) -> dict[str, Any]:
        (live, archived), = self._rows("SELECT COALESCE(SUM(archived = 0 AND guid IS NOT NULL), 0), "
                                       "COALESCE(SUM(archived), 0) FROM items")
        return summary(live, archived, *(self._rows(f"SELECT count(*) FROM {table}")[0][0]
                                         for table in ("intents", "image_keys", "variant_tags")),
                       cursor=self.get_meta("cursor"))

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self._rows("SELECT started, finished, status, summary FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return [{"started": _iso(s), "finished": _iso(f), "status": status, "summary": json.loads(summary)}
                for s, f, status, summary in rows]

    def reset(self) -> None:
        """Forget everything (the Gateway stays the truth: the next run rebuilds from it)."""
        with self._tx() as db:
            for table in STATE_TABLES:
                db.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._db.close()


STATE_TABLES = ("items", "intents", "image_keys", "image_blobs", "variant_tags", "meta")


def summary(live: int, archived: int, intents: int, images: int, tags: int, cursor: str | None) -> dict[str, Any]:
    """What an operator checks first about a shop's state, the same for every store."""
    return {"live products": live, "archived products": archived, "interrupted creates": intents,
            "hosted images": images, "variant tags": tags, "cursor": cursor}


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _item(row: tuple) -> ItemState:
    identity, product_id, variant_id, guid, hash_, payload, archived, _ = row
    return ItemState(identity, product_id, variant_id, guid, hash_,
                     json.loads(payload) if payload else None, bool(archived))


def state_file(state_dir: Path, platform: str, source_shop: str, gateway_url: str, shop_guid: str) -> Path:
    """One file per (Gateway, Gateway shop, platform, source shop): runs never mix."""
    scope = hashlib.sha256(f"{gateway_url.rstrip('/')}|{shop_guid}|{source_shop}".encode()).hexdigest()[:12]
    return state_dir / f"{platform}-{shop_guid[:8]}-{scope}.sqlite"


class ShopLock:
    """An exclusive lock per state file: a second run for the same shop stops at once."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_suffix(".lock")
        self._fd: int | None = None

    def __enter__(self) -> ShopLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(f"another run for this shop is in progress (lock {self.path}); "
                           "wait for it to finish") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
