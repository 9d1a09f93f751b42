"""Pure functions: PrestaShop webservice records (JSON, as received) -> gwsync.models.

No I/O here. Shapes follow the recorded responses in shared/fixtures/prestashop:
ids are ints at the top level and strings elsewhere, numbers are strings with 6
decimals, i18n fields are a plain string (one language returned) or a list of
`{"id": "<language id>", "value": ...}`, empty associations may be missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from gwsync.kit import decimal_or_none, running
from gwsync.models import (
    Image,
    ImageAccess,
    Item,
    Product,
    Skipped,
    Variant,
    build_product,
    describe_validation,
    gross_from_net,
)
from pydantic import ValidationError

ZERO = Decimal(0)


# -- field helpers -----------------------------------------------------------

def text(value: Any, language_id: str | None = None, fallback_id: str | None = None) -> str:
    """An i18n field in one language: plain string, or the `{"id","value"}` list entry.

    Falls back to `fallback_id` (the shop's default language), then to the first
    non-empty value, when the chosen language is empty.
    """
    if value is None or value is False:
        return ""
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    if isinstance(value, dict) and "language" in value:  # XML-to-JSON style, defensive
        value = value["language"]
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        by_id = {str(v.get("id")): text(v.get("value")) for v in value if isinstance(v, dict)}
        for wanted in (language_id, fallback_id):
            if wanted is not None and by_id.get(str(wanted)):
                return by_id[str(wanted)]
        return next((v for v in by_id.values() if v), "")
    return ""


def num(value: Any) -> Decimal:
    """A number sent as a string ("121.138211"), int or float; blank or junk is 0."""
    number = decimal_or_none(value)
    return ZERO if number is None else number


def ident(value: Any) -> str:
    """An id as text: 12, "12" and "12.0" are all "12"."""
    if value is None or value is False:
        return "0"
    text_value = str(value).strip()
    try:
        return str(int(Decimal(text_value)))
    except (InvalidOperation, ValueError):
        return text_value


def assoc_ids(record: Mapping[str, Any], name: str) -> list[str]:
    """Ids of an association (`[{"id": "1"}, ...]`), in order, without the "0" placeholder."""
    associations = record.get("associations") or {}
    if not isinstance(associations, dict):
        return []
    rows = associations.get(name) or []
    if isinstance(rows, dict):
        rows = [rows]
    out = []
    for row in rows:
        value = ident(row.get("id")) if isinstance(row, dict) else ident(row)
        if value != "0" and value not in out:
            out.append(value)
    return out


def is_on(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true")


# -- lookups -------------------------------------------------------------------

def tax_rates(groups: Iterable[Mapping[str, Any]], rules: Iterable[Mapping[str, Any]],
              taxes: Iterable[Mapping[str, Any]], country_id: str) -> dict[str, Decimal]:
    """Tax rules group id -> rate in % for the shop's country (state 0, no zip range).

    Group "0" (no tax) is 0. A group without a rule for the country is 0, as in
    the shop. Several rules of one group: behavior 1 adds rates, behavior 2
    compounds them, behavior 0 takes the first.
    """
    rate_of = {ident(t.get("id")): num(t.get("rate")) for t in taxes
               if not is_on(t.get("deleted")) and str(t.get("active", "1")) != "0"}
    rates: dict[str, Decimal] = {"0": ZERO}
    for group in groups:
        if not is_on(group.get("deleted")):
            rates[ident(group.get("id"))] = ZERO
    chosen: dict[str, list[Mapping[str, Any]]] = {}
    for rule in sorted(rules, key=lambda r: int(ident(r.get("id")) or 0) if ident(r.get("id")).isdigit() else 0):
        if ident(rule.get("id_country")) != ident(country_id) or ident(rule.get("id_state")) != "0":
            continue
        if str(rule.get("zipcode_from") or "0").strip() not in ("", "0"):
            continue
        chosen.setdefault(ident(rule.get("id_tax_rules_group")), []).append(rule)
    for group_id, group_rules in chosen.items():
        if group_id not in rates:
            continue  # a deleted group
        first = group_rules[0]
        behavior = ident(first.get("behavior"))
        if len(group_rules) == 1 or behavior == "0":
            rates[group_id] = rate_of.get(ident(first.get("id_tax")), ZERO)
        elif behavior == "2":
            factor = Decimal(1)
            for rule in group_rules:
                factor *= 1 + rate_of.get(ident(rule.get("id_tax")), ZERO) / 100
            rates[group_id] = (factor - 1) * 100
        else:
            rates[group_id] = sum((rate_of.get(ident(r.get("id_tax")), ZERO) for r in group_rules), ZERO)
    return rates


def stock_map(rows: Iterable[Mapping[str, Any]], shop_id: str | None = None) -> dict[tuple[str, str], int]:
    """(id_product, id_product_attribute) -> quantity, clamped at 0.

    A row of the configured shop wins over a shop-group row (`id_shop` 0, shared
    stock), which wins over any other shop's row.
    """
    best: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        key = (ident(row.get("id_product")), ident(row.get("id_product_attribute")))
        rank = stock_row_rank(row, shop_id)
        quantity = max(int(num(row.get("quantity"))), 0)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, quantity)
    return {key: quantity for key, (_, quantity) in best.items()}


def stock_row_rank(row: Mapping[str, Any], shop_id: str | None) -> int:
    """Which of an item's stock rows is ours: the configured shop's, then the shop group's
    (`id_shop` 0, shared stock), then any other shop's."""
    row_shop = ident(row.get("id_shop"))
    return 2 if shop_id is not None and row_shop == ident(shop_id) else (1 if row_shop == "0" else 0)


def by_id(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {ident(row.get("id")): row for row in rows}


@dataclass(frozen=True)
class SpecificPrice:
    """A catalog promotion: a specific price for every customer from quantity 1, running now."""

    price: Decimal  # a net price replacing the product's own, or -1: the product's price
    reduction: Decimal  # 0.200000 = 20 % (percentage), or an amount
    reduction_type: str  # "percentage" | "amount"
    tax_included: bool  # an amount reduction given gross (reduction_tax = 1)


def running_specific_prices(rows: Iterable[Mapping[str, Any]], now: datetime,
                            shop_id: str | None = None) -> dict[tuple[str, str], SpecificPrice]:
    """Specific prices that apply to anyone buying one piece now (shop-local `now`).

    Kept: every customer, group, country and currency (`0`), no cart, from quantity 1,
    this shop or all shops, `from` <= now <= `to` (`0000-00-00 00:00:00` = open).
    When several apply to one item, the one for the combination wins over the product's.
    """
    out: dict[tuple[str, str], SpecificPrice] = {}
    for row in rows:
        if any(ident(row.get(k)) not in ("0", "") for k in ("id_customer", "id_group", "id_country",
                                                                "id_currency", "id_cart")):
            continue
        if num(row.get("from_quantity") or 1) > 1:
            continue
        if ident(row.get("id_shop")) not in ("0", "", shop_id or "1"):
            continue
        if not running(row.get("from"), row.get("to"), now):
            continue
        key = (ident(row.get("id_product")), ident(row.get("id_product_attribute")) or "0")
        fixed = row.get("price")
        out[key] = SpecificPrice(price=num(fixed) if fixed not in (None, "") else Decimal(-1),
                                 reduction=num(row.get("reduction")),
                                 reduction_type=str(row.get("reduction_type") or "amount"),
                                 tax_included=is_on(row.get("reduction_tax", "1")))
    return out


def item_price(net_product: Decimal, impact: Decimal, rate: Decimal, promo: SpecificPrice | None) -> Decimal:
    """The gross price of one item, with the running promotion when there is one.

    As PrestaShop computes it: the reduction applies to the unrounded price with tax
    (a percentage, or an amount with or without tax), and the result is rounded half-up.
    """
    base_net = promo.price if promo is not None and promo.price >= 0 else net_product
    net = base_net + impact
    if promo is None or promo.reduction <= 0:
        return gross_from_net(net, rate)
    gross = net * (Decimal(100) + rate) / Decimal(100)
    if promo.reduction_type == "percentage":
        gross = gross * (Decimal(1) - promo.reduction)
    elif promo.tax_included:
        gross = gross - promo.reduction
    else:
        gross = (net - promo.reduction) * (Decimal(100) + rate) / Decimal(100)
    return gross.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Catalog:
    """Everything a product needs from the rest of the shop, read in bulk once per run."""

    api_base: str
    language_id: str | None = None
    default_language_id: str | None = None
    rates: Mapping[str, Decimal] = field(default_factory=lambda: {"0": ZERO})
    option_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    option_groups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    categories: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    root_ids: frozenset[str] = frozenset({"1", "2"})
    stock: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # (product id, combination id or "0" for all) -> the promotion running now (price = current)
    specific_prices: Mapping[tuple[str, str], SpecificPrice] = field(default_factory=dict)

    def t(self, value: Any) -> str:
        return text(value, self.language_id, self.default_language_id)

    def promo(self, product_id: str, combination_id: str = "0") -> SpecificPrice | None:
        return (self.specific_prices.get((product_id, combination_id))
                or self.specific_prices.get((product_id, "0")))


def category_chain(category_id: Any, catalog: Catalog) -> list[str]:
    """Category ids from below the shop's root/home category down to `category_id`."""
    chain: list[str] = []
    current, seen = ident(category_id), set()
    while current not in ("0", "") and current not in seen:
        seen.add(current)
        category = catalog.categories.get(current)
        if category is None or current in catalog.root_ids or is_on(category.get("is_root_category")) \
                or ident(category.get("id_parent")) == "0":
            break
        chain.append(current)
        current = ident(category.get("id_parent"))
    return list(reversed(chain))


def product_category(raw: Mapping[str, Any], catalog: Catalog) -> tuple[str, ...]:
    """The deepest category path among the product's categories.

    Real shops leave `id_category_default` at Home (2) and list the real categories in
    `associations.categories`. Ties: the default category's branch, then the lowest id.
    The default category counts alone only when no associated category is below Home.
    """
    default = ident(raw.get("id_category_default"))
    best: tuple[tuple[int, int, int], list[str]] | None = None
    for cid in assoc_ids(raw, "categories"):
        chain = category_chain(cid, catalog)
        if not chain:
            continue
        rank = (len(chain), 1 if default in chain else 0, -int(cid) if cid.isdigit() else 0)
        if best is None or rank > best[0]:
            best = (rank, chain)
    chain = best[1] if best else category_chain(default, catalog)
    return tuple(name for name in (catalog.t(catalog.categories[c].get("name")) for c in chain) if name)


def category_path(category_id: Any, catalog: Catalog) -> tuple[str, ...]:
    """Names from below the shop's root/home category down to `category_id`."""
    return tuple(name for name in (catalog.t(catalog.categories[c].get("name"))
                                   for c in category_chain(category_id, catalog)) if name)


def image_url(api_base: str, product_id: str, image_id: str) -> str:
    """The authenticated image URL, without any key (auth travels as Basic auth)."""
    return f"{api_base}images/products/{product_id}/{image_id}"


def product_images(raw: Mapping[str, Any], catalog: Catalog) -> tuple[Image, ...]:
    pid = ident(raw.get("id"))
    ids = assoc_ids(raw, "images")
    cover = ident(raw.get("id_default_image"))
    if cover in ids:
        ids.remove(cover)
        ids.insert(0, cover)
    return tuple(_image(catalog, pid, i) for i in ids)


def _image(catalog: Catalog, product_id: str, image_id: str) -> Image:
    return Image(url=image_url(catalog.api_base, product_id, image_id), access=ImageAccess.AUTH,
                 key=f"image:{image_id}")


def variant_options(combination: Mapping[str, Any], catalog: Catalog) -> dict[str, str]:
    """Option group public name -> value name, in the groups' shop order."""
    pairs = []
    for value_id in assoc_ids(combination, "product_option_values"):
        value = catalog.option_values.get(value_id)
        if value is None:
            continue
        group = catalog.option_groups.get(ident(value.get("id_attribute_group")), {})
        group_name = catalog.t(group.get("public_name")) or catalog.t(group.get("name"))
        value_name = catalog.t(value.get("name"))
        if group_name and value_name:
            pairs.append((int(num(group.get("position"))), group_name, value_name))
    pairs.sort(key=lambda p: p[0])
    return {g: v for _, g, v in pairs}


def vat_of(raw: Mapping[str, Any], catalog: Catalog) -> tuple[int | None, Decimal | None, str | None]:
    """(whole VAT rate, exact rate, reason when the product cannot be priced)."""
    group = ident(raw.get("id_tax_rules_group"))
    rate = catalog.rates.get(group)
    if rate is None:
        return None, None, f"tax rules group {group} does not exist in the shop"
    if rate != rate.to_integral_value():
        return None, rate, f"VAT rate {rate.normalize()} % is not a whole number; the Gateway accepts whole rates"
    return int(rate), rate, None


def combination_sku(combination: Mapping[str, Any], raw: Mapping[str, Any]) -> str | None:
    reference = str(combination.get("reference") or "").strip()
    if reference:
        return reference
    parent = str(raw.get("reference") or "").strip()
    return f"{parent}-{ident(combination.get('id'))}" if parent else None


def map_product(raw: Mapping[str, Any], combinations: Sequence[Mapping[str, Any]],
                catalog: Catalog) -> list[Item]:
    """One PrestaShop product (with its combinations) -> a Product and any Skipped items."""
    pid = ident(raw.get("id"))
    vat, rate, reason = vat_of(raw, catalog)
    if reason:
        return [Skipped(product_id=pid, reason=reason)]
    assert rate is not None and vat is not None
    net = num(raw.get("price"))
    base = item_price(net, ZERO, rate, catalog.promo(pid))
    fields: dict[str, Any] = dict(
        name=catalog.t(raw.get("name")),
        vat=vat,
        sku=str(raw.get("reference") or ""),
        ean=str(raw.get("ean13") or ""),
        description=catalog.t(raw.get("description")),
        brief=catalog.t(raw.get("description_short")),
        images=product_images(raw, catalog),
        category_path=product_category(raw, catalog),
        active=is_on(raw.get("active")),
        stock=catalog.stock.get((pid, "0"), 0),
    )
    expected = assoc_ids(raw, "combinations")
    if not combinations:
        if expected:
            return [Skipped(product_id=pid, reason="its combinations could not be read (check the key's "
                                                   "GET permission on combinations)")]
        if base <= 0:
            return [Skipped(product_id=pid, reason=f"price is {base} (zero or negative)")]
        return [build_product(pid, price=base, **fields)]

    items: list[Item] = []
    variants = []
    for combination in sorted(combinations, key=lambda c: int(ident(c.get("id")))):
        cid = ident(combination.get("id"))
        price = item_price(net, num(combination.get("price")), rate, catalog.promo(pid, cid))
        if price <= 0:
            items.append(Skipped(product_id=pid, variant_id=cid,
                                 reason=f"price is {price} (zero or negative) after the combination's impact"))
            continue
        try:
            variants.append(Variant(
                variant_id=cid,
                options=variant_options(combination, catalog),
                sku=combination_sku(combination, raw),
                ean=str(combination.get("ean13") or ""),
                price=price,
                stock=catalog.stock.get((pid, cid), 0),
                images=tuple(_image(catalog, pid, i) for i in assoc_ids(combination, "images")),
            ))
        except ValidationError as exc:
            items.append(Skipped(product_id=pid, variant_id=cid, reason=describe_validation(exc)))
    if not variants:
        reasons = "; ".join(sorted({s.reason for s in items if isinstance(s, Skipped)}))
        return [Skipped(product_id=pid, reason=f"no combination can be imported ({reasons})")]
    product = build_product(pid, price=base if base > 0 else None, variants=tuple(variants), **fields)
    return [product, *items]


# -- incremental helpers -------------------------------------------------------

def fingerprint(records: Iterable[Any]) -> str:
    """A short stable digest of raw records (order-independent at the top level)."""
    parts = sorted(json.dumps(r, sort_keys=True, separators=(",", ":"), default=str) for r in records)
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def item_prices(raw: Mapping[str, Any], combinations: Sequence[Mapping[str, Any]],
                catalog: Catalog) -> dict[str | None, Decimal] | None:
    """Gross prices of an unchanged product's items from its narrow row (no full read needed)."""
    vat, rate, reason = vat_of(raw, catalog)
    if reason or rate is None:
        return None
    net = num(raw.get("price"))
    pid = ident(raw.get("id"))
    if not combinations:
        return {None: item_price(net, ZERO, rate, catalog.promo(pid))}
    return {ident(c.get("id")): item_price(net, num(c.get("price")), rate, catalog.promo(pid, ident(c.get("id"))))
            for c in combinations}


__all__ = [
    "Catalog", "Product", "Skipped", "SpecificPrice", "assoc_ids", "by_id", "category_chain", "category_path",
    "combination_sku", "item_price", "product_category", "running_specific_prices",
    "fingerprint", "ident", "image_url", "item_prices", "map_product", "num", "stock_map",
    "tax_rates", "text", "variant_options",
]
