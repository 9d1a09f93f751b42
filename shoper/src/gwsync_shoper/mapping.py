"""Pure functions: Shoper WebAPI records -> `gwsync.models` (no I/O).

Shoper sends numbers and flags as strings (`"1"`, `"99"`, `"6.0"`), keeps names
in `translations["pl_PL"]`, and lists variants as `product-stocks` rows with
`extended = "1"` next to every product's base row (`extended = "0"`). Prices
(`comp_price`) are gross.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from gwsync.models import (
    Image,
    ImageAccess,
    Item,
    Seen,
    Skipped,
    StockUpdate,
    Variant,
    build_product,
    describe_validation,
    to_money,
)
from pydantic import ValidationError

DEFAULT_LANGUAGE = "pl_PL"
EXEMPT_TAX_NAMES = ("zw", "np")  # "zw." (exempt) and "np." (not taxable): sent as VAT0
EDIT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Lookups:
    """Per-run dictionaries the product mapping needs, built from the lookup resources."""

    base_url: str  # the shop's address, no trailing slash
    language: str = DEFAULT_LANGUAGE
    taxes: Mapping[str, int | None] = field(default_factory=dict)  # tax_id -> rate (None: not an int)
    options: Mapping[str, str] = field(default_factory=dict)  # option_id -> name
    option_values: Mapping[str, str] = field(default_factory=dict)  # ovalue_id -> value
    category_names: Mapping[str, str] = field(default_factory=dict)  # category_id -> name
    category_parents: Mapping[str, str | None] = field(default_factory=dict)  # from categories-tree


# -- small conversions ------------------------------------------------------------------------

def flag(value: Any) -> bool:
    """Shoper flags: "1"/"0", 1/0, true/false."""
    return str(value).strip().lower() in ("1", "true", "yes")


def to_stock(value: Any) -> int:
    """A stock quantity ("99", "6.0", "-2", null) as a whole number >= 0 (fractions rounded down)."""
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, AttributeError):
        return 0
    if not amount.is_finite() or amount <= 0:
        return 0
    return int(amount.to_integral_value(rounding=ROUND_FLOOR))


def translation(record: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The record's translation in `language`, else the first one by locale (or {})."""
    translations = record.get("translations") or {}
    if not isinstance(translations, dict) or not translations:
        return {}
    if language in translations and isinstance(translations[language], dict):
        return translations[language]
    for locale in sorted(translations):
        if isinstance(translations[locale], dict):
            return translations[locale]
    return {}


def tax_rate(row: Mapping[str, Any]) -> int | None:
    """A `/taxes` row as an integer VAT rate; "zw." and "np." are 0; None when not an integer."""
    name = str(row.get("name") or "").strip().lower().rstrip(".")
    if name in EXEMPT_TAX_NAMES:
        return 0
    try:
        value = Decimal(str(row.get("value")).strip().replace(",", ".").rstrip("%"))
    except (InvalidOperation, AttributeError):
        return None
    if not value.is_finite() or value < 0 or value > 100 or value != value.to_integral_value():
        return None
    return int(value)


def parse_edit_date(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value).strip(), EDIT_DATE_FORMAT)
    except (TypeError, ValueError):
        return None


def edit_date_minus(value: str, delta: timedelta) -> str | None:
    """An `edit_date` moved back by `delta` (the incremental window's start); None when unreadable."""
    start = parse_edit_date(value)
    return None if start is None else (start - delta).strftime(EDIT_DATE_FORMAT)


def latest_edit_date(current: str | None, value: Any) -> str | None:
    parsed = parse_edit_date(value)
    if parsed is None:
        return current
    text = parsed.strftime(EDIT_DATE_FORMAT)
    return text if current is None or text > current else current


# -- lookups ----------------------------------------------------------------------------------

def category_parents(tree: Any) -> dict[str, str | None]:
    """`/categories-tree` (nodes `{"id": 1, "children": [...]}`) as child id -> parent id."""
    parents: dict[str, str | None] = {}
    if isinstance(tree, dict):
        tree = tree.get("list") or []

    def walk(nodes: Any, parent: str | None) -> None:
        for node in nodes or []:
            if not isinstance(node, dict) or node.get("id") is None:
                continue
            node_id = str(node["id"])
            parents[node_id] = parent
            walk(node.get("children") or node.get("__children"), node_id)

    walk(tree, None)
    return parents


