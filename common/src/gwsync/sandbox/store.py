"""SQLite storage of the sandbox: shops, products, tags, objects, journal.

One connection guarded by a re-entrant lock: the server is threaded, a batch
must be all-or-nothing, and ":memory:" must work, which rules out one
connection per thread. File databases use WAL so that a second process (the
`new-shop` command) can add a shop while the server runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .categories import MARKETPLACE_ORG, category_nodes

JOURNAL_BODY_LIMIT = 1_000_000  # characters of JSON kept per journaled body

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shops (
    guid TEXT PRIMARY KEY, key_b64 TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    guid TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, doc TEXT NOT NULL,
    stock_level INTEGER NOT NULL, for_sale INTEGER NOT NULL, archived TEXT,
    revision INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS products_owner ON products(owner, seq);
CREATE TABLE IF NOT EXISTS tags (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    guid TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, type TEXT NOT NULL,
    name TEXT NOT NULL, parent_guid TEXT NOT NULL, path TEXT, created TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS tags_identity
    ON tags(owner, type, name) WHERE type <> 'category';
CREATE TABLE IF NOT EXISTS product_tags (
    product_guid TEXT NOT NULL, tag_guid TEXT NOT NULL,
    PRIMARY KEY (product_guid, tag_guid));
CREATE INDEX IF NOT EXISTS product_tags_tag ON product_tags(tag_guid);
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY, content_type TEXT NOT NULL, data BLOB NOT NULL,
    source_url TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, query TEXT NOT NULL, route TEXT NOT NULL, shop TEXT,
    status INTEGER NOT NULL, fault TEXT, body TEXT, body_truncated INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS journal_route ON journal(route);
CREATE TABLE IF NOT EXISTS counters (
    route TEXT PRIMARY KEY, requests INTEGER NOT NULL, errors INTEGER NOT NULL);
"""


