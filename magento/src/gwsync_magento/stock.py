"""Step 2 for Magento 2: Gateway sales applied to the stock of the item's own SKU.

Magento has absolute quantities only, so the shared guarded read-modify-write applies each
delta (`gwsync.stock.apply`). The item is addressed by its entity id, looked up to its SKU
right before reading (a configurable's child is a simple product of its own): MSI saves
source items for any SKU it is given, even one no product has (magento2#30274, #38154), so a
renamed or deleted product must be found out here, never written to.

- MSI (the shop answers `inventory/source-items`): the stock is the sum over the counted
  sources (MAGENTO_SOURCES, else all) of the in-stock rows, as the import counts it. A sale
  is taken from the sources holding stock, in source order; returned stock goes to the
  first in-stock source. Only the rows that change are sent, whole (sku, source_code,
  quantity, status: the four fields a source item has), with
  `POST /rest/all/V1/inventory/source-items`.
- Legacy (no MSI): `GET stockItems/{sku}`, then `PUT /rest/all/V1/products/{sku}/stockItems/{item_id}`
  with `{"stockItem": {"qty", "is_in_stock"}}`; Magento merges the sent fields into the
  stored item (`StockRegistry::updateStockItemBySku`), so nothing else changes.

`status` follows the quantity: a row that sells out goes out of stock, a row that gets stock
back goes in stock; a row already selling below zero (backorders) keeps its status. A row
set out of stock by hand while it holds stock is never written: an event that would need it is
parked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from gwsync.stock.apply import StockTarget, TargetGone

from .client import MagentoClient, Missing, criteria
from .mapping import ident, num, text_of

log = logging.getLogger(__name__)

STOCK_TYPES = frozenset({"simple", "virtual"})  # product types with a stock of their own
ARRAY_LIMIT = 20  # items per array Magento 2.4.3+ takes with its web API input limits on
SKU_TTL = 60.0  # seconds an entity id -> SKU lookup is reused (the guard reads twice in a row)
ZERO = Decimal(0)


@dataclass(frozen=True)
class SourceRow:
    """One MSI source item: the whole of what `POST inventory/source-items` stores."""

    sku: str
    source_code: str
    quantity: Decimal
    status: int

    @property
    def counted(self) -> Decimal:
        """What the row adds to the item's stock: out-of-stock rows add nothing (or their oversold part)."""
        return self.quantity if self.status == 1 else min(self.quantity, ZERO)

    @property
    def writable(self) -> bool:
        """False for a row set out of stock by hand while it holds stock: that choice is the merchant's."""
        return self.status == 1 or self.quantity <= 0

    def body(self) -> dict[str, Any]:
        return {"sku": self.sku, "source_code": self.source_code, "quantity": _number(self.quantity),
                "status": self.status}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def in_stock_after(old_quantity: Decimal, old_status: int, new_quantity: Decimal) -> int:
    """The status that matches the new quantity (1 in stock, 0 out of stock)."""
    if new_quantity > 0:
        return 1
    if old_status == 1 and old_quantity <= 0:
        return 1  # it already sold below zero in stock: the shop takes backorders
    return 0


def source_rows(rows: Iterable[Mapping[str, Any]], sku: str, order: Sequence[str] | None) -> list[SourceRow]:
    """The SKU's counted source items in source order (`order`; else `default` first, then by code)."""
    out = [SourceRow(text_of(r.get("sku")), text_of(r.get("source_code")), num(r.get("quantity")),
                     1 if ident(r.get("status")) == "1" else 0)
           for r in rows if text_of(r.get("sku")).casefold() == sku.casefold()]
    if order is not None:
        rank = {code: i for i, code in enumerate(order)}
        out = [r for r in out if r.source_code in rank]
        return sorted(out, key=lambda r: rank[r.source_code])
    return sorted(out, key=lambda r: (r.source_code != "default", r.source_code))


def total(rows: Sequence[SourceRow]) -> int:
    return int(sum((r.counted for r in rows), ZERO))


