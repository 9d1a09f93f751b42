"""Step 2 for IdoSell: Gateway sales applied to one warehouse's stock of one size.

IdoSell has a relative operation, `PUT products/stocks` with `quantity_operation`
`add` / `substract` (sic) per product, size and warehouse (doc §6), so no read-modify-write
is needed: a concurrent sale in the shop is never overwritten. The body names one size of
one product and the warehouses it changes, nothing else, so no other field can change.

Warehouses: the import counts the stock of the warehouses in IAI_STOCKS (default all),
so `read` answers that same sum. A cancellation is added to IAI_WRITE_STOCK (default M1);
a sale is taken from IAI_WRITE_STOCK first and, for what it does not hold, from the other
counted warehouses that hold the size, all in the one call. A sale no counted warehouse
can cover is sent against IAI_WRITE_STOCK whole, and IdoSell's refusal parks it.

Identities (as the import makes them): a variant is `"<productId>-<sizeId>"`, whatever
version group it belongs to; a plain product is its product id and has exactly one size,
found by reading the product's stock. `read` is one `GET products/stocks` of one product.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from gwsync.errors import ConfigError
from gwsync.stock.apply import StockTarget, TargetGone

from .client import IaiClient

DEFAULT_STOCK_ID = 1  # M1, IdoSell's main own warehouse


class StockRefused(TargetGone):
    """IdoSell refused this very change for the item (a per-item faultCode): parked with its reason."""


class IdoSellStockWriter:
    relative = True

    def __init__(self, client: IaiClient, stock_id: int, counted: frozenset[int] | None = None) -> None:
        self.client = client
        self.stock_id = stock_id
        self.counted = counted  # None: every warehouse IdoSell lists, as the import counts
        self._last: dict[StockTarget, tuple[str, dict[int, Decimal]]] = {}  # size, counted quantities

    def read(self, target: StockTarget) -> int:
        product, size = locate(target)
        sizes = size_quantities(self._result(product))
        if size is None:
            size = sole_size(product, sizes)
        if sizes and size not in sizes:
            raise TargetGone(f"IdoSell product {product} has no size {size} any more")
        quantities = {w: q for w, q in sizes.get(size, {}).items() if self.counted is None or w in self.counted}
        self._last[target] = (size, quantities)
        return whole(sum((q for q in quantities.values() if q > 0), Decimal(0)))

    def write(self, target: StockTarget, quantity: int) -> None:
        raise NotImplementedError("IdoSell changes stock relatively (add/substract); see add()")

    def add(self, target: StockTarget, delta: int) -> None:
        if delta == 0:
            return
        product, _ = locate(target)
        if target not in self._last:  # apply_event reads right before; anything else reads now
            self.read(target)
        size, quantities = self._last.pop(target)
        steps = plan(delta, quantities, self.stock_id)
        what = f"product {product} size {size}: " + ", ".join(f"{op} {n} in warehouse {w}" for w, op, n in steps)
        answer = self.client.change_stock(stock_change(product, size, steps), what)
        fault = change_fault(answer)
        if fault is not None:
            raise StockRefused(f"IdoSell refused the stock change ({what}): {fault}")

    def _result(self, product: int) -> dict[str, Any]:
        body = self.client.product_stocks(product)
        result = product_result(body, product) if body is not None else None
        if result is None:
            raise TargetGone(f"IdoSell has no product {product} any more")
        fault = item_fault(result)
        if fault is not None:
            raise TargetGone(f"IdoSell has no product {product} any more ({fault})")
        return result


# -- pure helpers ---------------------------------------------------------------------


def locate(target: StockTarget) -> tuple[int, str | None]:
    """(IdoSell product id, size id or None for a plain product) of an imported item."""
    if target.variant_id:
        product, _, size = target.variant_id.partition("-")
        if product.isdigit() and size:
            return int(product), size
        raise TargetGone(f"{target.variant_id!r} is not an IdoSell size of this tool's import")
    if not target.product_id.isdigit():
        raise TargetGone(f"{target.product_id!r} is not an IdoSell product id")
    return int(target.product_id), None


Step = tuple[int, str, int]  # (warehouse id, "add" | "substract", quantity above 0)


def plan(delta: int, quantities: dict[int, Decimal], write_id: int) -> list[Step]:
    """Where a delta goes: added to the write warehouse; taken from it first, then from the
    other counted warehouses holding the size; what none holds, from the write warehouse."""
    if delta > 0:
        return [(write_id, "add", delta)]
    need = -delta
    taken: dict[int, int] = {}
    others = sorted(w for w in quantities if w != write_id)
    for warehouse in [write_id, *others]:
        take = min(need, max(whole(quantities.get(warehouse)), 0))
        if take:
            taken[warehouse] = take
            need -= take
    if need:
        taken[write_id] = taken.get(write_id, 0) + need
    return [(w, "substract", n) for w, n in taken.items()]


def stock_change(product: int, size: str, steps: list[Step]) -> dict[str, Any]:
    """The `PUT products/stocks` body: one size of one product, relative, per warehouse."""
    stocks = [{"stock_id": w, "quantity_operation": {"operation": op, "quantity": n}} for w, op, n in steps]
    return {"params": {"products": [{
        "ident": {"identType": "id", "identValue": str(product)},
        "sizes": [{"ident": {"identType": "id", "identValue": size}, "quantity": {"stocks": stocks}}],
    }]}}


def product_result(body: dict[str, Any], product: int) -> dict[str, Any] | None:
    results = [r for r in body.get("results") or () if isinstance(r, dict)]
    for result in results:
        if str((result.get("ident") or {}).get("identValue")) == str(product):
            return result
    return results[0] if len(results) == 1 else None


def size_quantities(result: dict[str, Any]) -> dict[str, dict[int, Decimal]]:
    """{size id: {warehouse id: quantity}}; sizes listed only by their sales disposition get {}."""
    sizes: dict[str, dict[int, Decimal]] = {}
    quantities = result.get("quantities") or {}
    for stock in quantities.get("stocks") or ():
        try:
            stock_id = int(stock.get("stock_id", stock.get("stockId")))
        except (TypeError, ValueError):
            continue
        for row in stock.get("sizes") or ():
            size = _size_id(row)
            if size is not None:
                sizes.setdefault(size, {})[stock_id] = _decimal(row.get("quantity"))
    for row in (quantities.get("dispositions") or {}).get("sales") or ():
        size = _size_id(row)
        if size is not None:
            sizes.setdefault(size, {})
    return sizes


def sole_size(product: int, sizes: dict[str, Any]) -> str:
    """The size of a plain (one-size) product; more than one means it is not plain any more."""
    if len(sizes) == 1:
        return next(iter(sizes))
    if not sizes:
        raise TargetGone(f"IdoSell lists no size of product {product}")
    raise TargetGone(f"IdoSell product {product} now has {len(sizes)} sizes: the next import makes them "
                     "variants; book this change by hand")


def item_fault(entry: dict[str, Any]) -> str | None:
    """`faultCode N: text` of a per-item error, None when the item is fine (no error or code 0)."""
    error = entry.get("error") or entry.get("errors")
    if isinstance(error, list):
        error = error[0] if error else None
    if not isinstance(error, dict) or error.get("faultCode") in (None, "", 0, "0"):
        return None
    return f"faultCode {error.get('faultCode')}: {str(error.get('faultString') or '').strip()}"


def change_fault(answer: dict[str, Any]) -> str | None:
    """The first per-product or per-size fault of a `PUT products/stocks` answer (HTTP 200 or 207)."""
    for result in answer.get("results") or ():
        if not isinstance(result, dict):
            continue
        fault = item_fault(result)
        if fault is not None:
            return fault
        for size in result.get("sizes") or ():
            fault = item_fault(size) if isinstance(size, dict) else None
            if fault is not None:
                return fault
    if answer.get("isErrors") in (True, "true", "y") or answer.get("is_errors") in (True, "true", "y"):
        return "the answer flags an error without saying which"
    return None


def write_stock_id(setting: Any, counted: frozenset[int] | None) -> int:
    """The warehouse serve books sales in: the setting, else the only counted one, else M1."""
    if setting not in (None, ""):
        try:
            stock_id = int(setting)
        except (TypeError, ValueError):
            raise ConfigError(f"IAI_WRITE_STOCK must be a warehouse id like 1 (got {setting!r})") from None
    elif counted is not None and len(counted) == 1:
        stock_id = next(iter(counted))
    elif counted is None or DEFAULT_STOCK_ID in counted:
        stock_id = DEFAULT_STOCK_ID
    else:
        raise ConfigError("IAI_WRITE_STOCK: set the warehouse serve books the Gateway's sales in "
                          f"(one of IAI_STOCKS: {', '.join(map(str, sorted(counted)))})")
    if stock_id < 1:
        raise ConfigError(f"IAI_WRITE_STOCK must be a warehouse id of 1 or more (got {stock_id})")
    if counted is not None and stock_id not in counted:
        # the stock pass would not see the writes, and the Gateway would drift from the shop
        raise ConfigError(f"IAI_WRITE_STOCK={stock_id} is not one of the counted warehouses "
                          f"(IAI_STOCKS={','.join(map(str, sorted(counted)))})")
    return stock_id


def whole(quantity: Decimal | None) -> int:
    """Whole units; a fractional quantity (metres, kilograms) rounds down, as the import's does."""
    return int(quantity) if quantity is not None else 0


def _size_id(row: Any) -> str | None:
    if not isinstance(row, dict):
        return None
    value = row.get("size_id", row.get("sizeId"))
    return None if value in (None, "") else str(value)


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