def build_lookups(base_url: str, language: str = DEFAULT_LANGUAGE, *,
                  taxes: Iterable[Mapping[str, Any]] = (), options: Iterable[Mapping[str, Any]] = (),
                  option_values: Iterable[Mapping[str, Any]] = (),
                  categories: Iterable[Mapping[str, Any]] = (), tree: Any = None) -> Lookups:
    return Lookups(
        base_url=base_url.rstrip("/"),
        language=language,
        taxes={str(row.get("tax_id")): tax_rate(row) for row in taxes},
        options={str(row.get("option_id")): str(translation(row, language).get("name") or "").strip()
                 for row in options},
        option_values={str(row.get("ovalue_id")): str(translation(row, language).get("value") or "").strip()
                       for row in option_values},
        category_names={str(row.get("category_id")): str(translation(row, language).get("name") or "").strip()
                        for row in categories},
        category_parents=category_parents(tree),
    )


def category_path(category_id: Any, lookups: Lookups) -> tuple[str, ...]:
    """Names from the top-level category down to the product's main category."""
    path: list[str] = []
    current = str(category_id) if category_id not in (None, "", "0", 0) else None
    visited: set[str] = set()
    while current is not None and current not in visited:
        visited.add(current)
        name = lookups.category_names.get(current)
        if name:
            path.append(name)
        current = lookups.category_parents.get(current)
    return tuple(reversed(path))


# -- images -----------------------------------------------------------------------------------

def image_url(base_url: str, unic_name: str, extension: str) -> str:
    """Product images are public files: `/userdata/public/gfx/{unic_name}.{extension}`."""
    return f"{base_url.rstrip('/')}/userdata/public/gfx/{unic_name}.{extension}"


def map_image(row: Mapping[str, Any], base_url: str) -> Image | None:
    unic_name = str(row.get("unic_name") or "").strip()
    extension = str(row.get("extension") or "").strip().lstrip(".").lower()
    if not unic_name or not extension:
        return None
    return Image(url=image_url(base_url, unic_name, extension), access=ImageAccess.PUBLIC,
                 key=f"gfx:{row.get('gfx_id')}:{unic_name}")


def _image_order(row: Mapping[str, Any]) -> tuple[int, int, int]:
    def number(value: Any) -> int:
        try:
            return int(str(value))
        except ValueError:
            return 0
    return (0 if flag(row.get("main")) else 1, number(row.get("order")), number(row.get("gfx_id")))


def map_images(rows: Iterable[Mapping[str, Any]], base_url: str,
               main_image: Mapping[str, Any] | None = None) -> tuple[Image, ...]:
    """Visible images, main first then by `order`; the product's `main_image` when there are no rows."""
    rows = [r for r in rows if not flag(r.get("hidden"))]
    if not rows and isinstance(main_image, dict):
        rows = [main_image]
    images: list[Image] = []
    for row in sorted(rows, key=_image_order):
        image = map_image(row, base_url)
        if image is not None and image not in images:
            images.append(image)
    return tuple(images)


# -- prices and variants ----------------------------------------------------------------------

def stock_price(row: Mapping[str, Any], base_price: Decimal | None = None) -> Decimal | None:
    """The gross price of a stock row: `comp_price`, else computed from `price_type`.

    price_type 0 = the product's price, 1 = own price, 2 = base + price, 3 = base - price.
    """
    if row.get("comp_price") not in (None, ""):
        return to_money(row["comp_price"])
    price = to_money(row.get("price") or 0)
    kind = str(row.get("price_type") or "1")
    if kind == "1":
        return price
    if base_price is None:
        return None
    if kind == "0":
        return base_price
    if kind == "2":
        return base_price + price
    if kind == "3":
        return base_price - price
    return price


def variant_options(row: Mapping[str, Any], lookups: Lookups) -> dict[str, str]:
    """`options` `{"<option_id>": "<ovalue_id>"}` (or the SDK's list form) as option name -> value."""
    raw = row.get("options") or {}
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    elif isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, dict):
                value = entry.get("value_id", entry.get("ovalue_id"))
                pairs.append((str(entry.get("option_id")), str(value)))
    options: dict[str, str] = {}
    for option_id, value_id in sorted(pairs, key=lambda p: _int_or(p[0])):
        name = lookups.options.get(option_id) or f"Opcja {option_id}"
        value = lookups.option_values.get(value_id) or value_id
        options[name] = value
    return options


def _int_or(value: str) -> tuple[int, str]:
    try:
        return (int(value), value)
    except ValueError:
        return (1 << 62, value)


def split_stocks(rows: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]:
    """A product's stock rows as (base row, variant rows); variants have `extended = "1"`."""
    base = None
    variants = []
    for row in rows:
        if flag(row.get("extended")):
            variants.append(row)
        elif base is None:
            base = row
    variants.sort(key=lambda r: _int_or(str(r.get("stock_id"))))
    return base, variants