def spread(rows: Sequence[SourceRow], delta: Decimal) -> tuple[list[SourceRow], Decimal]:
    """The rows to send so the counted stock moves by `delta`, and the part of a sale no row could take.

    A sale empties the sources in order (a source selling below zero takes the rest);
    returned stock goes to the first in-stock source, else the first sold-out one.
    """
    new = {r.source_code: r.quantity for r in rows}
    writable = [r for r in rows if r.writable]
    short = ZERO
    if delta < 0:
        need = -delta
        for row in writable:
            take = min(max(row.quantity, ZERO) if row.status == 1 else ZERO, need)
            new[row.source_code] -= take
            need -= take
        below = next((r for r in writable if r.quantity < 0), None)
        if need > 0 and below is not None:
            new[below.source_code] -= need
            need = ZERO
        short = need
        if short and len(writable) < len(rows):
            raise TargetGone(f"SKU {rows[0].sku}: the sale is more than the in-stock sources hold, and a source set "
                             "out of stock by hand holds stock; left for you to adjust in the Magento admin")
    elif delta > 0:
        if not writable:
            raise TargetGone(f"SKU {rows[0].sku}: every source is set out of stock by hand while holding stock; "
                             "the returned stock was not added (adjust it in the Magento admin)")
        target = next((r for r in writable if r.status == 1), writable[0])
        new[target.source_code] += delta
    changed = [replace(r, quantity=new[r.source_code], status=in_stock_after(r.quantity, r.status,
                                                                              new[r.source_code]))
               for r in rows if new[r.source_code] != r.quantity]
    return changed, short


@dataclass(frozen=True)
class LegacyItem:
    """A legacy `cataloginventory_stock_item` row as `GET stockItems/{sku}` answers it."""

    sku: str
    item_id: str
    qty: Decimal
    in_stock: bool

    @property
    def counted(self) -> int:
        return int(self.qty if self.in_stock else min(self.qty, ZERO))

    def after(self, delta: int) -> tuple[dict[str, Any], Decimal]:
        """The `stockItem` body for the stock moved by `delta`, and the part of a sale it could not take."""
        if not self.in_stock and self.qty > 0:
            raise TargetGone(f"SKU {self.sku} is set out of stock by hand with {_number(self.qty)} in stock; "
                             "its stock is left alone (change it in the Magento admin)")
        qty = self.qty + delta
        short = ZERO
        if qty < 0 and self.qty >= 0:  # never below zero unless the shop already sells on backorder
            short, qty = -qty, ZERO
        status = in_stock_after(self.qty, 1 if self.in_stock else 0, qty)
        return {"qty": _number(qty), "is_in_stock": status == 1}, short


