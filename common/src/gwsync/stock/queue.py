"""The durable queue of stock events: stored before we answer 2xx, applied once, in order per product.

An event is `pending` until a worker claims it (`applying`), then `applied`, or `parked`
with its reason when it can never apply. Before a platform write the worker records what
it is about to do (the stock it read and the stock it will write), so that after a crash
in the middle the event is checked against the platform instead of applied twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .events import StockEvent

PENDING, APPLYING, APPLIED, PARKED = "pending", "applying", "applied", "parked"
MIGRATIONS = (
    """
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, shop_guid TEXT NOT NULL,
        product_guid TEXT NOT NULL, delta INTEGER NOT NULL, body TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL DEFAULT 0,
        last_error TEXT, intent TEXT, received REAL NOT NULL, finished REAL);
    CREATE INDEX events_ready ON events (status, next_attempt);
    CREATE INDEX events_product ON events (product_guid, seq);
    """,
)
KEEP_APPLIED_SECONDS = 7 * 86400  # an applied id is remembered a week: the Gateway retries for a day


@dataclass(frozen=True)
class QueuedEvent:
    seq: int
    id: str
    shop_guid: str
    product_guid: str
    delta: int
    attempts: int
    intent: dict | None  # {"before": n, "after": m} when a write may have happened


class EventQueue:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a stored event survives a power loss
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"GATEWAY_SYNC_STATE_DIR: cannot open the event queue {path}: {exc}") from None
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{path}{suffix}").exists():
                os.chmod(f"{path}{suffix}", 0o600)
        self._lock = threading.RLock()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            self._db.executescript(f"BEGIN; {step}; PRAGMA user_version = {number}; COMMIT;")

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

    def add(self, event: StockEvent, shop_guid: str, body: bytes) -> bool:
        """Store durably; False for an id seen before (it is applied once, whatever arrives again)."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO events (id, shop_guid, product_guid, delta, body, status, received) "
                "VALUES (?,?,?,?,?,?,?)", (event.id, shop_guid, event.data.product_guid, event.data.delta,
                                           body.decode("utf-8", "replace"), PENDING, time.time()))
            return cursor.rowcount == 1

    def recover(self) -> int:
        """After a restart: what was in flight goes back to the queue, its intent kept for checking."""
        with self._tx() as db:
            return db.execute("UPDATE events SET status = ? WHERE status = ?", (PENDING, APPLYING)).rowcount

    def claim(self, busy: set[str], now: float | None = None) -> QueuedEvent | None:
        """The oldest ready event whose product has no earlier event waiting and none in flight."""
        now = time.time() if now is None else now
        with self._tx() as db:
            rows = db.execute(
                "SELECT seq, id, shop_guid, product_guid, delta, attempts, intent FROM events e "
                "WHERE status = ? AND next_attempt <= ? AND NOT EXISTS (SELECT 1 FROM events p "
                "WHERE p.product_guid = e.product_guid AND p.seq < e.seq AND p.status IN (?, ?)) "
                "ORDER BY seq LIMIT 50", (PENDING, now, PENDING, APPLYING)).fetchall()
            for seq, id_, shop, product, delta, attempts, intent in rows:
                if product in busy:
                    continue
                db.execute("UPDATE events SET status = ?, attempts = attempts + 1 WHERE seq = ?", (APPLYING, seq))
                return QueuedEvent(seq, id_, shop, product, delta, attempts + 1,
                                   json.loads(intent) if intent else None)
        return None

    def record_intent(self, seq: int, before: int, after: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE events SET intent = ? WHERE seq = ?",
                       (json.dumps({"before": before, "after": after}), seq))

    def applied(self, seq: int) -> None:
        self._finish(seq, APPLIED, None)

    def park(self, seq: int, reason: str) -> None:
        self._finish(seq, PARKED, reason)

    def retry_later(self, seq: int, reason: str, at: float) -> None:
        """Back to the queue until `at` (epoch seconds). The intent stays: a write may have gone through."""
        with self._tx() as db:
            db.execute("UPDATE events SET status = ?, last_error = ?, next_attempt = ? WHERE seq = ?",
                       (PENDING, reason, at, seq))

    def _finish(self, seq: int, status: str, reason: str | None) -> None:
        with self._tx() as db:
            db.execute("UPDATE events SET status = ?, last_error = COALESCE(?, last_error), finished = ?, "
                       "intent = NULL WHERE seq = ?", (status, reason, time.time(), seq))
            db.execute("DELETE FROM events WHERE status = ? AND finished < ?",
                       (APPLIED, time.time() - KEEP_APPLIED_SECONDS))

    def pending_deltas(self) -> dict[str, int]:
        """Per Gateway product: the sum of deltas not yet applied to the platform."""
        with self._lock:
            rows = self._db.execute("SELECT product_guid, SUM(delta) FROM events WHERE status IN (?, ?) "
                                    "GROUP BY product_guid", (PENDING, APPLYING)).fetchall()
        return {guid: int(total) for guid, total in rows}

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, count(*) FROM events GROUP BY status").fetchall()
        return {PENDING: 0, APPLYING: 0, APPLIED: 0, PARKED: 0, **dict(rows)}

    def parked(self, limit: int = 100) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT id, product_guid, delta, last_error, finished FROM events "
                                    "WHERE status = ? ORDER BY seq DESC LIMIT ?", (PARKED, limit)).fetchall()
        return [{"id": i, "product_guid": p, "delta": d, "reason": r, "parked": f} for i, p, d, r, f in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
