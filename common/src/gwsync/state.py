"""The local state store: what we wrote where, so that re-runs write only real changes.

SQLite (WAL, synchronous=FULL) behind a small interface (`StateStore`), one file
per Gateway shop and source, with an exclusive per-shop lock, a schema version
(`PRAGMA user_version`) with ordered migrations, and named columns everywhere. The
Gateway stays the truth: an unreadable file is moved aside and the store is rebuilt
from the Gateway in one scan (see `gwsync.sync`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from .errors import ConfigError, LockHeld

log = logging.getLogger(__name__)

# Ordered migrations: the file's `PRAGMA user_version` says how many have run. Never edit
# one that has shipped; add the next. Version 1 is the layout files had before versions.
MIGRATIONS: tuple[str | Callable[[sqlite3.Connection], None], ...] = (
    """
    CREATE TABLE IF NOT EXISTS items (
        identity TEXT PRIMARY KEY, product_id TEXT NOT NULL, variant_id TEXT,
        guid TEXT, hash TEXT, payload TEXT, archived INTEGER NOT NULL DEFAULT 0, updated REAL);
    CREATE INDEX IF NOT EXISTS items_product ON items(product_id);
    CREATE TABLE IF NOT EXISTS intents (identity TEXT PRIMARY KEY, product_id TEXT NOT NULL, created REAL);
    CREATE TABLE IF NOT EXISTS image_keys (cache_key TEXT PRIMARY KEY, url TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS image_blobs (sha256 TEXT PRIMARY KEY, url TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS variant_tags (group_key TEXT PRIMARY KEY, guid TEXT NOT NULL, name TEXT);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started REAL, finished REAL,
        status TEXT, summary TEXT);
    """,
    # 2: image keys stored as digests (a source URL may carry a token; the digest also
    # travels in `data.images_source`), a retry list, tag lookup by guid.
    lambda db: _digest_image_keys(db),
    """
    CREATE TABLE IF NOT EXISTS retries (
        product_id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 1, updated REAL);
    CREATE INDEX IF NOT EXISTS variant_tags_guid ON variant_tags(guid);
    CREATE INDEX IF NOT EXISTS items_live ON items(archived, guid);
    CREATE INDEX IF NOT EXISTS items_guid ON items(guid);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
RUNS_KEPT = 100
ITEM_COLUMNS = "identity, product_id, variant_id, guid, hash, payload, archived"


def image_key(cache_key: str) -> str:
    """What the state (and `data.images_source`) keeps of a source image key: its digest."""
    return hashlib.sha256(cache_key.encode()).hexdigest()[:40]


def _digest_image_keys(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT cache_key, url FROM image_keys").fetchall()
    db.execute("DELETE FROM image_keys")
    db.executemany("INSERT OR REPLACE INTO image_keys (cache_key, url) VALUES (?, ?)",
                   [(image_key(key), url) for key, url in rows])


@dataclass(frozen=True)
class ItemState:
    identity: str
    product_id: str
    variant_id: str | None
    guid: str | None
    hash: str | None
    payload: dict | None
    archived: bool


@dataclass(frozen=True)
class RetryEntry:
    """A product (or stock update) that failed on our side; tried again on later runs."""

    product_id: str
    kind: str  # "product" or "stock"
    body: str  # the item as JSON (pydantic)
    reason: str
    attempts: int


# identity, product_id, variant_id, guid, payload, hash, archived: one item confirmed by the Gateway
ItemRow = tuple[str, str, str | None, str, dict | None, str | None, bool]
ImageRow = tuple[str, str, str | None]  # source cache key, hosted URL, SHA-256 of an upload


def image_rows(rows: Iterable[ImageRow]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A batch of hosted images as rows of the two image tables: (key digest, url), (sha256, url)."""
    keys, blobs = [], []
    for cache_key, url, digest in rows:
        keys.append((image_key(cache_key), url))
        if digest:
            blobs.append((digest, url))
    return keys, blobs


class StateStore(Protocol):
    """What the engine needs from a store; a PostgreSQL one can implement the same."""

    recovered_from: Path | None  # an unreadable state file moved aside on open

    def item(self, identity: str) -> ItemState | None: ...
    def items(self, identities: Iterable[str]) -> dict[str, ItemState]: ...
    def items_of_product(self, product_id: str) -> list[ItemState]: ...
    def items_of_products(self, product_ids: Iterable[str]) -> dict[str, list[ItemState]]: ...
    def item_by_guid(self, guid: str) -> ItemState | None: ...
    def live_items(self) -> Iterator[ItemState]: ...
    def count_live(self) -> int: ...
    def product_ids(self) -> frozenset[str]: ...
    def save_item(self, identity: str, product_id: str, variant_id: str | None, guid: str,
                  payload: dict | None, hash_: str | None, archived: bool = False) -> None: ...
    def save_items(self, rows: Iterable[ItemRow]) -> None: ...
    def set_archived(self, identity: str, archived: bool) -> None: ...
    def add_intents(self, entries: Iterable[tuple[str, str]]) -> None: ...
    def clear_intents(self, identities: Iterable[str]) -> None: ...
    def intents(self) -> list[tuple[str, str]]: ...
    def intent_age(self) -> float | None: ...
    def image_by_key(self, cache_key: str) -> str | None: ...
    def image_by_hash(self, sha256: str) -> str | None: ...
    def images_by_keys(self, cache_keys: Iterable[str]) -> dict[str, str]: ...
    def save_blob(self, sha256: str, url: str) -> None: ...
    def save_images(self, rows: Iterable[ImageRow]) -> None: ...
    def has_image_blobs(self) -> bool: ...
    def save_image_digest(self, key_digest: str, url: str) -> None: ...
    def variant_tag(self, group_key: str) -> str | None: ...
    def variant_tag_group(self, guid: str) -> str | None: ...
    def variant_tags(self, group_keys: Iterable[str]) -> dict[str, str]: ...
    def save_variant_tag(self, group_key: str, guid: str, name: str) -> None: ...
    def save_variant_tags(self, rows: Iterable[tuple[str, str, str]]) -> None: ...
    def add_retry(self, product_id: str, kind: str, body: str, reason: str) -> None: ...
    def retries(self) -> list[RetryEntry]: ...
    def clear_retries(self, product_ids: Iterable[str]) -> None: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def record_run(self, started: float, status: str, summary: dict) -> None: ...
    def close(self) -> None: ...


class StateTooNew(ConfigError):
    """The state file was written by a newer version of the tool."""


class SqliteState:
    """The SQLite store. `dry_run=True` keeps every change in one transaction that is rolled
    back on close: the plan sees its own bookkeeping, the file never changes."""

    def __init__(self, path: Path, *, dry_run: bool = False) -> None:
        self.path = path
        self.dry_run = dry_run
        self.recovered_from: Path | None = None
        self._lock = threading.RLock()
        self._savepoints = 0
        self.round_trips = 0  # queries and transactions: what batching saves, for benchmarks
        try:
            self._db = self._open()
        except StateTooNew:
            raise
        except (OSError, sqlite3.Error) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) \
                    or _unreadable(exc):
                self._db = self._recover(exc)
            else:
                raise ConfigError(f"GATEWAY_SYNC_STATE_DIR: cannot open the state file {path}: {exc}") from None

    def _open(self) -> sqlite3.Connection:
        fresh = self.dry_run and not self.path.exists()
        target = ":memory:" if fresh else str(self.path)
        if not fresh:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        old_umask = os.umask(0o077)  # the database, -wal and -shm: owner only
        try:
            db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            try:
                db.execute("PRAGMA busy_timeout = 10000")
                if not self.dry_run:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=FULL")  # a create intent must survive a power loss
                check = db.execute("PRAGMA quick_check").fetchone()
                if check is None or check[0] != "ok":
                    raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else '?'}")
                if self.dry_run:
                    db.execute("BEGIN IMMEDIATE")
                _migrate(db, self.dry_run)
            except BaseException:
                db.close()
                raise
        finally:
            os.umask(old_umask)
        if not fresh:
            for suffix in ("", "-wal", "-shm"):
                extra = Path(f"{self.path}{suffix}")
                if extra.exists():
                    os.chmod(extra, 0o600)
        return db

    def _recover(self, exc: Exception) -> sqlite3.Connection:
        """Move an unreadable file aside (kept for inspection) and start empty: the engine
        rebuilds the state from the Gateway in one scan."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        if self.dry_run:  # the file is left as it is; plan against an empty state
            self.recovered_from = self.path
            self.path = Path(":memory:-dry-run")
            db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            _migrate(db, True)
            return db
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                source.rename(Path(f"{aside}{suffix}"))
        self.recovered_from = aside
        log.debug("state file %s is unreadable (%s); moved aside to %s", self.path, exc, aside)
        return self._open()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.round_trips += 1
            if self.dry_run:  # inside the run's transaction: a savepoint keeps each change atomic
                name = f"s{self._savepoints}"
                self._savepoints += 1
                self._db.execute(f"SAVEPOINT {name}")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute(f"ROLLBACK TO {name}")
                    self._db.execute(f"RELEASE {name}")
                    raise
                finally:
                    self._savepoints -= 1
                self._db.execute(f"RELEASE {name}")
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        with self._lock:
            self.round_trips += 1
            return self._db.execute(sql, tuple(args)).fetchall()

    # -- items --------------------------------------------------------------------

    def item(self, identity: str) -> ItemState | None:
        rows = self._rows(f"SELECT {ITEM_COLUMNS} FROM items WHERE identity = ?", (identity,))
        return _item(rows[0]) if rows else None

    def items(self, identities: Iterable[str]) -> dict[str, ItemState]:
        """Many items in one query per 500 identities (a page of the read)."""
        wanted = sorted(set(identities))
        found: dict[str, ItemState] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update((r[0], _item(r)) for r in
                         self._rows(f"SELECT {ITEM_COLUMNS} FROM items WHERE identity IN ({marks})", chunk))
        return found

    def items_of_product(self, product_id: str) -> list[ItemState]:
        return [_item(r) for r in self._rows(f"SELECT {ITEM_COLUMNS} FROM items WHERE product_id = ?",
                                             (product_id,))]

    def items_of_products(self, product_ids: Iterable[str]) -> dict[str, list[ItemState]]:
        """Every item of these products in one query per 500 ids (a page at a time)."""
        ids = sorted(set(product_ids))
        found: dict[str, list[ItemState]] = {pid: [] for pid in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._rows(f"SELECT {ITEM_COLUMNS} FROM items WHERE product_id IN ({marks})", chunk):
                found[row[1]].append(_item(row))
        return found

    def item_by_guid(self, guid: str) -> ItemState | None:
        """The source item behind a Gateway product (step 2: where a Gateway sale goes)."""
        rows = self._rows(f"SELECT {ITEM_COLUMNS} FROM items WHERE guid = ?", (guid,))
        return _item(rows[0]) if rows else None

    def live_items(self) -> Iterator[ItemState]:
        rows = self._rows("SELECT identity, product_id, variant_id, guid, hash, NULL, archived "
                          "FROM items WHERE archived = 0 AND guid IS NOT NULL")
        return (_item(r) for r in rows)

    def count_live(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM items WHERE archived = 0 AND guid IS NOT NULL")[0][0])

    def product_ids(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._rows("SELECT DISTINCT product_id FROM items"))

    def save_item(self, identity: str, product_id: str, variant_id: str | None, guid: str,
                  payload: dict | None, hash_: str | None, archived: bool = False) -> None:
        self.save_items([(identity, product_id, variant_id, guid, payload, hash_, archived)])

    def save_items(self, rows: Iterable[ItemRow]) -> None:
        """Items confirmed by the Gateway, with their intents cleared, in one transaction."""
        now = time.time()
        params = [{"identity": identity, "product_id": product_id, "variant_id": variant_id, "guid": guid,
                   "hash": hash_, "payload": json.dumps(payload, ensure_ascii=False) if payload is not None else None,
                   "archived": int(archived), "updated": now}
                  for identity, product_id, variant_id, guid, payload, hash_, archived in rows]
        if not params:
            return
        with self._tx() as db:
            db.executemany("INSERT INTO items (identity, product_id, variant_id, guid, hash, payload, archived, "
                           "updated) VALUES (:identity, :product_id, :variant_id, :guid, :hash, :payload, "
                           ":archived, :updated) ON CONFLICT (identity) DO UPDATE SET product_id = :product_id, "
                           "variant_id = :variant_id, guid = :guid, hash = :hash, payload = :payload, "
                           "archived = :archived, updated = :updated", params)
            db.executemany("DELETE FROM intents WHERE identity = ?", [(p["identity"],) for p in params])

    def set_archived(self, identity: str, archived: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE items SET archived = ?, updated = ? WHERE identity = ?",
                       (int(archived), time.time(), identity))

    # -- create intents -----------------------------------------------------------------

    def add_intents(self, entries: Iterable[tuple[str, str]]) -> None:
        now = time.time()
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO intents (identity, product_id, created) VALUES (?,?,?)",
                           [(identity, product_id, now) for identity, product_id in entries])

    def clear_intents(self, identities: Iterable[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM intents WHERE identity = ?", [(i,) for i in identities])

    def intents(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._rows("SELECT identity, product_id FROM intents")]

    def intent_age(self) -> float | None:
        """Seconds since the newest intent was recorded; None without intents."""
        rows = self._rows("SELECT COUNT(*), MAX(created) FROM intents")
        count, newest = rows[0]
        if not count:
            return None
        return max(time.time() - newest, 0.0) if newest is not None else float("inf")

    # -- images, tags, retries, meta --------------------------------------------------------

    def image_by_key(self, cache_key: str) -> str | None:
        rows = self._rows("SELECT url FROM image_keys WHERE cache_key = ?", (image_key(cache_key),))
        return rows[0][0] if rows else None

    def image_by_hash(self, sha256: str) -> str | None:
        rows = self._rows("SELECT url FROM image_blobs WHERE sha256 = ?", (sha256,))
        return rows[0][0] if rows else None

    def images_by_keys(self, cache_keys: Iterable[str]) -> dict[str, str]:
        """The hosted URLs of many source images (a page's), by their cache keys."""
        by_digest = {image_key(key): key for key in cache_keys}
        found = self._lookup("SELECT cache_key, url FROM image_keys WHERE cache_key IN ({})", by_digest)
        return {by_digest[digest]: url for digest, url in found.items()}

    def save_blob(self, sha256: str, url: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO image_blobs (sha256, url) VALUES (?,?)", (sha256, url))

    def save_images(self, rows: Iterable[ImageRow]) -> None:
        """Hosted images, a batch in one transaction."""
        keys, blobs = image_rows(rows)
        if not keys:
            return
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO image_keys (cache_key, url) VALUES (?,?)", keys)
            db.executemany("INSERT OR REPLACE INTO image_blobs (sha256, url) VALUES (?,?)", blobs)

    def has_image_blobs(self) -> bool:
        return bool(self._rows("SELECT 1 FROM image_blobs LIMIT 1"))

    def save_image_digest(self, key_digest: str, url: str) -> None:
        """A mapping recovered from a Gateway product's `data.images_source`."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO image_keys (cache_key, url) VALUES (?,?)", (key_digest, url))

    def variant_tag(self, group_key: str) -> str | None:
        rows = self._rows("SELECT guid FROM variant_tags WHERE group_key = ?", (group_key,))
        return rows[0][0] if rows else None

    def variant_tag_group(self, guid: str) -> str | None:
        rows = self._rows("SELECT group_key FROM variant_tags WHERE guid = ?", (guid,))
        return rows[0][0] if rows else None

    def variant_tags(self, group_keys: Iterable[str]) -> dict[str, str]:
        return self._lookup("SELECT group_key, guid FROM variant_tags WHERE group_key IN ({})", group_keys)

    def _lookup(self, sql: str, keys: Iterable[str]) -> dict[str, str]:
        """key -> value rows of `sql` (one `IN ({})`), one query per 500 keys."""
        wanted = sorted(set(keys))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            found.update(self._rows(sql.format(",".join("?" * len(chunk))), chunk))
        return found

    def save_variant_tag(self, group_key: str, guid: str, name: str) -> None:
        self.save_variant_tags([(group_key, guid, name)])

    def save_variant_tags(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(group key, tag guid, tag name) rows, in one transaction."""
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO variant_tags (group_key, guid, name) VALUES (?,?,?)", rows)

    def add_retry(self, product_id: str, kind: str, body: str, reason: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO retries (product_id, kind, body, reason, attempts, updated) "
                       "VALUES (?,?,?,?,1,?) ON CONFLICT (product_id) DO UPDATE SET kind = excluded.kind, "
                       "body = excluded.body, reason = excluded.reason, attempts = attempts + 1, "
                       "updated = excluded.updated", (product_id, kind, body, reason, time.time()))

    def retries(self) -> list[RetryEntry]:
        rows = self._rows("SELECT product_id, kind, body, reason, attempts FROM retries ORDER BY updated")
        return [RetryEntry(*row) for row in rows]

    def clear_retries(self, product_ids: Iterable[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM retries WHERE product_id = ?", [(p,) for p in product_ids])

    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)", (key, value))

    def record_run(self, started: float, status: str, summary: dict) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO runs (started, finished, status, summary) VALUES (?,?,?,?)",
                       (started, time.time(), status, json.dumps(summary)))
            db.execute("DELETE FROM runs WHERE id <= (SELECT MAX(id) FROM runs) - ?", (RUNS_KEPT,))

    def schema_version(self) -> int:
        return int(self._rows("PRAGMA user_version")[0][0])

    @staticmethod
    def latest_version() -> int:
        return SCHEMA_VERSION

    def __enter__(self) -> SqliteState:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

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
            if self.dry_run and self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._db.close()


def _migrate(db: sqlite3.Connection, in_transaction: bool) -> None:
    """Run the migrations this file has not seen, in order, each with its version bump."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StateTooNew(f"GATEWAY_SYNC_STATE_DIR: the state file has schema version {version}, newer than "
                          f"this tool knows ({SCHEMA_VERSION}); upgrade gateway-sync or use another state dir")
    for number in range(version, SCHEMA_VERSION):
        step = MIGRATIONS[number]
        if not in_transaction:
            db.execute("BEGIN IMMEDIATE")
        try:
            if callable(step):
                step(db)
            else:
                for statement in _statements(step):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            if not in_transaction:
                db.execute("ROLLBACK")
            raise
        if not in_transaction:
            db.execute("COMMIT")


def _statements(script: str) -> list[str]:
    # executescript() would commit the open transaction; the scripts hold no ';' in literals
    return [part.strip() for part in script.split(";") if part.strip()]


def _unreadable(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in ("not a database", "malformed", "integrity check", "corrupt"))


STATE_TABLES = ("items", "intents", "image_keys", "image_blobs", "variant_tags", "meta", "retries")


def summary(live: int, archived: int, intents: int, images: int, tags: int, cursor: str | None) -> dict[str, Any]:
    """What an operator checks first about a shop's state, the same for every store."""
    return {"live products": live, "archived products": archived, "interrupted creates": intents,
            "hosted images": images, "variant tags": tags, "cursor": cursor}


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _item(row: tuple) -> ItemState:
    identity, product_id, variant_id, guid, hash_, payload, archived = row[:7]
    return ItemState(identity, product_id, variant_id, guid, hash_,
                     json.loads(payload) if payload else None, bool(archived))


class DryRunOverlay:
    """A store that reads through to another and keeps its own changes in memory: a dry run
    on a store that cannot roll back (PostgreSQL) plans with its bookkeeping, keeps nothing."""

    def __init__(self, base: StateStore) -> None:
        self.base = base
        self.recovered_from = getattr(base, "recovered_from", None)
        self._items: dict[str, ItemState] = {}
        self._intents: dict[str, str] = {}
        self._cleared: set[str] = set()
        self._images: dict[str, str] = {}
        self._blobs: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._meta: dict[str, str] = {}
        self._retries: dict[str, RetryEntry | None] = {}
        self._lock = threading.RLock()

    def item(self, identity: str) -> ItemState | None:
        with self._lock:
            if identity in self._items:
                return self._items[identity]
        return self.base.item(identity)

    def items(self, identities: Iterable[str]) -> dict[str, ItemState]:
        wanted = list(identities)
        found = self.base.items(wanted)
        with self._lock:
            found.update((i, self._items[i]) for i in wanted if i in self._items)
        return found

    def items_of_product(self, product_id: str) -> list[ItemState]:
        return self.items_of_products([product_id])[product_id]

    def items_of_products(self, product_ids: Iterable[str]) -> dict[str, list[ItemState]]:
        found = self.base.items_of_products(product_ids)
        with self._lock:
            for pid, items in found.items():
                mine = {i.identity: i for i in self._items.values() if i.product_id == pid}
                found[pid] = [mine.pop(i.identity, i) for i in items] + list(mine.values())
        return found

    def item_by_guid(self, guid: str) -> ItemState | None:
        with self._lock:
            for item in self._items.values():
                if item.guid == guid:
                    return item
        return self.base.item_by_guid(guid)

    def live_items(self) -> Iterator[ItemState]:
        with self._lock:
            mine = dict(self._items)
        for item in self.base.live_items():
            if item.identity not in mine:
                yield item
        yield from (i for i in mine.values() if not i.archived and i.guid)

    def count_live(self) -> int:
        return sum(1 for _ in self.live_items())

    def product_ids(self) -> frozenset[str]:
        with self._lock:
            return self.base.product_ids() | {i.product_id for i in self._items.values()}

    def save_item(self, identity: str, product_id: str, variant_id: str | None, guid: str,
                  payload: dict | None, hash_: str | None, archived: bool = False) -> None:
        self.save_items([(identity, product_id, variant_id, guid, payload, hash_, archived)])

    def save_items(self, rows: Iterable[ItemRow]) -> None:
        with self._lock:
            for identity, product_id, variant_id, guid, payload, hash_, archived in rows:
                self._items[identity] = ItemState(identity, product_id, variant_id, guid, hash_, payload, archived)
                self._intents.pop(identity, None)

    def set_archived(self, identity: str, archived: bool) -> None:
        item = self.item(identity)
        if item is not None:
            with self._lock:
                self._items[identity] = ItemState(item.identity, item.product_id, item.variant_id, item.guid,
                                                  item.hash, item.payload, archived)

    def add_intents(self, entries: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            self._intents.update(entries)

    def clear_intents(self, identities: Iterable[str]) -> None:
        with self._lock:
            for identity in identities:
                self._intents.pop(identity, None)
                self._cleared.add(identity)

    def intents(self) -> list[tuple[str, str]]:
        with self._lock:
            base = [(i, p) for i, p in self.base.intents() if i not in self._cleared]
            return base + [(i, p) for i, p in self._intents.items() if i not in dict(base)]

    def intent_age(self) -> float | None:
        return self.base.intent_age()  # a dry run sends no create: only the stored intents age

    def image_by_key(self, cache_key: str) -> str | None:
        with self._lock:
            url = self._images.get(image_key(cache_key))
        return url or self.base.image_by_key(cache_key)

    def image_by_hash(self, sha256: str) -> str | None:
        with self._lock:
            url = self._blobs.get(sha256)
        return url or self.base.image_by_hash(sha256)

    def images_by_keys(self, cache_keys: Iterable[str]) -> dict[str, str]:
        wanted = list(cache_keys)
        found = self.base.images_by_keys(wanted)
        with self._lock:
            found.update((k, self._images[image_key(k)]) for k in wanted if image_key(k) in self._images)
        return found

    def save_blob(self, sha256: str, url: str) -> None:
        with self._lock:
            self._blobs.setdefault(sha256, url)

    def save_images(self, rows: Iterable[ImageRow]) -> None:
        keys, blobs = image_rows(rows)
        with self._lock:
            self._images.update(keys)
            self._blobs.update(blobs)

    def has_image_blobs(self) -> bool:
        with self._lock:
            if self._blobs:
                return True
        return self.base.has_image_blobs()

    def save_image_digest(self, key_digest: str, url: str) -> None:
        with self._lock:
            self._images.setdefault(key_digest, url)

    def variant_tag(self, group_key: str) -> str | None:
        with self._lock:
            guid = self._tags.get(group_key)
        return guid or self.base.variant_tag(group_key)

    def variant_tag_group(self, guid: str) -> str | None:
        with self._lock:
            for group, tag in self._tags.items():
                if tag == guid:
                    return group
        return self.base.variant_tag_group(guid)

    def variant_tags(self, group_keys: Iterable[str]) -> dict[str, str]:
        wanted = list(group_keys)
        found = self.base.variant_tags(wanted)
        with self._lock:
            found.update((g, self._tags[g]) for g in wanted if g in self._tags)
        return found

    def save_variant_tag(self, group_key: str, guid: str, name: str) -> None:
        self.save_variant_tags([(group_key, guid, name)])

    def save_variant_tags(self, rows: Iterable[tuple[str, str, str]]) -> None:
        with self._lock:
            self._tags.update((group_key, guid) for group_key, guid, _ in rows)

    def add_retry(self, product_id: str, kind: str, body: str, reason: str) -> None:
        with self._lock:
            self._retries[product_id] = RetryEntry(product_id, kind, body, reason, 1)

    def retries(self) -> list[RetryEntry]:
        with self._lock:
            mine = dict(self._retries)
        base = [e for e in self.base.retries() if e.product_id not in mine]
        return base + [e for e in mine.values() if e is not None]

    def clear_retries(self, product_ids: Iterable[str]) -> None:
        with self._lock:
            for product_id in product_ids:
                self._retries[product_id] = None

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            if key in self._meta:
                return self._meta[key]
        return self.base.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._meta[key] = value

    def record_run(self, started: float, status: str, summary: dict) -> None:
        pass  # a dry run is not a run of the shop

    def close(self) -> None:
        pass  # the base store belongs to whoever opened it


def clean_shop_identity(shop: str) -> str:
    """A source shop id without user info: `key@shop.example/x` -> `shop.example/x` (never a secret
    in `data.source.shop`, the state, logs or reports)."""
    text = shop.strip()
    if "://" in text:
        parts = urlsplit(text)
        return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    head, slash, tail = text.partition("/")
    return head.rpartition("@")[2] + slash + tail


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