def now_iso() -> str:
    """ISO 8601 in UTC with microseconds, the Gateway's timestamp format."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def normalize_guid(value: str) -> str:
    """Lower-case hyphenated form; ValueError when not a UUID."""
    return str(uuid.UUID(str(value)))


def decode_key(key_b64: str) -> bytes:
    """The signing key is the decoded bytes of standard base64 text (spec 3)."""
    try:
        key = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the shop key must be standard base64") from exc
    if not key:
        raise ValueError("the shop key is empty")
    return key


@dataclass
class ProductRow:
    guid: str
    owner: str
    doc: dict[str, Any]  # product fields; shop fields live in the columns below
    stock_level: int
    for_sale: bool
    archived: str | None
    revision: int
    created: str
    updated: str


@dataclass(frozen=True)
class TagRow:
    guid: str
    owner: str
    type: str
    name: str
    parent_guid: str
    path: str | None = None
    created: str = field(default_factory=now_iso)


@dataclass
class JournalEntry:
    method: str
    path: str
    query: str
    route: str
    status: int
    shop: str | None = None
    fault: str | None = None
    body: Any = None  # serialised to JSON for the journal
    raw_json: str | None = None  # the JSON text as received, kept as is (exact numbers)
    ts: str = field(default_factory=now_iso)


class TagExists(Exception):
    def __init__(self, guid: str) -> None:
        super().__init__(guid)
        self.guid = guid


class Store:
    """Persistence only: callers build documents, the store keeps them."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 10000")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(SCHEMA)
        self._seed_categories()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock; nested use joins the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # -- meta -----------------------------------------------------------

    def secret(self, name: str) -> bytes:
        """A random secret created once per database (e.g. to sign upload policies)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT v FROM meta WHERE k = ?", (name,)).fetchone()
            if row:
                return bytes.fromhex(row["v"])
            value = secrets.token_bytes(32)
            conn.execute("INSERT INTO meta (k, v) VALUES (?, ?)", (name, value.hex()))
            return value

    # -- shops ----------------------------------------------------------

    def add_shop(self, guid: str, key_b64: str) -> str:
        """Create the shop, or change its key; returns the normalised guid."""
        guid = normalize_guid(guid)
        decode_key(key_b64)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO shops (guid, key_b64, created) VALUES (?, ?, ?) "
                "ON CONFLICT(guid) DO UPDATE SET key_b64 = excluded.key_b64",
                (guid, key_b64, now_iso()),
            )
        return guid

    def shop_key(self, guid: str) -> bytes | None:
        rows = self._query("SELECT key_b64 FROM shops WHERE guid = ?", (guid.lower(),))
        return decode_key(rows[0]["key_b64"]) if rows else None

    def shops(self) -> list[dict[str, Any]]:
        """Each shop with its name, product counts, catalogs (source platform and shop) and the
        time of its last request (a tool's last run)."""
        rows = self._query(
            "SELECT s.guid, s.created, "
            "(SELECT v FROM meta WHERE k = 'shop_name:' || s.guid) AS name, "
            "(SELECT COUNT(*) FROM products p WHERE p.owner = s.guid) AS products, "
            "(SELECT COUNT(*) FROM products p WHERE p.owner = s.guid AND p.archived IS NULL) AS live, "
            "(SELECT MAX(ts) FROM journal j WHERE j.shop = s.guid) AS last_request, "
            "(SELECT group_concat(src, ', ') FROM (SELECT DISTINCT "
            "  json_extract(p.doc, '$.data.source.platform') || ' · ' || json_extract(p.doc, '$.data.source.shop')"
            "  AS src FROM products p WHERE p.owner = s.guid AND json_extract(p.doc, '$.data.source.shop') "
            "  IS NOT NULL ORDER BY src)) AS sources "
            "FROM shops s ORDER BY s.created, s.guid"
        )
        return [dict(row) for row in rows]

    def set_shop_name(self, guid: str, name: str) -> None:
        """A name for people (the page's index); shops work without one."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
                         (f"shop_name:{normalize_guid(guid)}", name))

    # -- products -------------------------------------------------------

    def insert_products(self, rows: list[ProductRow]) -> None:
        with self.transaction() as conn:
            for row in rows:
                conn.execute(
                    "INSERT INTO products (guid, owner, doc, stock_level, for_sale, archived, "
                    "revision, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (row.guid, row.owner, json.dumps(row.doc), row.stock_level, int(row.for_sale),
                     row.archived, row.revision, row.created, row.updated),
                )
                self._link_tags(conn, row)

    def save_product(self, row: ProductRow) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE products SET doc = ?, stock_level = ?, for_sale = ?, archived = ?, "
                "revision = ?, updated = ? WHERE guid = ?",
                (json.dumps(row.doc), row.stock_level, int(row.for_sale), row.archived,
                 row.revision, row.updated, row.guid),
            )
            self._link_tags(conn, row)

    @staticmethod
    def _link_tags(conn: sqlite3.Connection, row: ProductRow) -> None:
        conn.execute("DELETE FROM product_tags WHERE product_guid = ?", (row.guid,))
        conn.executemany(
            "INSERT OR IGNORE INTO product_tags (product_guid, tag_guid) VALUES (?, ?)",
            [(row.guid, tag) for tag in row.doc.get("tag_guids") or []],
        )

    def get_product(self, guid: str) -> ProductRow | None:
        rows = self._query("SELECT * FROM products WHERE guid = ?", (guid.lower(),))
        return _product_row(rows[0]) if rows else None

    def products_by_guid(self, guids: list[str]) -> list[ProductRow]:
        found: list[ProductRow] = []
        for start in range(0, len(guids), 500):  # stay under SQLite's variable limit
            chunk = guids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found += [_product_row(r) for r in self._query(
                f"SELECT * FROM products WHERE guid IN ({marks})", chunk)]
        return found

    def product_revisions(self, owner: str) -> list[tuple[str, int]]:
        """(guid, revision) of every product of a shop, oldest first."""
        rows = self._query("SELECT guid, revision FROM products WHERE owner = ? ORDER BY seq", (owner,))
        return [(row["guid"], row["revision"]) for row in rows]

    def delete_product(self, guid: str) -> bool:
        with self.transaction() as conn:
            gone = conn.execute("DELETE FROM products WHERE guid = ?", (guid,)).rowcount
            conn.execute("DELETE FROM product_tags WHERE product_guid = ?", (guid,))
        return bool(gone)

    def product_guids_with_tag(self, tag_guid: str) -> list[str]:
        rows = self._query("SELECT product_guid FROM product_tags WHERE tag_guid = ?", (tag_guid,))
        return [row["product_guid"] for row in rows]

    # -- tags -----------------------------------------------------------

    def _seed_categories(self) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO tags (guid, owner, type, name, parent_guid, path, created) "
                "VALUES (?, ?, 'category', ?, ?, ?, ?)",
                [(n.guid, str(MARKETPLACE_ORG), n.name, n.parent_guid, n.path, now_iso())
                 for n in category_nodes()],
            )

    def insert_tag(self, tag: TagRow) -> None:
        """Raises TagExists when (owner, type, name) is taken."""
        with self.transaction() as conn:
            taken = conn.execute(
                "SELECT guid FROM tags WHERE owner = ? AND type = ? AND name = ?",
                (tag.owner, tag.type, tag.name),
            ).fetchone()
            if taken:
                raise TagExists(taken["guid"])
            conn.execute(
                "INSERT INTO tags (guid, owner, type, name, parent_guid, path, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tag.guid, tag.owner, tag.type, tag.name, tag.parent_guid, tag.path, tag.created),
            )

    def get_tag(self, guid: str) -> TagRow | None:
        rows = self._query("SELECT * FROM tags WHERE guid = ?", (guid.lower(),))
        return _tag_row(rows[0]) if rows else None

    def visible_tags(self, shop: str, tag_type: str | None = None) -> list[TagRow]:
        """Marketplace categories plus the shop's own tags, never another shop's (B9)."""
        sql = "SELECT * FROM tags WHERE (owner = ? OR type = 'category')"
        params: list[Any] = [shop]
        if tag_type is not None:
            sql += " AND type = ?"
            params.append(tag_type)
        return [_tag_row(r) for r in self._query(sql + " ORDER BY seq", params)]

    def shop_tags(self, shop: str) -> list[TagRow]:
        return [_tag_row(r) for r in self._query(
            "SELECT * FROM tags WHERE owner = ? AND type <> 'category' ORDER BY seq", (shop,))]

    def all_tags(self) -> list[TagRow]:
        return [_tag_row(r) for r in self._query("SELECT * FROM tags ORDER BY seq")]

    def delete_tag(self, guid: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM tags WHERE guid = ?", (guid,))
            conn.execute("DELETE FROM product_tags WHERE tag_guid = ?", (guid,))

    def tag_links(self, shop: str) -> dict[str, list[str]]:
        """tag guid -> guids of this shop's products carrying it, oldest product first."""
        rows = self._query(
            "SELECT pt.tag_guid, pt.product_guid FROM product_tags pt "
            "JOIN products p ON p.guid = pt.product_guid WHERE p.owner = ? ORDER BY p.seq",
            (shop,),
        )
        links: dict[str, list[str]] = {}
        for row in rows:
            links.setdefault(row["tag_guid"], []).append(row["product_guid"])
        return links

    # -- stored objects (images) ----------------------------------------

    def put_object(self, key: str, data: bytes, content_type: str, source_url: str | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO objects (key, content_type, data, source_url, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, content_type, data, source_url, now_iso()),
            )

    def get_object(self, key: str) -> tuple[bytes, str] | None:
        rows = self._query("SELECT data, content_type FROM objects WHERE key = ?", (key,))
        return (bytes(rows[0]["data"]), rows[0]["content_type"]) if rows else None

    # -- journal and counters (B15) -------------------------------------

    def record_request(self, entry: JournalEntry) -> None:
        body, truncated = _journal_body(entry.body, entry.raw_json)
        failed = int(entry.status >= 400)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO journal (ts, method, path, query, route, shop, status, fault, body, "
                "body_truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.ts, entry.method, entry.path, entry.query, entry.route, entry.shop,
                 entry.status, entry.fault, body, int(truncated)),
            )
            conn.execute(
                "INSERT INTO counters (route, requests, errors) VALUES (?, 1, ?) "
                "ON CONFLICT(route) DO UPDATE SET requests = requests + 1, errors = errors + ?",
                (entry.route, failed, failed),
            )

    def journal(self, route: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Journaled requests, oldest first (the last `limit` ones when given)."""
        sql, params = "SELECT * FROM journal", []
        if route:
            sql += " WHERE route = ?"
            params.append(route)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._query(sql, params)
        return [_journal_dict(row) for row in reversed(rows)]

    def counters(self) -> dict[str, dict[str, int]]:
        rows = self._query("SELECT route, requests, errors FROM counters ORDER BY route")
        return {row["route"]: {"requests": row["requests"], "errors": row["errors"]} for row in rows}

    def fault_counts(self) -> dict[str, int]:
        rows = self._query("SELECT fault, COUNT(*) AS n FROM journal WHERE fault IS NOT NULL GROUP BY fault")
        return {row["fault"]: row["n"] for row in rows}

    def reset_stats(self) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM journal")
            conn.execute("DELETE FROM counters")


def _product_row(row: sqlite3.Row) -> ProductRow:
    return ProductRow(
        guid=row["guid"], owner=row["owner"], doc=json.loads(row["doc"]),
        stock_level=row["stock_level"], for_sale=bool(row["for_sale"]), archived=row["archived"],
        revision=row["revision"], created=row["created"], updated=row["updated"],
    )


def _tag_row(row: sqlite3.Row) -> TagRow:
    return TagRow(guid=row["guid"], owner=row["owner"], type=row["type"], name=row["name"],
                  parent_guid=row["parent_guid"], path=row["path"], created=row["created"])


def _journal_body(body: Any, raw_json: str | None) -> tuple[str | None, bool]:
    if raw_json is None and body is None:
        return None, False
    text = raw_json if raw_json is not None else json.dumps(body, ensure_ascii=False, default=str)
    if len(text) > JOURNAL_BODY_LIMIT:
        return text[:JOURNAL_BODY_LIMIT], True
    return text, False


def _journal_dict(row: sqlite3.Row) -> dict[str, Any]:
    entry = dict(row)
    truncated = bool(entry.pop("body_truncated"))
    text = entry.pop("body")
    # A truncated body is no longer JSON: keep the text so that it stays readable.
    entry["body"] = text if truncated or text is None else json.loads(text)
    entry["body_truncated"] = truncated
    return entry
