"""The shared state store for fleets: one PostgreSQL schema holds every shop.

Each run works inside a scope (platform, source shop, Gateway URL, Gateway shop),
which is part of every key. Two runs of one scope never overlap anywhere: the
`PgLease` is a row with a holder and an expiry, renewed by a heartbeat, so it
works behind PgBouncer in transaction mode (no session state is relied on, and
server-side prepared statements are off). A crashed run's lease simply expires.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import ConfigError, LockHeld
from .state import ImageRow, ItemState, RetryEntry, image_key, image_rows, summary

log = logging.getLogger(__name__)

# Ordered steps; a step is never edited once released, only new ones appended.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE gwsync_scopes (
        id BIGSERIAL PRIMARY KEY, platform TEXT NOT NULL, source_shop TEXT NOT NULL,
        gateway_url TEXT NOT NULL, shop_guid TEXT NOT NULL,
        UNIQUE (platform, source_shop, gateway_url, shop_guid));
    CREATE TABLE gwsync_items (
        scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id), identity TEXT NOT NULL,
        product_id TEXT NOT NULL, variant_id TEXT, guid TEXT, hash TEXT, payload TEXT,
        archived BOOLEAN NOT NULL DEFAULT FALSE, updated TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (scope_id, identity));
    CREATE INDEX gwsync_items_product ON gwsync_items (scope_id, product_id);
    CREATE INDEX gwsync_items_guid ON gwsync_items (scope_id, guid);
    CREATE TABLE gwsync_intents (
        scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id), identity TEXT NOT NULL,
        product_id TEXT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (scope_id, identity));
    CREATE TABLE gwsync_image_keys (
        scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id), cache_key TEXT NOT NULL,
        url TEXT NOT NULL, PRIMARY KEY (scope_id, cache_key));
    CREATE TABLE gwsync_image_blobs (
        scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id), sha256 TEXT NOT NULL,
        url TEXT NOT NULL, PRIMARY KEY (scope_id, sha256));
    CREATE TABLE gwsync_variant_tags (
        scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id), group_key TEXT NOT NULL,
        guid TEXT NOT NULL, name TEXT, PRIMARY KEY (scope_id, group_key));
    CREATE TABLE gwsync_meta (
        scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id), key TEXT NOT NULL, value TEXT,
        PRIMARY KEY (scope_id, key));
    CREATE TABLE gwsync_runs (
        id BIGSERIAL PRIMARY KEY, scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id),
        started TIMESTAMPTZ NOT NULL, finished TIMESTAMPTZ NOT NULL, status TEXT NOT NULL,
        summary TEXT NOT NULL);
    CREATE INDEX gwsync_runs_scope ON gwsync_runs (scope_id, id);
    CREATE TABLE gwsync_leases (
        scope_id BIGINT PRIMARY KEY REFERENCES gwsync_scopes(id), holder TEXT NOT NULL,
        acquired TIMESTAMPTZ NOT NULL, expires TIMESTAMPTZ NOT NULL);
    """,
    # 2: image keys kept as digests (as SQLite, and as `data.images_source` carries them), the
    # retry list, tag lookup by guid
    """
    UPDATE gwsync_image_keys SET cache_key = substr(encode(sha256(convert_to(cache_key, 'UTF8')), 'hex'), 1, 40);
    CREATE TABLE gwsync_retries (
        scope_id BIGINT NOT NULL REFERENCES gwsync_scopes(id), product_id TEXT NOT NULL, kind TEXT NOT NULL,
        body TEXT NOT NULL, reason TEXT, attempts INTEGER NOT NULL DEFAULT 1,
        updated TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (scope_id, product_id));
    CREATE INDEX gwsync_variant_tags_guid ON gwsync_variant_tags (scope_id, guid);
    """,
)
RUNS_KEPT = 100
# what one scope's state is (`reset` empties these; scopes, leases and run history stay)
STATE_TABLES = ("gwsync_items", "gwsync_intents", "gwsync_image_keys", "gwsync_image_blobs",
                "gwsync_variant_tags", "gwsync_meta", "gwsync_retries")
_MIGRATION_LOCK = 0x67777379  # advisory lock id for "two pods start at once"; held per transaction only
_ITEM_COLUMNS = "identity, product_id, variant_id, guid, hash, payload, archived"


@dataclass(frozen=True)
class Scope:
    platform: str
    source_shop: str
    gateway_url: str
    shop_guid: str


