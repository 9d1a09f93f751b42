"""Step 2 for Shoper: Gateway sales applied to `product-stocks` quantities.

Shoper has only absolute stock (`PUT /webapi/rest/product-stocks/{stock_id}`), no relative
operation and no conditional write, so the shared guarded read-modify-write applies each
delta (`gwsync.stock.apply`). A variant is its own stock row (`stock_id` = the Gateway
item's `variant_id`); a product without variants keeps its stock in its base row, whose
`stock_id` the product names (`product.stock.stock_id`).

The PUT carries only the stock: Shoper updates the fields sent and leaves the others, so
nothing else can be nulled. With warehouses switched on, `stock` is a read-only sum and the
quantities live in `warehouses` (`{"<warehouse id>": "<qty>"}`): which form to write is
decided from the row just read, and the whole warehouse map is sent back with only the
change applied.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from gwsync.errors import SyncError
from gwsync.kit import decimal_or_none
from gwsync.stock.apply import StockTarget, TargetGone

from .client import ShoperClient

Row = dict[str, Any]


class ShoperStockWriter:
    relative = False

    def __init__(self, client: ShoperClient) -> None:
        self.client = client
        self._base_rows: dict[str, str] = {}  # product id -> its base row's stock_id (never changes)
        self._last: dict[StockTarget, Row] = {}  # the row of the last read, the write starts from it

    def read(self, target: StockTarget) -> int:
        row = self._row(target)
        self._last[target] = row
        return whole(quantity(row))

    def write(self, target: StockTarget, quantity_: int) -> None:
        row = self._last.pop(target)
        if not self.client.update("product-stocks", str(row["stock_id"]), stock_body(row, quantity_)):
            self._base_rows.pop(target.product_id, None)
            raise TargetGone(f"{describe(target)} was deleted from Shoper")

    def add(self, target: StockTarget, delta: int) -> None:
        raise NotImplementedError("Shoper has no relative stock operation")

    def _row(self, target: StockTarget) -> Row:
        stock_id = target.variant_id or self._base_row_id(target)
        row = self.client.find("product-stocks", stock_id)
        if row is None or str(row.get("product_id")) != target.product_id:
            self._base_rows.pop(target.product_id, None)
            raise TargetGone(f"{describe(target)} no longer exists in Shoper (stock row {stock_id})")
        return row

    def _base_row_id(self, target: StockTarget) -> str:
        """A product without variants: its base stock row, named by the product (read once)."""
        known = self._base_rows.get(target.product_id)
        if known is not None:
            return known
        product = self.client.find("products", target.product_id)
        stock_id = ((product or {}).get("stock") or {}).get("stock_id")
        if product is None or stock_id is None:
            raise TargetGone(f"{describe(target)} no longer exists in Shoper")
        self._base_rows[target.product_id] = str(stock_id)
        return str(stock_id)


def describe(target: StockTarget) -> str:
    return f"product {target.product_id}" + (f" variant (stock row) {target.variant_id}" if target.variant_id else "")


def warehouses(row: Row) -> dict[str, Decimal] | None:
    """The row's per-warehouse quantities when warehouses are on (a non-empty map), else None.

    With warehouses off Shoper answers an empty list (or no field); `stock` is then writable.
    """
    value = row.get("warehouses")
    if not isinstance(value, dict) or not value:
        return None
    return {str(key): number(amount, f"warehouse {key}") for key, amount in value.items()}


def quantity(row: Row) -> Decimal:
    """The row's stock: the sum over its warehouses when they are on, else `stock` ("6", "6.0", "2.5")."""
    by_warehouse = warehouses(row)
    if by_warehouse is not None:
        return sum(by_warehouse.values(), Decimal(0))
    return number(row.get("stock"), "stock")


def whole(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding=ROUND_FLOOR))


def number(value: Any, what: str) -> Decimal:
    amount = decimal_or_none(0 if value is None or value == "" else value)
    if amount is None:
        raise SyncError(f"Shoper answered an unreadable {what} quantity {value!r}")
    return amount


def stock_body(row: Row, new_quantity: int) -> dict[str, Any]:
    """The PUT body setting the row's stock to `new_quantity` (plus the fraction it had: 2.5 kg
    minus one sold stays 1.5, no fraction is dropped), changing nothing else."""
    change = Decimal(new_quantity) - whole(quantity(row))
    by_warehouse = warehouses(row)
    if by_warehouse is None:
        return {"stock": _json_number(quantity(row) + change)}
    return {"warehouses": {key: _text(amount) for key, amount in spread(by_warehouse, change).items()}}


def spread(by_warehouse: dict[str, Decimal], change: Decimal) -> dict[str, Decimal]:
    """Apply a change to the warehouses: a sale takes from them in id order, as far as each
    has stock; a return (or what a sale cannot cover) goes to the first warehouse."""
    order = sorted(by_warehouse, key=lambda key: (0, int(key)) if key.isdigit() else (1, key))
    out = dict(by_warehouse)
    left = change
    if left < 0:
        for key in order:
            taken = min(-left, max(out[key], Decimal(0)))
            out[key] -= taken
            left += taken
            if left == 0:
                break
    out[order[0]] += left
    return out


def _json_number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _text(amount: Decimal) -> str:
    """Warehouse quantities are strings in Shoper's answers and in the SDK's update type."""
    return str(int(amount)) if amount == amount.to_integral_value() else format(amount.normalize(), "f")


__all__ = ["ShoperStockWriter", "stock_body", "quantity", "spread", "warehouses"]
