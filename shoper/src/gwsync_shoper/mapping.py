"""Pure functions: Shoper WebAPI records -> `gwsync.models` (no I/O).

Shoper sends numbers and flags as strings (`"1"`, `"99"`, `"6.0"`), keeps names
in `translations["pl_PL"]`, and lists variants as `product-stocks` rows with
`extended = "1"` next to every product's base row (`extended = "0"`). Prices
(`comp_price`) are gross. With `price = current` (the default) a row's price is the
promotion price a customer pays now (`comp_promo_price`, or the offer's discount
applied) while an active special offer covers it; `regular` keeps `comp_price`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from gwsync.kit import running
from gwsync.models import (
    Image,
    ImageAccess,
    Item,
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
PRICE_MODES = ("current", "regular")
# A row without `extension`: the candidates tried, in order, on the shop (`fetch_image`).
IMAGE_EXTENSIONS = ("jpg", "png", "webp", "gif", "jpeg")
NO_EXTENSION = "#no-extension"  # marks an image URL whose file name must be resolved


@dataclass(frozen=True)
class Offer:
    """An active special offer (`/specialoffers` row) of one product."""

    discount: Decimal
    kind: str  # discount_type: "2" an amount off, "3" a percentage off
    stock_ids: frozenset[str] = frozenset()  # rows it covers; empty: every row of the product


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
    price_mode: str = "current"
    offers: Mapping[str, Offer] = field(default_factory=dict)  # product_id -> its active offer


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
                  categories: Iterable[Mapping[str, Any]] = (), tree: Any = None,
                  price_mode: str = "current", offers: Mapping[str, Offer] | None = None) -> Lookups:
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
        price_mode=price_mode,
        offers=dict(offers or {}),
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


def image_candidates(url: str) -> list[str]:
    """The files an image row without `extension` may be, in the order they are tried.

    Real shops' rows may lack `extension`: the extension of the row's original `name`
    comes first, then the usual ones under `/userdata/public/gfx/`, then the pre-5.7.7
    `/userdata/gfx/{unic_name}.jpg` the 2020 importer assumed.
    """
    base, _, rest = url.partition("/userdata/public/gfx/")
    unic_name, _, hint = rest.partition(NO_EXTENSION)
    hint = hint.lstrip(":").lower()
    extensions = ([hint] if hint else []) + [e for e in IMAGE_EXTENSIONS if e != hint]
    return [image_url(base, unic_name, e) for e in extensions] + [f"{base}/userdata/gfx/{unic_name}.jpg"]


def map_image(row: Mapping[str, Any], base_url: str) -> Image | None:
    unic_name = str(row.get("unic_name") or "").strip()
    extension = str(row.get("extension") or "").strip().lstrip(".").lower()
    if not unic_name:
        return None
    key = f"gfx:{row.get('gfx_id')}:{unic_name}"
    if not extension:
        # fetched by the connector, which tries the candidate files and keeps the one that is an image
        named = str(row.get("name") or "").rpartition(".")[2].lower()
        hint = named if named in IMAGE_EXTENSIONS else ""
        url = f"{base_url.rstrip('/')}/userdata/public/gfx/{unic_name}{NO_EXTENSION}{':' + hint if hint else ''}"
        return Image(url=url, access=ImageAccess.AUTH, key=key)
    return Image(url=image_url(base_url, unic_name, extension), access=ImageAccess.PUBLIC, key=key)


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


def active_offers(rows: Iterable[Mapping[str, Any]], now: datetime) -> dict[str, Offer]:
    """Special offers running at `now` (shop-local time), by product id; a missing end never ends."""
    out: dict[str, Offer] = {}
    for row in rows:
        if not running(row.get("date_from"), row.get("date_to"), now) or row.get("product_id") in (None, ""):
            continue
        try:
            discount = to_money(row.get("discount") or 0)
        except ValueError:
            continue
        stocks = row.get("stocks") or ()
        ids = frozenset(str(s.get("stock_id") if isinstance(s, dict) else s) for s in stocks)
        out[str(row["product_id"])] = Offer(discount, str(row.get("discount_type") or "3"), ids)
    return out


def current_price(row: Mapping[str, Any], regular: Decimal | None, product_id: str,
                  lookups: Lookups) -> Decimal | None:
    """What a customer pays now: the promotion price while an active offer covers the row."""
    offer = lookups.offers.get(product_id)
    if lookups.price_mode == "regular" or offer is None or regular is None:
        return regular
    if offer.stock_ids and str(row.get("stock_id")) not in offer.stock_ids:
        return regular
    promo = None
    if row.get("comp_promo_price") not in (None, ""):
        try:
            promo = to_money(row["comp_promo_price"])
        except ValueError:
            promo = None
    if promo is None or not 0 < promo < regular:  # no computed promo price: apply the discount
        if offer.kind == "2":
            promo = regular - offer.discount
        else:
            promo = (regular * (Decimal(100) - offer.discount) / Decimal(100)).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
    return promo if 0 < promo < regular else regular


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
    shown_price = current_price(base, base_price, product_id, lookups) if base else None
    images = map_images(image_rows, lookups.base_url, product.get("main_image"))
    images_by_gfx = {img.key.split(":")[1]: img for img in images if img.key}

    items: list[Item] = []
    variants: list[Variant] = []
    for row in variant_rows:
        variant_id = str(row.get("stock_id"))
        try:
            price = current_price(row, stock_price(row, base_price), product_id, lookups)
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
        price=shown_price if shown_price and shown_price > 0 else None,
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


def stock_updates(product_id: str, stock_rows: Iterable[Mapping[str, Any]], lookups: Lookups) -> list[Item]:
    """What an unchanged product (not re-read) still tells: its stock rows' stock and price
    (the promotion price while an offer runs: offers start and end without a product change).
    An empty list: no usable price, the product is only present."""
    base, variants = split_stocks(stock_rows)
    updates: list[Item] = []
    if variants:
        base_price = _safe_price(base) if base else None
        for row in variants:
            price = current_price(row, _safe_price(row, base_price), product_id, lookups)
            if price is not None and price > 0:
                updates.append(StockUpdate(product_id=product_id, variant_id=str(row.get("stock_id")),
                                           stock=to_stock(row.get("stock")), price=price))
    elif base is not None:
        price = current_price(base, _safe_price(base), product_id, lookups)
        if price is not None and price > 0:
            updates.append(StockUpdate(product_id=product_id, stock=to_stock(base.get("stock")), price=price))
    return updates


def _safe_price(row: Mapping[str, Any], base: Decimal | None = None) -> Decimal | None:
    try:
        return stock_price(row, base)
    except ValueError:
        return None


__all__ = [
    "Lookups", "build_lookups", "map_product", "stock_updates", "map_images", "map_image", "image_url",
    "tax_rate", "to_stock", "translation", "variant_options", "category_path", "category_parents",
    "split_stocks", "stock_price", "flag", "active_offers", "current_price", "image_candidates",
]