def connect_pool(url: str, size: int) -> Any:
    """A pool sized for one run; psycopg is only imported when PostgreSQL is used."""
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError:  # pragma: no cover - the dependency ships with gateway-sync-common
        raise ConfigError("GATEWAY_SYNC_STATE_URL: PostgreSQL needs psycopg (pip install 'psycopg[pool]')") \
            from None

    def configure(conn: Any) -> None:
        conn.prepare_threshold = None  # PgBouncer in transaction mode cannot keep prepared statements
        conn.autocommit = True

    try:  # one direct attempt first: a wrong URL fails in seconds, not after the pool's timeout
        psycopg.connect(_conninfo(url), connect_timeout=10).close()
    except Exception as exc:
        raise ConfigError(f"GATEWAY_SYNC_STATE_URL: cannot connect to PostgreSQL: {_clean(exc)}") from None
    pool = ConnectionPool(_conninfo(url), min_size=1, max_size=max(2, size), configure=configure,
                          open=False, timeout=30, name="gwsync-state")
    try:
        pool.open(wait=True, timeout=15)
    except Exception as exc:
        pool.close()
        raise ConfigError(f"GATEWAY_SYNC_STATE_URL: cannot connect to PostgreSQL: {_clean(exc)}") from None
    return pool


def _conninfo(url: str) -> str:
    # SQLAlchemy-style "postgresql+psycopg://" is accepted as well as libpq's own scheme.
    return "postgresql://" + url.split("://", 1)[1] if "://" in url else url


def _clean(exc: BaseException) -> str:
    from .redact import redact

    return redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def migrate(pool: Any) -> int:
    """Bring the schema to the newest version; concurrent starters wait on one lock."""
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS gwsync_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM gwsync_schema").fetchone()
        version = row[0] if row else 0
        if version > len(MIGRATIONS):
            raise ConfigError(f"GATEWAY_SYNC_STATE_URL: the state schema is version {version}, newer than this "
                              f"tool knows ({len(MIGRATIONS)}); upgrade the tool")
        for step in MIGRATIONS[version:]:
            conn.execute(step)
        if row is None:
            conn.execute("INSERT INTO gwsync_schema VALUES (%s)", (len(MIGRATIONS),))
        else:
            conn.execute("UPDATE gwsync_schema SET version = %s", (len(MIGRATIONS),))
    return len(MIGRATIONS)


def scope_id(pool: Any, scope: Scope) -> int:
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO gwsync_scopes (platform, source_shop, gateway_url, shop_guid) VALUES (%s,%s,%s,%s) "
            "ON CONFLICT (platform, source_shop, gateway_url, shop_guid) DO UPDATE SET platform = EXCLUDED.platform "
            "RETURNING id", (scope.platform, scope.source_shop, scope.gateway_url.rstrip("/"), scope.shop_guid),
        ).fetchone()
    return int(row[0])


