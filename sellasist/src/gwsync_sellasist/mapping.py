"""Sellasist records -> `gwsync.models`: pure functions, no I/O.

`../shared/platforms/sellingo-sellassist.md` §5 and §9: every number is a string
("2137.00", "58.000", "23"); a variant's price "0.00" means the product's price; the
`variants` key is absent for a simple product; option names come from the product's
variant group (`/variants_groups/{id}`), matched by `property_id`; description cells are
found by their display name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal

from pydantic import ValidationError

from gwsync.kit import decimal_or_none
from gwsync.models import Image, ImageAccess, Item, Skipped, Variant, build_product, describe_validation

PriceMode = Literal["current", "regular"]
PRICE_MODES: tuple[PriceMode, ...] = ("current", "regular")
LONG_DESCRIPTION = ("długi opis",)
SHORT_DESCRIPTION = ("krótki opis",)
UNIVERSAL_DESCRIPTION = ("uniwersalny opis",)


def ident(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def text(value: Any) -> str | None:
    result = str(value).strip() if value is not None else ""
    return result or None


money = decimal_or_none  # "2137.00" -> Decimal; None when empty or not a number


def quantity(value: Any) -> int:
    """"58.000" -> 58; fractions rounded down, negatives and non-numbers as 0."""
    amount = money(value)
    if amount is None:
        return 0
    return max(int(amount.to_integral_value(rounding=ROUND_FLOOR)), 0)


def vat_rate(value: Any) -> int | None:
    amount = money(value)
    if amount is None or amount != amount.to_integral_value() or not 0 <= amount <= 100:
        return None
    return int(amount)


def is_on(value: Any) -> bool:
    return ident(value) in ("1", "true", "True")


def not_off(value: Any) -> bool:
    """`status` "0" is off; a record without the field is not."""
    return ident(value) not in ("0", "false", "False")


def price_of(record: Mapping[str, Any], mode: PriceMode) -> Decimal | None:
    """The gross price to send. `current`: the promotional price while a promotion runs
    (`promotion` "1" and a `price_promo` above 0 and below `price`); `regular`: `price`."""
    regular = money(record.get("price"))
    if mode == "current" and is_on(record.get("promotion")):
        promo = money(record.get("price_promo"))
        if promo is not None and promo > 0 and (regular is None or regular <= 0 or promo < regular):
            return promo
    return regular


def description_cell(record: Mapping[str, Any], names: Sequence[str]) -> str | None:
    for cell in record.get("description") or ():
        if isinstance(cell, Mapping) and str(cell.get("datacell_name") or "").strip().lower() in names:
            content = text(cell.get("content"))
            if content:
                return content
    return None


def category_path(record: Mapping[str, Any]) -> tuple[str, ...]:
    """Titles from the top down, walking `parent` through the product's own `categories` list
    (only that list: the path must not depend on which products were read before)."""
    by_id = {ident(c.get("id")): c for c in record.get("categories") or () if isinstance(c, Mapping)}
    path: list[str] = []
    seen: set[str] = set()
    current = ident(record.get("category_id"))
    while current and current not in seen and current in by_id:
        seen.add(current)
        title = text(by_id[current].get("title"))
        if title:
            path.append(title)
        current = ident(by_id[current].get("parent"))
    return tuple(reversed(path))


def images(record: Mapping[str, Any]) -> tuple[Image, ...]:
    """Absolute public URLs on Sellasist's image host, in `key` order: the Gateway copies them."""
    rows = [i for i in record.get("images") or () if isinstance(i, Mapping) and text(i.get("original"))]
    rows.sort(key=lambda i: _int(i.get("key")))
    urls = dict.fromkeys(str(i["original"]).strip() for i in rows)
    return tuple(Image(url=url, access=ImageAccess.PUBLIC) for url in urls
                 if url.startswith(("https://", "http://")))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1_000_000


def option_names(group: Mapping[str, Any] | None) -> dict[str, str]:
    """`/variants_groups/{id}` -> property id -> option name."""
    if not group:
        return {}
    return {ident(v.get("id")): str(v.get("name")).strip() for v in group.get("variants") or ()
            if isinstance(v, Mapping) and text(v.get("name"))}


