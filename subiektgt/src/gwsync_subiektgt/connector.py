"""Subiekt GT connector: settings, database identity, check, and a bulk (incremental) read.

A full read takes a handful of queries whatever the catalog's size: company settings
(tw_Parametr), warehouses, the change-log clock, stock (one aggregate over tw_Stan),
photo metadata, then the goods in short keyset pages; BLOBs only for photos never
uploaded. An incremental read replaces the goods pages by the change log, a narrow
listing and the changed groups; every other good gets its stock and price re-sent as a
`StockUpdate` (stock leaves no trace in the change log), and the listing's ids are
reported `Present`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import ConfigError
from gwsync.http import CallStats
from gwsync.kit import Facts, KeysetPaginator, shop_identity
from gwsync.kit.pagination import rows as page_rows
from gwsync.models import Item, Present, StockUpdate

from . import schema
from .database import SubiektDatabase, bound_value, cursor_value, needs_password, parse_url, shown
from .mapping import (
    HOME_CURRENCY,
    Photo,
    Rules,
    decimal,
    flag,
    group_key,
    map_rows,
    photo_id_of,
    price_problem,
    product_id,
    text,
)
from .photos import PhotoFetcher

log = logging.getLogger(__name__)

PRODUCT_PAGE = 500
LISTING_PAGE = 5000
ID_CHUNK = 500  # goods per `IN (...)` when re-reading changed groups
GROUPINGS = ("model", "none")


def _fields(raw: Any) -> tuple[int, ...]:
    parts = [p.strip() for p in str(raw or "").replace(";", ",").split(",") if p.strip()]
    try:
        numbers = tuple(int(p.lower().removeprefix("tw_pole")) for p in parts)
    except ValueError:
        numbers = (0,)
    if any(n not in schema.FIELD_NUMBERS for n in numbers):
        raise ConfigError("SUBIEKT_OPTION_FIELDS must list product field numbers 1-8, e.g. 1,2 for tw_Pole1, tw_Pole2")
    return tuple(dict.fromkeys(numbers))


def _level(raw: Any) -> int:
    try:
        level = int(str(raw or "1").strip())
    except ValueError:
        level = 0
    if level not in schema.PRICE_LEVELS:
        raise ConfigError("SUBIEKT_PRICE_LEVEL must be a price level 1-10 (Subiekt's 'cena 1' ... 'cena 10')")
    return level


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


class SubiektGTConnector(Connector):
    platform = "subiektgt"
    title = "Subiekt GT"
    no_stock_write = ("Subiekt GT changes stock only through its own documents; writing tw_Stan directly "
                      "corrupts it. 'gateway-subiektgt stock' still brings its stock to the Gateway")
    # The window is Subiekt's own tw_ZmianaTw time, kept as the database returned it and bound
    # back unchanged (meta["clock"]); the kit's cursor decides full reads (daily, --full, settings).
    facts = Facts(paging="keyset", page_size=PRODUCT_PAGE, row_key="tw_Id", cursor_field="twz_CzasModyf",
                  margin=timedelta(0))
    settings = (
        Setting("db_url", "SUBIEKT_DB_URL",
                "Company database as a SQLAlchemy URL, e.g. mssql+pymssql://user@host:1433/DATABASE",
                secret=True, credential=True),
        Setting("db_password", "SUBIEKT_DB_PASSWORD", "Password of the SQL login named in SUBIEKT_DB_URL",
                secret=True, credential=True, required=False,
                required_when=lambda values: needs_password(values.get("db_url"))),
        Setting("schema", "SUBIEKT_SCHEMA", "Database schema of Subiekt's tables (default: the login's, "
                "usually dbo)", required=False),
        Setting("price_level", "SUBIEKT_PRICE_LEVEL", "Price level 1-10 to sell at (gross, PLN)", required=False,
                default="1", kind="int"),
        Setting("warehouses", "SUBIEKT_WAREHOUSES", "Warehouse symbols whose stock counts, e.g. MAG,SKL "
                "(default: the main warehouse)", required=False),
        Setting("variant_grouping", "SUBIEKT_VARIANT_GROUPING", "model = one variant group per Subiekt model "
                "(sl_ModelTw); none = every good on its own", required=False, default="model"),
        Setting("option_fields", "SUBIEKT_OPTION_FIELDS", "Product fields holding the variant options, e.g. 1,2 "
                "for tw_Pole1, tw_Pole2 (named as in Subiekt's settings)", required=False),
    )

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        super().__init__(config, stats)
        self.url = parse_url(self.config.get("db_url"), self.config.get("db_password"))
        self.schema = text(self.config.get("schema")) or None
        self.price_level = _level(self.config.get("price_level"))
        grouping = text(self.config.get("variant_grouping") or "model").lower()
        if grouping not in GROUPINGS:
            raise ConfigError("SUBIEKT_VARIANT_GROUPING must be 'model' or 'none'")
        self.group_by_model = grouping == "model"
        self.option_fields = _fields(self.config.get("option_fields"))
        self.warehouse_symbols = tuple(dict.fromkeys(
            p.strip().upper() for p in str(self.config.get("warehouses") or "").split(",") if p.strip()))
        self.db = SubiektDatabase(self.url, self.schema, self.stats)
        self.photos = PhotoFetcher(self.db)

    @property
    def shop(self) -> str:
        """Server, port and database (one database per company), plus the schema when one is set."""
        url = self.url
        if url.host:
            port = f":{url.port}" if url.port else ""
            return shop_identity(f"mssql://{url.host}{port}/{url.database or ''}", qualifier=self.schema,
                                 setting="SUBIEKT_DB_URL")
        where = f"file:{Path(url.database).resolve()}" if url.database else url.drivername
        return f"{where}#{self.schema}" if self.schema else where

    # -- check -------------------------------------------------------------------

    def check(self) -> str:
        counts = self.db.counts()  # no tw__Towar or no rights: one clear error
        self.db.probe_tables()
        chosen, every = self._warehouses()
        parameters = self.db.parameters()
        level_name = text(parameters.get(f"twp_NazwaCeny{self.price_level}")) or f"cena {self.price_level}"
        left_out = _left_out(counts)
        seen = ", ".join(f"{text(w['mag_Symbol'])} ({text(w['mag_Nazwa'])})" for w in every) or "none"
        return (f"{shown(self.url)}: {counts['importable']} goods to import "
                f"({counts['blocked']} of them blocked: inactive); left out: {left_out or 'nothing'}; "
                f"price level {self.price_level} '{level_name}'; stock from "
                f"{', '.join(text(w['mag_Symbol']) for w in chosen)}; warehouses seen: {seen}")

    def fetch_image(self, url: str) -> bytes:
        photo_id = photo_id_of(url)
        if photo_id is None:
            raise ConfigError(f"not a Subiekt photo reference: {url}")
        return self.photos.get(photo_id)

    def close(self) -> None:
        self.db.close()

    # -- lookups -------------------------------------------------------------------

    def _warehouses(self) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
        every = self.db.warehouses()
        if not self.warehouse_symbols:
            main = [w for w in every if flag(w["mag_Glowny"])]
            if not main:
                raise ConfigError("SUBIEKT_WAREHOUSES is not set and Subiekt has no main warehouse; set it to "
                                  "the symbols whose stock counts, e.g. MAG")
            return main, every
        by_symbol = {text(w["mag_Symbol"]).upper(): w for w in every}
        unknown = [sym for sym in self.warehouse_symbols if sym not in by_symbol]
        if unknown:
            raise ConfigError(f"SUBIEKT_WAREHOUSES: no warehouse {', '.join(unknown)} in Subiekt; it has "
                              + (", ".join(sorted(by_symbol)) or "none"))
        return [by_symbol[sym] for sym in self.warehouse_symbols], every

    def _rules(self, notes: list[str]) -> Rules:
        parameters = self.db.parameters()
        names = {}
        for n in self.option_fields:
            label = text(parameters.get(f"twp_Nazwa{n}"))
            if not label:
                label = f"Pole {n}"
                notes.append(f"Subiekt GT: tw_Pole{n} has no name in Subiekt's settings; its options are "
                             f"named '{label}'")
            names[n] = label
        if self.group_by_model and not self.option_fields:
            notes.append("Subiekt GT: SUBIEKT_OPTION_FIELDS is not set; the goods of a model are told apart by "
                         "their symbol (option 'Symbol')")
        return Rules(price_level=self.price_level, group_by_model=self.group_by_model,
                     option_fields=self.option_fields, option_names=names,
                     level_currency=text(parameters.get(f"twp_WalutaCeny{self.price_level}")) or HOME_CURRENCY)

    # -- read --------------------------------------------------------------------------

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        cursor = self.facts.cursor(ctx, what="Subiekt GT")
        rules = self._rules(ctx.notes)
        warehouses = sorted(w["mag_Id"] for w in self._warehouses()[0])
        settings = _digest([rules.price_level, rules.group_by_model, rules.option_fields,
                            sorted(rules.option_names.items()), rules.level_currency, warehouses, self.schema])
        if cursor.meta.get("settings") != settings:
            cursor.force_full("the settings or Subiekt's option names changed")
        clock = self.db.change_clock()  # before the goods: what changes during the read is read again next run
        if clock is None or not cursor.meta.get("clock"):
            cursor.force_full("no change-log time to start from (tw_ZmianaTw)")
        stock = self.db.stock(warehouses)
        photos = self.db.photos()
        groups: dict[str, str] = {}
        if cursor.full:
            left_out = _left_out(self.db.counts())
            if left_out:
                ctx.notes.append(f"Subiekt GT: rows left out by rule (not goods for the e-shop): {left_out}")
            yield from self._read_all(rules, stock, photos, ctx.known_product_ids, groups)
        else:
            yield from self._read_changed(rules, stock, photos, ctx.known_product_ids, groups,
                                          cursor.meta, bound_value(cursor.meta["clock"]))
        cursor.meta.update(settings=settings, clock=cursor_value(clock), groups=groups)
        if clock is not None:
            cursor.saw("tw_ZmianaTw", clock)
        else:
            ctx.notes.append("Subiekt GT: the change log (tw_ZmianaTw) is empty; every run reads everything")
        cursor.commit()

    @staticmethod
    def _yield_group(rows: Sequence[Mapping[str, Any]], rules: Rules, stock: Mapping[int, int],
                     photos: Mapping[int, Sequence[Photo]], groups: dict[str, str]) -> Iterator[Item]:
        groups[group_key(rows[0], rules)] = _fingerprint(rows, photos)
        yield from map_rows(rows, stock, photos, rules)

    def _expect_photos(self, rows: Sequence[Mapping[str, Any]], rules: Rules,
                       photos: Mapping[int, Sequence[Photo]], known: frozenset[str]) -> Iterator[Mapping[str, Any]]:
        """Pass rows on, announcing a page's photos first: a BLOB query can then take the next
        photos of new products from the whole page, not only from the few products in flight."""
        for row in rows:
            self.photos.expect(photos.get(row["tw_Id"], ()), prefetch=group_key(row, rules) not in known)
        yield from rows

    def _read_all(self, rules: Rules, stock: Mapping[int, int], photos: Mapping[int, Sequence[Photo]],
                  known: frozenset[str], groups: dict[str, str]) -> Iterator[Item]:
        pages = KeysetPaginator(lambda after, size: self.db.product_page(rules, after, size), size=PRODUCT_PAGE,
                                what="Subiekt GT goods (tw__Towar)",
                                key=lambda row: (row["group_key"], row["tw_Id"]))
        announced = (row for page in pages for row in self._expect_photos(page, rules, photos, known))
        for rows in _grouped(announced, rules):
            yield from self._yield_group(rows, rules, stock, photos, groups)

    def _read_changed(self, rules: Rules, stock: Mapping[int, int], photos: Mapping[int, Sequence[Photo]],
                      known: frozenset[str], groups: dict[str, str], meta: Mapping[str, Any],
                      since: Any) -> Iterator[Item]:
        """Changed groups in full; every other good as a stock and price update."""
        changed = self.db.changed_since(since)
        before: Mapping[str, str] = meta.get("groups") or {}
        members: dict[str, list[Mapping[str, Any]]] = {}
        listing = KeysetPaginator(lambda after, size: self.db.listing_page(rules, after, size), size=LISTING_PAGE,
                                  what="Subiekt GT goods listing (tw__Towar)", key=lambda row: row["tw_Id"])
        for row in page_rows(listing):
            members.setdefault(group_key(row, rules), []).append(row)
        reread: list[list[int]] = []
        for pid, rows in members.items():
            fingerprint = _fingerprint(rows, photos)
            if (pid not in known or before.get(pid) != fingerprint or any(r["tw_Id"] in changed for r in rows)
                    or any(price_problem(r, rules) for r in rows)):
                reread.append([r["tw_Id"] for r in rows])
                continue
            groups[pid] = fingerprint
            for row in rows:
                _, variant_id = product_id(row, rules)
                yield StockUpdate(product_id=pid, variant_id=variant_id, stock=stock.get(row["tw_Id"], 0),
                                  price=decimal(row["gross"]))
        for chunk in _chunks(reread, ID_CHUNK):
            found = self.db.products_of(rules, chunk)
            for rows in _grouped(self._expect_photos(found, rules, photos, known), rules):
                yield from self._yield_group(rows, rules, stock, photos, groups)
        yield Present(product_ids=tuple(members))


def _left_out(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{counts[k]} {label}" for k, label in (
        ("services", "services"), ("sets", "sets"), ("other", "other kinds"), ("deleted", "deleted"),
        ("not_for_shop", "not for the e-shop (tw_SklepInternet)")) if counts[k])


def _fingerprint(rows: Iterable[Mapping[str, Any]], photos: Mapping[int, Sequence[Photo]]) -> str:
    """What may change without a change-log entry and that a stock update cannot carry:
    the group's members, their blocked flag and their photos, the model's name."""
    return _digest([[row["tw_Id"], flag(row["tw_Zablokowany"]), text(row.get("mdt_Nazwa")),
                     [[p.photo_id, text(p.crc), p.empty] for p in photos.get(row["tw_Id"], ())]]
                    for row in sorted(rows, key=lambda r: r["tw_Id"])])


def _grouped(rows: Iterable[Mapping[str, Any]], rules: Rules) -> Iterator[list[Mapping[str, Any]]]:
    """Consecutive rows of one model together; every lone good alone."""
    group: list[Mapping[str, Any]] = []
    for row in rows:
        if group and group_key(row, rules) != group_key(group[0], rules):
            yield group
            group = []
        group.append(row)
    if group:
        yield group


def _chunks(groups: list[list[int]], size: int) -> Iterator[list[int]]:
    """Ids in chunks of about `size`, a group never split between two."""
    chunk: list[int] = []
    for ids in groups:
        if chunk and len(chunk) + len(ids) > size:
            yield chunk
            chunk = []
        chunk.extend(ids)
    if chunk:
        yield chunk