class PostgresState:
    """`StateStore` on PostgreSQL, for one scope. Thread-safe: every call borrows a pooled connection."""

    def __init__(self, pool: Any, scope: Scope, *, owns_pool: bool = True) -> None:
        self.pool, self.scope = pool, scope
        self._owns_pool = owns_pool
        self.scope_id = scope_id(pool, scope)
        self.recovered_from = None  # a database is never moved aside
        self.round_trips = 0  # statements or pipelined batches sent: for benchmarks

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        self.round_trips += 1
        with self.pool.connection() as conn:
            yield conn

    @classmethod
    def open(cls, url: str, scope: Scope, workers: int = 4) -> PostgresState:
        pool = connect_pool(url, workers + 2)
        try:
            migrate(pool)
            return cls(pool, scope)
        except BaseException:
            pool.close()
            raise

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._conn() as conn:
            return conn.execute(sql, (self.scope_id, *args)).fetchall()

    def _write(self, sql: str, args: Sequence[Any] = ()) -> None:
        with self._conn() as conn:
            conn.execute(sql, (self.scope_id, *args))

    def _write_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        params = [(self.scope_id, *row) for row in rows]
        if params:
            with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
                cur.executemany(sql, params)  # pipelined by psycopg: one round trip per batch

    # -- items --------------------------------------------------------------------

    def item(self, identity: str) -> ItemState | None:
        rows = self._rows(f"SELECT {_ITEM_COLUMNS} FROM gwsync_items WHERE scope_id = %s AND identity = %s",
                          (identity,))
        return _item(rows[0]) if rows else None

    def items(self, identities: Iterable[str]) -> dict[str, ItemState]:
        """Many items in one round trip (a page of the read)."""
        wanted = list(identities)
        if not wanted:
            return {}
        rows = self._rows(f"SELECT {_ITEM_COLUMNS} FROM gwsync_items WHERE scope_id = %s "
                          "AND identity = ANY(%s)", (wanted,))
        return {row[0]: _item(row) for row in rows}

    def item_by_guid(self, guid: str) -> ItemState | None:
        rows = self._rows(f"SELECT {_ITEM_COLUMNS} FROM gwsync_items WHERE scope_id = %s AND guid = %s", (guid,))
        return _item(rows[0]) if rows else None

    def items_of_product(self, product_id: str) -> list[ItemState]:
        return [_item(r) for r in self._rows(f"SELECT {_ITEM_COLUMNS} FROM gwsync_items "
                                             "WHERE scope_id = %s AND product_id = %s", (product_id,))]

    def items_of_products(self, product_ids: Iterable[str]) -> dict[str, list[ItemState]]:
        wanted = sorted(set(product_ids))
        found: dict[str, list[ItemState]] = {pid: [] for pid in wanted}
        if wanted:
            for row in self._rows(f"SELECT {_ITEM_COLUMNS} FROM gwsync_items WHERE scope_id = %s "
                                  "AND product_id = ANY(%s)", (wanted,)):
                found[row[1]].append(_item(row))
        return found

    def live_items(self) -> Iterator[ItemState]:
        rows = self._rows("SELECT identity, product_id, variant_id, guid, hash, NULL, archived FROM gwsync_items "
                          "WHERE scope_id = %s AND NOT archived AND guid IS NOT NULL")
        return (_item(r) for r in rows)

    def count_live(self) -> int:
        return int(self._one("SELECT count(*) FROM gwsync_items WHERE scope_id = %s AND NOT archived "
                             "AND guid IS NOT NULL"))

    def product_ids(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._rows("SELECT DISTINCT product_id FROM gwsync_items "
                                                  "WHERE scope_id = %s"))

    def save_item(self, identity: str, product_id: str, variant_id: str | None, guid: str,
                  payload: dict | None, hash_: str | None, archived: bool = False) -> None:
        self.save_items([(identity, product_id, variant_id, guid, payload, hash_, archived)])

    def save_items(self, rows: Iterable[tuple[str, str, str | None, str, dict | None, str | None, bool]]) -> None:
        """Items confirmed by the Gateway, with their intents cleared, in one transaction."""
        params = [(identity, product_id, variant_id, guid, hash_,
                   json.dumps(payload, ensure_ascii=False) if payload is not None else None, archived)
                  for identity, product_id, variant_id, guid, payload, hash_, archived in rows]
        if not params:
            return
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO gwsync_items (scope_id, identity, product_id, variant_id, guid, hash, payload, archived, "
                "updated) VALUES (%s,%s,%s,%s,%s,%s,%s,%s, now()) ON CONFLICT (scope_id, identity) DO UPDATE SET "
                "product_id = EXCLUDED.product_id, variant_id = EXCLUDED.variant_id, guid = EXCLUDED.guid, "
                "hash = EXCLUDED.hash, payload = EXCLUDED.payload, archived = EXCLUDED.archived, updated = now()",
                [(self.scope_id, *p) for p in params])
            cur.execute("DELETE FROM gwsync_intents WHERE scope_id = %s AND identity = ANY(%s)",
                        (self.scope_id, [p[0] for p in params]))

    def set_archived(self, identity: str, archived: bool) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE gwsync_items SET archived = %s, updated = now() "
                         "WHERE scope_id = %s AND identity = %s", (archived, self.scope_id, identity))

    # -- create intents -------------------------------------------------------------

    def add_intents(self, entries: Iterable[tuple[str, str]]) -> None:
        self._write_many("INSERT INTO gwsync_intents (scope_id, identity, product_id) VALUES (%s,%s,%s) "
                         "ON CONFLICT (scope_id, identity) DO UPDATE SET created = now()", entries)

    def clear_intents(self, identities: Iterable[str]) -> None:
        wanted = list(identities)
        if wanted:
            self._write("DELETE FROM gwsync_intents WHERE scope_id = %s AND identity = ANY(%s)", (wanted,))

    def intents(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._rows("SELECT identity, product_id FROM gwsync_intents "
                                                 "WHERE scope_id = %s")]

    def intent_age(self) -> float | None:
        """Seconds since the newest intent was recorded (the server's clock); None without intents."""
        rows = self._rows("SELECT EXTRACT(EPOCH FROM now() - MAX(created)) FROM gwsync_intents "
                          "WHERE scope_id = %s")
        return None if rows[0][0] is None else max(float(rows[0][0]), 0.0)

    # -- images, tags, meta, runs -------------------------------------------------------

    def image_by_key(self, cache_key: str) -> str | None:
        return self._one("SELECT url FROM gwsync_image_keys WHERE scope_id = %s AND cache_key = %s",
                         image_key(cache_key))

    def image_by_hash(self, sha256: str) -> str | None:
        return self._one("SELECT url FROM gwsync_image_blobs WHERE scope_id = %s AND sha256 = %s", sha256)

    def images_by_keys(self, cache_keys: Iterable[str]) -> dict[str, str]:
        """The hosted URLs of many source images (a page's) in one round trip."""
        by_digest = {image_key(key): key for key in cache_keys}
        if not by_digest:
            return {}
        rows = self._rows("SELECT cache_key, url FROM gwsync_image_keys WHERE scope_id = %s "
                          "AND cache_key = ANY(%s)", (list(by_digest),))
        return {by_digest[digest]: url for digest, url in rows}

    def save_blob(self, sha256: str, url: str) -> None:
        self._write("INSERT INTO gwsync_image_blobs VALUES (%s,%s,%s) ON CONFLICT DO NOTHING", (sha256, url))

    def save_images(self, rows: Iterable[ImageRow]) -> None:
        """Hosted images, a batch in one transaction (pipelined: one round trip per table)."""
        keys, blobs = image_rows(rows)
        if not keys:
            return
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany("INSERT INTO gwsync_image_keys VALUES (%s,%s,%s) ON CONFLICT (scope_id, cache_key) "
                            "DO UPDATE SET url = EXCLUDED.url", [(self.scope_id, *row) for row in keys])
            if blobs:
                cur.executemany("INSERT INTO gwsync_image_blobs VALUES (%s,%s,%s) ON CONFLICT (scope_id, sha256) "
                                "DO UPDATE SET url = EXCLUDED.url", [(self.scope_id, *row) for row in blobs])

    def has_image_blobs(self) -> bool:
        return bool(self._rows("SELECT 1 FROM gwsync_image_blobs WHERE scope_id = %s LIMIT 1"))

    def save_image_digest(self, key_digest: str, url: str) -> None:
        self._write("INSERT INTO gwsync_image_keys VALUES (%s,%s,%s) ON CONFLICT DO NOTHING", (key_digest, url))

    def variant_tag_group(self, guid: str) -> str | None:
        return self._one("SELECT group_key FROM gwsync_variant_tags WHERE scope_id = %s AND guid = %s", guid)

    def add_retry(self, product_id: str, kind: str, body: str, reason: str) -> None:
        self._write("INSERT INTO gwsync_retries (scope_id, product_id, kind, body, reason) VALUES (%s,%s,%s,%s,%s) "
                    "ON CONFLICT (scope_id, product_id) DO UPDATE SET kind = EXCLUDED.kind, body = EXCLUDED.body, "
                    "reason = EXCLUDED.reason, attempts = gwsync_retries.attempts + 1, updated = now()",
                    (product_id, kind, body, reason))

    def retries(self) -> list[RetryEntry]:
        rows = self._rows("SELECT product_id, kind, body, reason, attempts FROM gwsync_retries "
                          "WHERE scope_id = %s ORDER BY updated")
        return [RetryEntry(*row) for row in rows]

    def clear_retries(self, product_ids: Iterable[str]) -> None:
        wanted = list(product_ids)
        if wanted:
            self._write("DELETE FROM gwsync_retries WHERE scope_id = %s AND product_id = ANY(%s)", (wanted,))

    def variant_tag(self, group_key: str) -> str | None:
        return self._one("SELECT guid FROM gwsync_variant_tags WHERE scope_id = %s AND group_key = %s", group_key)

    def variant_tags(self, group_keys: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(group_keys))
        if not wanted:
            return {}
        return dict(self._rows("SELECT group_key, guid FROM gwsync_variant_tags WHERE scope_id = %s "
                               "AND group_key = ANY(%s)", (wanted,)))

    def save_variant_tag(self, group_key: str, guid: str, name: str) -> None:
        self.save_variant_tags([(group_key, guid, name)])

    def save_variant_tags(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(group key, tag guid, tag name) rows, in one transaction."""
        self._write_many("INSERT INTO gwsync_variant_tags VALUES (%s,%s,%s,%s) ON CONFLICT (scope_id, group_key) "
                         "DO UPDATE SET guid = EXCLUDED.guid, name = EXCLUDED.name", rows)

    def get_meta(self, key: str) -> str | None:
        return self._one("SELECT value FROM gwsync_meta WHERE scope_id = %s AND key = %s", key)

    def set_meta(self, key: str, value: str) -> None:
        self._write("INSERT INTO gwsync_meta VALUES (%s,%s,%s) ON CONFLICT (scope_id, key) "
                    "DO UPDATE SET value = EXCLUDED.value", (key, value))

    def record_run(self, started: float, status: str, summary: dict) -> None:
        with self._conn() as conn, conn.transaction():
            conn.execute("INSERT INTO gwsync_runs (scope_id, started, finished, status, summary) "
                         "VALUES (%s, to_timestamp(%s), now(), %s, %s)",
                         (self.scope_id, started, status, json.dumps(summary)))
            conn.execute("DELETE FROM gwsync_runs WHERE scope_id = %s AND id <= (SELECT id FROM gwsync_runs "
                         "WHERE scope_id = %s ORDER BY id DESC OFFSET %s LIMIT 1)",
                         (self.scope_id, self.scope_id, RUNS_KEPT))

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self._rows("SELECT started, finished, status, summary FROM gwsync_runs WHERE scope_id = %s "
                          "ORDER BY id DESC LIMIT %s", (limit,))
        return [{"started": s.isoformat(), "finished": f.isoformat(), "status": status,
                 "summary": json.loads(summary)} for s, f, status, summary in rows]

    def summary(self) -> dict[str, Any]:
        (live, archived), = self._rows("SELECT count(*) FILTER (WHERE NOT archived AND guid IS NOT NULL), "
                                       "count(*) FILTER (WHERE archived) FROM gwsync_items WHERE scope_id = %s")
        counts = [self._one(f"SELECT count(*) FROM gwsync_{table} WHERE scope_id = %s")
                  for table in ("intents", "image_keys", "variant_tags")]
        return summary(live, archived, *counts, cursor=self.get_meta("cursor"))

    def reset(self) -> None:
        """Forget everything of this scope (the Gateway stays the truth: the next run rebuilds)."""
        with self._conn() as conn, conn.transaction():
            for table in STATE_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE scope_id = %s", (self.scope_id,))

    def _one(self, sql: str, *args: Any) -> Any:
        rows = self._rows(sql, args)
        return rows[0][0] if rows else None

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()


def _item(row: tuple) -> ItemState:
    identity, product_id, variant_id, guid, hash_, payload, archived = row
    return ItemState(identity, product_id, variant_id, guid, hash_,
                     json.loads(payload) if payload else None, bool(archived))


def holder_name() -> str:
    """Who holds a lease, for the operator: host, pid and a random tag (pids repeat across pods)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class PgLease:
    """An expiring lease per scope, renewed by a heartbeat thread while the run lives.

    `on_lost` is called if a renewal finds the lease taken over (the run stalled past
    its expiry): the run must then stop at its next safe point.
    """

    def __init__(self, pool: Any, scope: int, *, ttl: float = 60.0, holder: str | None = None,
                 on_lost: Callable[[], None] | None = None) -> None:
        self.pool, self.scope, self.ttl = pool, scope, ttl
        self.holder = holder or holder_name()
        self.on_lost = on_lost or (lambda: None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO gwsync_leases (scope_id, holder, acquired, expires) "
                "VALUES (%s, %s, now(), now() + make_interval(secs => %s)) "
                "ON CONFLICT (scope_id) DO UPDATE SET holder = EXCLUDED.holder, acquired = EXCLUDED.acquired, "
                "expires = EXCLUDED.expires WHERE gwsync_leases.expires < now() RETURNING holder",
                (self.scope, self.holder, self.ttl)).fetchone()
            if row is None:
                other = conn.execute("SELECT holder, expires FROM gwsync_leases WHERE scope_id = %s",
                                     (self.scope,)).fetchone()
                holder, expires = other if other else ("unknown", datetime.now(UTC))
                raise LockHeld(f"another run for this shop holds its lease ({holder}) until "
                               f"{expires.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC; nothing was done")
        self._thread = threading.Thread(target=self._heartbeat, name="gwsync-lease", daemon=True)
        self._thread.start()

    def renew(self) -> bool:
        with self.pool.connection() as conn:
            cur = conn.execute("UPDATE gwsync_leases SET expires = now() + make_interval(secs => %s) "
                               "WHERE scope_id = %s AND holder = %s", (self.ttl, self.scope, self.holder))
            return cur.rowcount == 1

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not self.renew():
                    log.error("the shop's lease was taken over by another run; stopping at the next safe point")
                    self.on_lost()
                    return
            except Exception as exc:  # a passing database fault: try again before the lease ends
                log.warning("could not renew the shop's lease: %s", _clean(exc))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM gwsync_leases WHERE scope_id = %s AND holder = %s", (self.scope, self.holder))

    def __enter__(self) -> PgLease:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
