"""IAI / IdoSell Shop connector: settings, shop identity, check, (incremental) read, and step 2:
the stock pass (`read_stock`) and the writer `serve` applies the Gateway's sales with."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import ConfigError
from gwsync.http import RateLimiter
from gwsync.kit import ChangeCursor, Facts, shop_identity
from gwsync.models import Item, Present, Skipped

from .client import PAGE_LIMIT, REMOVED_ELEMENTS, SHOP_ELEMENTS, STOCK_ELEMENTS, DateWindow, IaiClient
from .mapping import (
    Options,
    SizeCatalog,
    change_time,
    map_unit,
    needs_size_names,
    product_id,
    stock_updates,
    unit_of,
    version_members,
)
from .stock import IdoSellStockWriter, write_stock_id

log = logging.getLogger(__name__)



class IaiConnector(Connector):
    platform = "iai"
    title = "IAI / IdoSell"
    summary = "Import an IdoSell (IAI) shop's catalog into the Gateway."
    # The search pages by number (0-based, 100 at most) in product id order, with the count in
    # every answer: the shift guard steps back when it drops. Change times are the panel's naive
    # Polish time; the margin covers saves in progress while a read pages; a full read at least
    # daily sees every deletion and trashed product, whatever the windows missed.
    facts = Facts(paging="page-number", page_size=PAGE_LIMIT, row_key="productId", shift_guard="count",
                  cursor_field="productModificationTime", time_zone="Europe/Warsaw",
                  margin=timedelta(seconds=60), rate_limit=5)
    settings = (
        Setting("url", "IAI_URL", "IdoSell panel URL, e.g. https://clientNNNN.idosell.com", kind="url"),
        Setting("api_key", "IAI_API_KEY", "IdoSell Admin API key (X-API-KEY)", secret=True, credential=True),
        Setting("stocks", "IAI_STOCKS", "Warehouse ids whose stock counts, comma-separated, or 'all'",
                required=False, default="all"),
        Setting("write_stock", "IAI_WRITE_STOCK",
                "Warehouse id serve books the Gateway's cancellations in and takes sales from first "
                "(default: the only one of IAI_STOCKS, else 1)",
                required=False, kind="int"),
        Setting("unknown_stock", "IAI_UNKNOWN_STOCK",
                "Stock sent for a size whose warehouses report only 'unknown' (-1)",
                required=False, default="0", kind="int"),
        Setting("language", "IAI_LANGUAGE", "Language of names and descriptions (ISO 639-3, e.g. pol)",
                required=False, default="pol"),
        Setting("shop_id", "IAI_SHOP_ID", "Shop id in a multi-shop panel (prices and visibility of that shop)",
                required=False, kind="int"),
        Setting("api_version", "IAI_API_VERSION", "Admin API version in the URL (/api/admin/v<N>/)",
                required=False, default="8", kind="int"),
    )

    def __init__(self, config: dict[str, Any], stats: Any = None) -> None:
        super().__init__(config, stats)
        url = str(self.config["url"]).strip().rstrip("/")
        for suffix in ("/api/admin", "/api"):  # tolerate a pasted API URL
            cut = url.lower().find(suffix)
            if cut > 0:
                url = url[:cut]
        self.base_url = url
        self.api_version = _int(self.config.get("api_version"), "api_version", 8)
        self.options = Options(
            language=str(self.config.get("language") or "pol").strip(),
            stock_ids=_stock_ids(self.config.get("stocks")),
            unknown_stock=max(_int(self.config.get("unknown_stock"), "unknown_stock", 0), 0),
            shop_id=_int(self.config.get("shop_id"), "shop_id", None),
            base_url=url + "/",
        )
        http = self.http(f"{url}/api/admin/v{self.api_version}/",
                         headers={"X-API-KEY": str(self.config["api_key"]), "Accept": "application/json"},
                         limiter=RateLimiter(self.facts.rate_limit, 5))
        self.client = IaiClient(http, language=self.options.language,
                                extra_elements=SHOP_ELEMENTS if self.options.shop_id is not None else ())
        self._http = http

    @property
    def shop(self) -> str:
        return shop_identity(self.base_url, setting="IAI_URL")

    def check(self) -> str:
        count = self.client.count_products()
        return f"IdoSell {self.shop}: {count} products readable with this API key (Admin API v{self.api_version})"

    def close(self) -> None:
        self._http.close()

    def stock_writer(self) -> IdoSellStockWriter:
        counted = self.options.stock_ids
        return IdoSellStockWriter(self.client, write_stock_id(self.config.get("write_stock"), counted), counted)

    # -- the stock pass ------------------------------------------------------

    def read_stock(self, ctx: ReadContext) -> Iterator[Item]:
        """Stock and prices of what changed: cheaper than the catalog read on every count.

        Two narrow searches (`returnElements` without texts or pictures) with IdoSell's own
        change filters, `quantity_changed` and `price_changed`, re-filtered to the second by
        `productQuantityChangedTime` / `productPriceChangedTime` (the filter compares whole
        days). The catalog read instead asks for modified products too, plus the trash, the
        deleted and the version siblings. An unchanged shop costs these two searches (a page
        each per 100 products changed on the cursor's day) and no Gateway write: unchanged
        items are compared with the state. A first or daily run reads every product, narrow.
        """
        cursor = self.facts.cursor(ctx, what="IdoSell stock")
        catalog: SizeCatalog | None = None
        seen: set[int] = set()
        for record, moment in self._stock_records(cursor):
            pid = product_id(record)
            if pid in seen:
                continue
            seen.add(pid)
            cursor.saw(pid, moment)
            if catalog is None and needs_size_names(record):  # only when a single size is ambiguous
                catalog = SizeCatalog.from_groups(self.client.size_groups(), self.options.language)
            yield from stock_updates(record, catalog or SizeCatalog(), self.options)
        cursor.commit()
        ctx.notes.append(f"IdoSell stock: {self.client.pages_read} search pages read, {len(seen)} products")

    def _stock_records(self, cursor: ChangeCursor) -> Iterator[tuple[dict[str, Any], str]]:
        """(record, its latest stock or price change time) of what the window covers."""
        if cursor.full:
            for record in self.client.iter_products(elements=self._stock_elements()):
                yield record, stock_change_time(record)
            return
        begin = cursor.since_local().date()
        window = DateWindow(begin=begin, end=max(date.today(), begin) + timedelta(days=1))
        for mode, field in (("quantity_changed", "productQuantityChangedTime"),
                            ("price_changed", "productPriceChangedTime")):
            for record in self.client.iter_products(window=window.with_mode(mode), elements=self._stock_elements()):
                if cursor.in_window(record.get(field)):
                    yield record, stock_change_time(record)

    def _stock_elements(self) -> tuple[str, ...]:
        return STOCK_ELEMENTS + (SHOP_ELEMENTS if self.options.shop_id is not None else ())

    # -- read --------------------------------------------------------------

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        cursor = self.facts.cursor(ctx, what="IdoSell")
        catalog = SizeCatalog.from_groups(self.client.size_groups(), self.options.language)

        def track(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for record in records:
                cursor.saw(product_id(record), change_time(record))
                yield record

        if cursor.full:
            assembler = GroupAssembler(self.client, catalog, self.options)
            yield from assembler.feed(track(self.client.iter_products()))
            yield from assembler.finish(track)
            if cursor.decided_full:  # the engine began an incremental read: this one lists everything
                yield Present(product_ids=())
        else:
            yield from self._read_changes(ctx, cursor, catalog, track)
        cursor.commit()
        ctx.notes.append(f"IdoSell: {self.client.pages_read} search pages read")

    def _read_changes(self, ctx: ReadContext, cursor: ChangeCursor, catalog: SizeCatalog,
                      track) -> Iterator[Item]:
        # IdoSell filters whole days: ask from the window's day, keep what changed since it.
        begin = cursor.since_local().date()
        window = DateWindow(begin=begin, end=max(date.today(), begin) + timedelta(days=1))
        # 1. Removed since the cursor (trash, deleted): not present, so the engine archives
        #    them; their version siblings are re-read because their group changed.
        removed: set[int] = set()
        siblings: set[int] = set()
        for status in ("in_trash", "deleted"):
            for record in self.client.iter_products(status=status, window=window.with_mode("modified"),
                                                    elements=REMOVED_ELEMENTS):
                removed.add(product_id(record))
                siblings.update(version_members(record))
        # 2. Changed (modified or stock changed) since the cursor, re-filtered to the second.
        changed = (r for r in self.client.iter_products(window=window) if cursor.in_window(change_time(r)))
        assembler = GroupAssembler(self.client, catalog, self.options, removed=removed)
        yield from assembler.feed(track(changed))
        assembler.want(siblings - removed)
        yield from assembler.finish(track)
        # 3. Everything else known still exists unchanged. A known id that was re-read but
        #    went into another unit (a product that joined a version group) is not present:
        #    its old Gateway products must be archived, the group now carries its sizes.
        absorbed = {str(i) for i in assembler.records_seen} - assembler.emitted
        gone = {str(i) for i in removed} | absorbed | assembler.emitted
        yield Present(product_ids=tuple(sorted(ctx.known_product_ids - gone)))


class GroupAssembler:
    """Streams records into units of work; holds version-group members until complete.

    A product outside any version group is emitted at once. A group member waits until
    every member named in `versionProductsIds` has arrived; members still missing at the
    end are fetched by id (100 per search), and a group is emitted with what exists.
    """

    def __init__(self, client: IaiClient, catalog: SizeCatalog, options: Options,
                 removed: Iterable[int] = ()) -> None:
        self.client = client
        self.catalog = catalog
        self.options = options
        self.removed = set(removed)
        self.pending: dict[str, dict[int, dict[str, Any]]] = {}
        self.expected: dict[str, set[int]] = {}
        self.records_seen: set[int] = set()
        self.emitted: set[str] = set()
        self.wanted: set[int] = set()

    def feed(self, records: Iterable[dict[str, Any]]) -> Iterator[Item]:
        for record in records:
            pid = product_id(record)
            if pid in self.records_seen or pid in self.removed:
                continue
            self.records_seen.add(pid)
            unit, members = unit_of(record, self.removed)
            if unit in self.emitted:
                continue
            if len(members) == 1:
                yield from self._emit(unit, [record])
                continue
            self.pending.setdefault(unit, {})[pid] = record
            self.expected.setdefault(unit, set()).update(members)
            if self.expected[unit] <= set(self.pending[unit]):
                yield from self._emit(unit, list(self.pending.pop(unit).values()))
                self.expected.pop(unit, None)

    def want(self, ids: Iterable[int]) -> None:
        self.wanted.update(i for i in ids if i not in self.records_seen and i not in self.removed)

    def finish(self, track) -> Iterator[Item]:
        for _ in range(3):  # members of fetched members: a group rarely needs a second round
            missing = set(self.wanted)
            for unit, records in self.pending.items():
                missing |= self.expected[unit] - set(records)
            missing -= self.records_seen | self.removed
            self.wanted.clear()
            if not missing:
                break
            yield from self.feed(track(self.client.products_by_ids(missing)))
            # ids that do not exist any more are not waited for
            for unit in list(self.pending):
                self.expected[unit] &= self.records_seen | set(self.pending[unit])
                if self.expected[unit] <= set(self.pending[unit]):
                    yield from self._emit(unit, list(self.pending.pop(unit).values()))
                    self.expected.pop(unit, None)
        for unit in list(self.pending):
            yield from self._emit(unit, list(self.pending.pop(unit).values()))
        self.expected.clear()

    def _emit(self, unit: str, records: list[dict[str, Any]]) -> Iterator[Item]:
        self.emitted.add(unit)
        for item in map_unit(unit, records, self.catalog, self.options):
            if isinstance(item, Skipped) and item.variant_id is None:
                log.info("IdoSell product %s skipped: %s", item.product_id, item.reason)
            yield item


def stock_change_time(record: dict[str, Any]) -> str:
    return max(str(record.get(k) or "")[:19] for k in ("productQuantityChangedTime", "productPriceChangedTime"))


def _stock_ids(value: Any) -> frozenset[int] | None:
    text = str(value or "all").strip().lower()
    if text in ("", "all", "*"):
        return None
    try:
        return frozenset(int(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"IAI_STOCKS must be 'all' or warehouse ids like '1,2' (got {value!r})") from None


def _int(value: Any, name: str, default: int | None) -> int | None:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name} must be a whole number (got {value!r})") from None


__all__ = ["GroupAssembler", "IaiConnector"]