def map_product(product: Mapping[str, Any], stock_rows: Iterable[Mapping[str, Any]],
                image_rows: Iterable[Mapping[str, Any]], lookups: Lookups) -> list[Item]:
    """One product record with its stock rows and image rows -> a Product (and Skipped variants)."""
    product_id = str(product.get("product_id"))
    text = translation(product, lookups.language)
    base_row, variant_rows = split_stocks(stock_rows)
    base = dict(product.get("stock") or {})
    if base_row is not None:
        base = {**base, **{k: v for k, v in base_row.items() if v is not None}}

    tax_id = str(product.get("tax_id"))
    if tax_id not in lookups.taxes:
        return [Skipped(product_id=product_id, reason=f"unknown tax_id {tax_id} (not in /taxes)")]
    vat = lookups.taxes[tax_id]
    if vat is None:
        return [Skipped(product_id=product_id, reason=f"tax_id {tax_id} is not a whole VAT rate")]

    try:
        base_price = stock_price(base) if base else None
    except ValueError as exc:
        return [Skipped(product_id=product_id, reason=f"price: {exc}")]
    images = map_images(image_rows, lookups.base_url, product.get("main_image"))
    images_by_gfx = {img.key.split(":")[1]: img for img in images if img.key}

    items: list[Item] = []
    variants: list[Variant] = []
    for row in variant_rows:
        variant_id = str(row.get("stock_id"))
        try:
            price = stock_price(row, base_price)
        except ValueError as exc:
            items.append(Skipped(product_id=product_id, variant_id=variant_id, reason=f"price: {exc}"))
            continue
        if price is None or price <= 0:
            items.append(Skipped(product_id=product_id, variant_id=variant_id,
                                 reason="variant has no price above 0"))
            continue
        gfx = str(row.get("gfx_id") or "")
        try:
            variants.append(Variant(
                variant_id=variant_id,
                options=variant_options(row, lookups) or {"Wariant": str(row.get("code") or variant_id)},
                sku=row.get("code"), ean=row.get("ean"), price=price,
                stock=to_stock(row.get("stock")),
                images=(images_by_gfx[gfx],) if gfx in images_by_gfx else (),
                active=flag(row.get("active", "1")),
            ))
        except ValidationError as exc:
            items.append(Skipped(product_id=product_id, variant_id=variant_id, reason=describe_validation(exc)))

    if variant_rows and not variants:
        return [Skipped(product_id=product_id, reason="no variant can be imported: " +
                        "; ".join(i.reason for i in items if isinstance(i, Skipped)))]
    if not variant_rows and (base_price is None or base_price <= 0):
        return [Skipped(product_id=product_id, reason="price is 0 or missing")]

    mapped = build_product(
        product_id,
        name=str(text.get("name") or "").strip(),
        price=base_price if base_price and base_price > 0 else None,
        vat=vat,
        stock=to_stock(base.get("stock")),
        sku=product.get("code") or base.get("code"),
        ean=product.get("ean") or base.get("ean"),
        description=text.get("description"),
        brief=text.get("short_description"),
        images=images,
        category_path=category_path(product.get("category_id"), lookups),
        active=flag(text.get("active")),
        variants=tuple(variants),
    )
    if isinstance(mapped, Skipped):
        return [mapped]
    return [mapped, *items]


def stock_updates(product_id: str, stock_rows: Iterable[Mapping[str, Any]]) -> list[Item]:
    """What an unchanged product (not re-read) still tells: its stock rows' stock and price."""
    base, variants = split_stocks(stock_rows)
    updates: list[Item] = []
    if variants:
        base_price = _safe_price(base) if base else None
        for row in variants:
            price = _safe_price(row, base_price)
            if price is not None and price > 0:
                updates.append(StockUpdate(product_id=product_id, variant_id=str(row.get("stock_id")),
                                           stock=to_stock(row.get("stock")), price=price))
    elif base is not None:
        price = _safe_price(base)
        if price is not None and price > 0:
            updates.append(StockUpdate(product_id=product_id, stock=to_stock(base.get("stock")), price=price))
    return updates or [Seen(product_id=product_id)]


def _safe_price(row: Mapping[str, Any], base: Decimal | None = None) -> Decimal | None:
    try:
        return stock_price(row, base)
    except ValueError:
        return None


__all__ = [
    "Lookups", "build_lookups", "map_product", "stock_updates", "map_images", "map_image", "image_url",
    "tax_rate", "to_stock", "translation", "variant_options", "category_path", "category_parents",
    "split_stocks", "stock_price", "flag", "edit_date_minus", "latest_edit_date", "parse_edit_date",
]
