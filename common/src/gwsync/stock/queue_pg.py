"""The stock-event queue in the fleet's PostgreSQL: the same behaviour as `queue.EventQueue`, per scope.

Claims are a compare-and-set (`UPDATE ... WHERE status = 'pending'`), so two serve processes
started for one shop by mistake never apply one event twice.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..state_pg import Scope, connect_pool, scope_id
from .events import StockEvent
from .queue import APPLIED, APPLYING, KEEP_APPLIED_SECONDS, PARKED, PENDING, QueuedEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS gwsync_events (
    seq BIGSERIAL PRIMARY KEY, scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id), id TEXT NOT NULL,
    shop_guid TEXT NOT NULL, product_guid TEXT NOT NULL, delta INTEGER NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT, intent TEXT, received DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION,
    UNIQUE (scope_id, id));
CREATE INDEX IF NOT EXISTS gwsync_events_ready ON gwsync_events (scope_id, status, next_attempt);
CREATE INDEX IF NOT EXISTS gwsync_events_product ON gwsync_events (scope_id, product_guid, seq);
"""
_LOCK = 0x67777365  # schema creation by two starting pods at once


class PgEventQueue:
    def __init__(self, url: str, scope: Scope) -> None:
        self.pool = connect_pool(url, 4)
        try:
            from ..state_pg import migrate

            migrate(self.pool)  # the scopes table
            with self.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
                conn.execute(SCHEMA)
            self.scope = scope_id(self.pool, scope)
        except BaseException:
            self.pool.close()
            raise

    def _rows(self, sql: str, args: tuple) -> list[tuple]:
        with self.pool.connection() as conn:
            cursor = conn.execute(sql, args)
            return cursor.fetchall() if cursor.description else []

    def add(self, event: StockEvent, shop_guid: str, body: bytes) -> bool:
        rows = self._rows(
            "INSERT INTO gwsync_events (scope_id, id, shop_guid, product_guid, delta, body, status, received) "
            "VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (scope_id, id) DO NOTHING RETURNING seq",
            (self.scope, event.id, shop_guid, event.data.product_guid, event.data.delta, body.decode("utf-8", "replace"),
             PENDING, time.time()))
        return bool(rows)

    def recover(self) -> int:
        with self.pool.connection() as conn:
            return conn.execute("UPDATE gwsync_events SET status = %s WHERE scope_id = %s AND status = %s",
                                (PENDING, self.scope, APPLYING)).rowcount

    def claim(self, busy: set[str], now: float | None = None) -> QueuedEvent | None:
        now = time.time() if now is None else now
        candidates = self._rows(
            "SELECT seq, product_guid FROM gwsync_events e WHERE scope_id = %s AND status = %s AND "
            "next_attempt <= %s AND NOT EXISTS (SELECT 1 FROM gwsync_events p WHERE p.scope_id = e.scope_id "
            "AND p.product_guid = e.product_guid AND p.seq < e.seq AND p.status IN (%s, %s)) ORDER BY seq LIMIT 50",
            (self.scope, PENDING, now, PENDING, APPLYING))
        for seq, product in candidates:
            if product in busy:
                continue
            won = self._rows("UPDATE gwsync_events SET status = %s, attempts = attempts + 1 WHERE scope_id = %s "
                             "AND seq = %s AND status = %s RETURNING seq, id, shop_guid, product_guid, delta, "
                             "attempts, intent", (APPLYING, self.scope, seq, PENDING))
            if won:
                seq, id_, shop, guid, delta, attempts, intent = won[0]
                return QueuedEvent(seq, id_, shop, guid, delta, attempts, json.loads(intent) if intent else None)
        return None

    def record_intent(self, seq: int, before: int, after: int) -> None:
        self._rows("UPDATE gwsync_events SET intent = %s WHERE scope_id = %s AND seq = %s",
                   (json.dumps({"before": before, "after": after}), self.scope, seq))

    def applied(self, seq: int) -> None:
        self._finish(seq, APPLIED, None)

    def park(self, seq: int, reason: str) -> None:
        self._finish(seq, PARKED, reason)

    def retry_later(self, seq: int, reason: str, at: float) -> None:
        self._rows("UPDATE gwsync_events SET status = %s, last_error = %s, next_attempt = %s "
                   "WHERE scope_id = %s AND seq = %s", (PENDING, reason, at, self.scope, seq))

    def _finish(self, seq: int, status: str, reason: str | None) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("UPDATE gwsync_events SET status = %s, last_error = COALESCE(%s, last_error), "
                         "finished = %s, intent = NULL WHERE scope_id = %s AND seq = %s",
                         (status, reason, time.time(), self.scope, seq))
            conn.execute("DELETE FROM gwsync_events WHERE scope_id = %s AND status = %s AND finished < %s",
                         (self.scope, APPLIED, time.time() - KEEP_APPLIED_SECONDS))

    def pending_deltas(self) -> dict[str, int]:
        rows = self._rows("SELECT product_guid, SUM(delta) FROM gwsync_events WHERE scope_id = %s AND status IN "
                          "(%s, %s) GROUP BY product_guid", (self.scope, PENDING, APPLYING))
        return {guid: int(total) for guid, total in rows}

    def counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, count(*) FROM gwsync_events WHERE scope_id = %s GROUP BY status",
                          (self.scope,))
        return {PENDING: 0, APPLYING: 0, APPLIED: 0, PARKED: 0, **{s: int(n) for s, n in rows}}

    def parked(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._rows("SELECT id, product_guid, delta, last_error, finished FROM gwsync_events WHERE "
                          "scope_id = %s AND status = %s ORDER BY seq DESC LIMIT %s", (self.scope, PARKED, limit))
        return [{"id": i, "product_guid": p, "delta": d, "reason": r, "parked": f} for i, p, d, r, f in rows]

    def close(self) -> None:
        self.pool.close()