class MagentoStockWriter:
    relative = False

    def __init__(self, reads: MagentoClient, writes: MagentoClient, *, has_msi: Callable[[], bool],
                 sources: Sequence[str] | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.reads = reads  # the store view's API
        self.writes = writes  # /rest/all/: admin scope, no store-view copies
        self.has_msi = has_msi
        self.sources = tuple(sources) if sources else None
        self.clock = clock
        self._skus: dict[str, tuple[str, float]] = {}
        self._last: dict[StockTarget, tuple[list[SourceRow], int] | LegacyItem] = {}
        self._lock = threading.Lock()  # two workers share one writer (different items)

    # -- the protocol --------------------------------------------------------------------

    def read(self, target: StockTarget) -> int:
        sku = self.sku_of(target)
        if self.has_msi():
            rows = self._source_rows(sku)
            counted = total(rows)
            self._remember(target, (rows, counted))
            return counted
        item = self._legacy_item(sku)
        self._remember(target, item)
        return item.counted

    def write(self, target: StockTarget, quantity: int) -> None:
        with self._lock:
            last = self._last.pop(target)
        if isinstance(last, LegacyItem):
            body, short = last.after(quantity - last.counted)
            self._put_legacy(last, body)
            sku = last.sku
        else:
            rows, counted = last
            changed, short = spread(rows, Decimal(quantity - counted))
            for start in range(0, len(changed), ARRAY_LIMIT):  # more than 20 sources to one SKU: rare
                self._call(self.writes.send, "POST", "inventory/source-items",
                           {"sourceItems": [r.body() for r in changed[start:start + ARRAY_LIMIT]]},
                           what="MSI source items (write)")
            sku = rows[0].sku
        if short:
            log.warning("Magento SKU %s: the Gateway sold %s more than the shop holds; its stock stays at 0",
                        sku, _number(short))

    def add(self, target: StockTarget, delta: int) -> None:
        raise NotImplementedError("Magento has no relative stock operation")

    # -- Magento calls -------------------------------------------------------------------

    def sku_of(self, target: StockTarget) -> str:
        """The SKU the item has now, by its entity id (a variant is its own simple product)."""
        entity = target.variant_id or target.product_id
        now = self.clock()
        with self._lock:
            known = self._skus.get(entity)
        if known is not None and now - known[1] < SKU_TTL:
            return known[0]
        params = criteria(sort=None, filters=[[("entity_id", "eq", entity)]])
        params["fields"] = "items[id,sku,type_id],total_count"
        body = self._call(self.reads.call, "products", params, what="products")
        found = [r for r in (body or {}).get("items") or () if isinstance(r, Mapping) and ident(r.get("id")) == entity]
        if not found:
            raise TargetGone(f"Magento has no product with id {entity} any more (deleted in the shop)")
        type_id, sku = text_of(found[0].get("type_id")), text_of(found[0].get("sku"))
        if type_id not in STOCK_TYPES or not sku:
            raise TargetGone(f"Magento product {entity} is now a {type_id or 'typeless'} product without a stock "
                             "of its own")
        with self._lock:
            self._skus[entity] = (sku, now)
        return sku

    def _source_rows(self, sku: str) -> list[SourceRow]:
        filters = [[("sku", "eq", sku)]]
        if self.sources:
            filters.append([("source_code", "in", ",".join(self.sources))])
        params = criteria(sort=None, size=300, filters=filters)
        body = self._call(self.reads.call, "inventory/source-items", params, what="MSI source items")
        rows = source_rows((body or {}).get("items") or (), sku, self.sources)
        if not rows:
            where = f"the sources {', '.join(self.sources)}" if self.sources else "any source"
            raise TargetGone(f"SKU {sku} is not assigned to {where} (MSI); assign it in the Magento admin")
        return rows

    def _legacy_item(self, sku: str) -> LegacyItem:
        if "/" in sku:  # encoded or not, a slash splits Magento's path route (the legacy API puts SKUs in paths)
            raise TargetGone(f"SKU {sku} contains '/', which Magento's legacy stock API cannot address; "
                             "change its stock in the Magento admin")
        body = self._call(self.reads.call, f"stockItems/{quote(sku, safe='')}", None, what="legacy stock item")
        if not isinstance(body, Mapping) or ident(body.get("item_id")) == "":
            raise TargetGone(f"SKU {sku} has no legacy stock item")
        return LegacyItem(sku, ident(body.get("item_id")), num(body.get("qty")), bool(body.get("is_in_stock")))

    def _put_legacy(self, item: LegacyItem, fields: dict[str, Any]) -> None:
        path = f"products/{quote(item.sku, safe='')}/stockItems/{item.item_id}"
        self._call(self.writes.send, "PUT", path, {"stockItem": fields}, what="legacy stock item (write)")

    @staticmethod
    def _call(method: Callable[..., Any], *args: Any, what: str) -> Any:
        try:
            return method(*args, what=what)
        except Missing as gone:
            raise TargetGone(str(gone)) from gone

    def _remember(self, target: StockTarget, value: tuple[list[SourceRow], int] | LegacyItem) -> None:
        with self._lock:
            self._last[target] = value
