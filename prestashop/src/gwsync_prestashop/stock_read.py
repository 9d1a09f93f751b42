"""Pure pieces of PrestaShop's `stock` pass: stock rows to `StockUpdate`s, promotions to digests.

Why the pass reads what it reads (the connector's `read_stock` does the calls):

- A stock change does not bump a product's `date_upd` (an order, a stock movement, a
  webservice PUT on `stock_availables`; PrestaShop issue #20465, platform doc section 4:
  stock rows have no date fields), so every pass reads every `stock_availables` row,
  narrow, 1,000 per call.
- A price lives on the product (`price`, `date_upd` bumped when edited in the back office)
  and on its combinations (impacts) and running catalog promotions (`specific_prices`,
  which start and end without any product change). Prices are computed for products whose
  `date_upd` falls in the change window and for products whose running promotions changed
  since the last pass; every other item goes with its stock alone, and the engine keeps the
  price it sent last.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from decimal import Decimal

from gwsync.models import StockUpdate

from .mapping import SpecificPrice, fingerprint

STOCK_FIELDS = "[id,id_product,id_product_attribute,id_shop,quantity]"
PRICE_FIELDS = "[id,date_upd,active,price,id_tax_rules_group]"
COMBINATION_PRICE_FIELDS = "[id,id_product,price]"

Prices = Mapping[str, Mapping[str | None, Decimal]]  # product id -> variant id (None: simple) -> gross


def promotion_digests(running: Mapping[tuple[str, str], SpecificPrice]) -> dict[str, str]:
    """Product id -> a short digest of the promotions running for it now (only products that have any)."""
    per_product: dict[str, list[list[str]]] = {}
    for (pid, attribute), promo in running.items():
        per_product.setdefault(pid, []).append([attribute, str(promo.price), str(promo.reduction),
                                                promo.reduction_type, str(promo.tax_included)])
    return {pid: fingerprint(rows) for pid, rows in per_product.items()}


def promotions_changed(before: Mapping[str, str] | None, now: Mapping[str, str]) -> set[str]:
    """Products whose running promotions started, ended or changed between two passes."""
    before = before if isinstance(before, Mapping) else {}
    return {pid for pid in set(before) | set(now) if before.get(pid) != now.get(pid)}


def _id_order(pid: str) -> tuple[int, str]:
    return (int(pid), "") if pid.isdigit() else (0, pid)


def stock_updates(stock: Mapping[tuple[str, str], int], known: Collection[str], prices: Prices,
                  leave_out: Collection[str] = ()) -> Iterator[StockUpdate]:
    """One `StockUpdate` per imported item, in product id order.

    A product with combinations keeps one row per combination plus the `id_product_attribute`
    0 row (their sum): only the combinations' rows count for it. Products the state does not
    know are the import's to create; `leave_out` are products found inactive this pass (the
    import archives them). A price goes along only where it was computed and is positive.
    """
    by_product: dict[str, dict[str, int]] = {}
    for (pid, attribute), quantity in stock.items():
        if pid in known and pid not in leave_out:
            by_product.setdefault(pid, {})[attribute] = quantity
    for pid in sorted(by_product, key=_id_order):
        rows = by_product[pid]
        combinations = {a: q for a, q in rows.items() if a != "0"}
        priced = prices.get(pid, {})
        for attribute, quantity in sorted((combinations or rows).items(), key=lambda r: _id_order(r[0])):
            variant_id = None if attribute == "0" else attribute
            price = priced.get(variant_id)
            yield StockUpdate(product_id=pid, variant_id=variant_id, stock=quantity,
                              price=price if price is not None and price > 0 else None)