def variant_options(variant: Mapping[str, Any], group: Mapping[str, Any] | None) -> dict[str, str] | str:
    """Option name -> value, or the reason there is none.

    A property whose id is not in the group is named after the group itself when the group
    has one axis (the recorded demo group "Kolor" lists property 3 while a variant uses 4).
    """
    if group is None:
        return "the product has no variant group: option names unknown"
    names = option_names(group)
    group_name = text(group.get("name"))
    options: dict[str, str] = {}
    for prop in variant.get("properties") or ():
        if not isinstance(prop, Mapping):
            continue
        value = text(prop.get("name"))
        property_id = ident(prop.get("property_id"))
        name = names.get(property_id) or (group_name if len(names) <= 1 else None)
        if not value:
            return f"property {property_id} has no value"
        if not name:
            return f"property {property_id} is not in variant group {ident(group.get('id'))}"
        options[name] = f"{options[name]}, {value}" if name in options else value
    return options or "the variant has no properties"


def map_product(record: Mapping[str, Any], group: Mapping[str, Any] | None, mode: PriceMode = "current",
                ) -> Iterator[Item]:
    """One `GET /products/{id}` record (and its variant group): a Product, or Skipped items."""
    product_id = ident(record.get("id"))
    name = text(record.get("title")) or text(record.get("name"))
    if not name:
        yield Skipped(product_id=product_id, reason="the product has no title")
        return
    vat = vat_rate(record.get("vat"))
    if vat is None:
        yield Skipped(product_id=product_id, reason=f"VAT {record.get('vat')!r} is not a whole-number rate")
        return
    price = price_of(record, mode)
    fields: dict[str, Any] = {
        "name": name,
        "vat": vat,
        "sku": text(record.get("catalog_number")),  # never `symbol`: a separate, often empty field
        "ean": text(record.get("ean")),
        "description": description_cell(record, LONG_DESCRIPTION) or description_cell(record, UNIVERSAL_DESCRIPTION),
        "brief": description_cell(record, SHORT_DESCRIPTION),
        "images": images(record),
        "category_path": category_path(record),
        "active": not_off(record.get("status")),
    }
    rows = [v for v in record.get("variants") or () if isinstance(v, Mapping)]
    if not rows:  # the key is absent for a simple product
        if price is None or price <= 0:
            yield Skipped(product_id=product_id, reason=f"price {record.get('price')!r} is not a positive number")
            return
        yield build_product(product_id, price=price, stock=quantity(record.get("quantity")), **fields)
        return
    if group is None and ident(record.get("variants_group_id")):
        yield Skipped(product_id=product_id, reason=f"variant group {ident(record.get('variants_group_id'))} "
                                                    "could not be read (option names unknown)")
        return
    variants: list[Variant] = []
    for row in rows:
        variant = map_variant(product_id, row, group, mode)
        if isinstance(variant, Skipped):
            yield variant
        else:
            variants.append(variant)
    if not variants:
        return
    if (price is None or price <= 0) and any(v.price is None for v in variants):
        yield Skipped(product_id=product_id, reason=f"price {record.get('price')!r} is not a positive number "
                                                    "and some variants take the product's price")
        return
    yield build_product(product_id, price=price if price and price > 0 else None, variants=tuple(variants),
                        **fields)


def map_variant(product_id: str, row: Mapping[str, Any], group: Mapping[str, Any] | None,
                mode: PriceMode) -> Variant | Skipped:
    """A variant's own price unless it is "0.00" (= the product's price); SKU from `catalog`."""
    variant_id = ident(row.get("id"))
    options = variant_options(row, group)
    if isinstance(options, str):
        return Skipped(product_id=product_id, variant_id=variant_id, reason=options)
    price = price_of(row, mode)
    try:
        return Variant(variant_id=variant_id, options=options, sku=text(row.get("catalog")),
                       ean=text(row.get("ean")), price=price if price is not None and price > 0 else None,
                       stock=quantity(row.get("quantity")), active=not_off(row.get("status")))
    except ValidationError as exc:
        return Skipped(product_id=product_id, variant_id=variant_id, reason=describe_validation(exc))
