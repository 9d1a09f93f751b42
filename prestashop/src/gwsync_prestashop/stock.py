"""Step 2 for PrestaShop: Gateway sales applied to `stock_availables` quantities.

PrestaShop has only absolute quantities (no relative operation, no ETag), so the shared
guarded read-modify-write applies each delta (`gwsync.stock.apply`). A product without
combinations keeps its stock in the row with `id_product_attribute` 0.
"""

from __future__ import annotations

from typing import Any

from gwsync.stock.apply import StockTarget, TargetGone

from .client import StockRows


class PrestaShopStockWriter:
    relative = False

    def __init__(self, rows: StockRows) -> None:
        self.rows = rows
        self._last: dict[StockTarget, dict[str, Any]] = {}  # the row of the last read, written back whole

    def read(self, target: StockTarget) -> int:
        row = self.rows.row(target.product_id, target.variant_id or "0")
        if row is None:
            raise TargetGone(f"PrestaShop has no stock row for product {target.product_id}"
                             + (f" combination {target.variant_id}" if target.variant_id else ""))
        self._last[target] = row
        return int(row.get("quantity") or 0)

    def write(self, target: StockTarget, quantity: int) -> None:
        row = self._last.pop(target)
        self.rows.put({**row, "quantity": quantity})

    def add(self, target: StockTarget, delta: int) -> None:
        raise NotImplementedError("PrestaShop has no relative stock operation")
