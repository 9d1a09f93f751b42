"""Pure functions from Magento 2 REST records to `gwsync.models` (no I/O).

Shapes follow the answers recorded from a Magento 2.3 Luma shop (shared/fixtures/magento):
numbers are JSON numbers at the top level and strings inside `custom_attributes`
(`[{"attribute_code", "value"}]`), select values are option ids as strings, a
configurable parent names its option attributes in
`extension_attributes.configurable_product_options` and its children (entity ids)
in `configurable_product_links`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from gwsync.kit import decimal_or_none
from gwsync.models import (
    CENT,
    Image,
    ImageAccess,
    Item,
    Skipped,
    Variant,
    build_product,
    describe_validation,
    gross_from_net,
)

ZERO = Decimal(0)
ENABLED = 1  # `status`: 1 enabled, 2 disabled
IMPORTED_TYPES = frozenset({"simple", "configurable"})
# Magento's default customer tax class ("Retail Customer"): the rules a consumer pays
RETAIL_CUSTOMER_CLASS = "3"


# -- field helpers -------------------------------------------------------------

def num(value: Any) -> Decimal:
    """A number sent as a JSON number or a string; blank or junk is 0."""
    number = decimal_or_none(value)
    return ZERO if number is None else number


def ident(value: Any) -> str:
    """An id as text: 12, "12" and 12.0 are all "12"."""
    if value is None:
        return ""
    text = str(value).strip()
    try:
        return str(int(Decimal(text)))
    except (InvalidOperation, ValueError):
        return text


def custom(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`custom_attributes` as a dict: attribute code -> value."""
    out: dict[str, Any] = {}
    for entry in raw.get("custom_attributes") or ():
        if isinstance(entry, Mapping) and entry.get("attribute_code"):
            out[str(entry["attribute_code"])] = entry.get("value")
    return out


def extension(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    value = raw.get("extension_attributes")
    return value if isinstance(value, Mapping) else {}


def child_ids(raw: Mapping[str, Any]) -> list[str]:
    """Entity ids of a configurable's children, in the shop's order, without repeats."""
    out: list[str] = []
    for value in extension(raw).get("configurable_product_links") or ():
        child = ident(value)
        if child and child not in out:
            out.append(child)
    return out


def is_enabled(raw: Mapping[str, Any]) -> bool:
    return ident(raw.get("status")) == str(ENABLED)


def in_website(raw: Mapping[str, Any], website_id: str | None) -> bool:
    """A product assigned to other websites only is not sold in this store view.

    Lists carry `website_ids`; a record without them (trimmed by `fields=`) counts as assigned.
    """
    websites = extension(raw).get("website_ids")
    if website_id is None or not isinstance(websites, list):
        return True
    return website_id in {ident(w) for w in websites}


def text_of(value: Any) -> str:
    return "" if value is None or isinstance(value, (list, dict)) else str(value).strip()


# -- lookups, read once per run ------------------------------------------------------

def store_config(configs: Sequence[Mapping[str, Any]], code: str) -> Mapping[str, Any] | None:
    """The `storeConfigs` entry of a store view code (`default` is the default view)."""
    for config in configs:
        if str(config.get("code")) == code:
            return config
    return None


def media_base(config: Mapping[str, Any]) -> str:
    """Where product images live: `base_media_url` (the secure one when the shop has it) + catalog/product."""
    base = str(config.get("secure_base_media_url") or config.get("base_media_url") or "").strip()
    if not base:
        return ""
    return base.rstrip("/") + "/catalog/product"


def _rate_applies(rate: Mapping[str, Any], country: str) -> bool:
    """A country-wide rate: the country, any region (0), any post code (`*`)."""
    if str(rate.get("tax_country_id") or "").upper() != country.upper():
        return False
    if ident(rate.get("tax_region_id")) not in ("", "0"):
        return False
    postcode = str(rate.get("tax_postcode") or "*").strip()
    return postcode in ("*", "") and not rate.get("zip_is_range")


def tax_rates_by_class(rules: Iterable[Mapping[str, Any]], rates: Iterable[Mapping[str, Any]],
                       country: str, customer_class: str = RETAIL_CUSTOMER_CLASS) -> dict[str, Decimal]:
    """Product tax class id -> rate in % for consumers in `country`, as Magento computes it.

    Rules for the customer class that carry a country-wide rate of the country apply.
    Rules of one priority add up; rules of different priorities compound (Magento's
    tax calculation). A product class that no rule covers is absent (the caller
    treats it as VAT 0, as the shop charges).
    """
    rate_of = {ident(r.get("id")): num(r.get("rate")) for r in rates if _rate_applies(r, country)}
    by_class: dict[str, dict[int, dict[str, Decimal]]] = {}
    for rule in rules:
        if customer_class not in {ident(c) for c in rule.get("customer_tax_class_ids") or ()}:
            continue
        applying = {rid: rate_of[rid] for rid in (ident(r) for r in rule.get("tax_rate_ids") or ())
                    if rid in rate_of}
        if not applying:
            continue
        priority = int(num(rule.get("priority")))
        for product_class in rule.get("product_tax_class_ids") or ():
            by_priority = by_class.setdefault(ident(product_class), {})
            by_priority.setdefault(priority, {}).update(applying)  # a rate counts once per priority
    out: dict[str, Decimal] = {}
    for product_class, by_priority in by_class.items():
        factor = Decimal(1)
        for priority in sorted(by_priority):
            factor *= 1 + sum(by_priority[priority].values(), ZERO) / 100
        out[product_class] = ((factor - 1) * 100).normalize()
    return out


@dataclass(frozen=True)
class CategoryNode:
    name: str
    parent_id: str
    level: int


def flatten_categories(tree: Mapping[str, Any] | None) -> dict[str, CategoryNode]:
    """`GET /V1/categories` (a tree of `children_data`) -> id -> node."""
    out: dict[str, CategoryNode] = {}
    stack = [tree] if isinstance(tree, Mapping) else []
    while stack:
        node = stack.pop()
        out[ident(node.get("id"))] = CategoryNode(name=text_of(node.get("name")),
                                                  parent_id=ident(node.get("parent_id")),
                                                  level=int(num(node.get("level"))))
        stack.extend(c for c in node.get("children_data") or () if isinstance(c, Mapping))
    return out


def category_path(category_id: str, categories: Mapping[str, CategoryNode]) -> tuple[str, ...]:
    """Names from below the store's root category (level 1, "Default Category") down."""
    names: list[str] = []
    current, seen = category_id, set()
    while current in categories and current not in seen:
        seen.add(current)
        node = categories[current]
        if node.level <= 1:
            break
        if node.name:
            names.append(node.name)
        current = node.parent_id
    return tuple(reversed(names))


def product_category(raw: Mapping[str, Any], categories: Mapping[str, CategoryNode]) -> tuple[str, ...]:
    """Magento has no main category: the deepest path of the product's links (then the lowest id)."""
    links = extension(raw).get("category_links") or ()
    ids = [ident(link.get("category_id")) for link in links if isinstance(link, Mapping)]
    if not ids:
        ids = [ident(c) for c in custom(raw).get("category_ids") or () if ident(c)]
    paths = [category_path(i, categories) for i in sorted(set(ids), key=lambda i: (len(i), i))]
    return max(paths, key=len, default=())


def images(raw: Mapping[str, Any], base: str) -> tuple[Image, ...]:
    """Enabled gallery images, the main one (`types` has `image`) first, then by position.

    The files are public under the store's media URL: the Gateway copies them (E16).
    """
    if not base:
        return ()
    entries = [e for e in raw.get("media_gallery_entries") or ()
               if isinstance(e, Mapping) and e.get("media_type", "image") == "image"
               and not e.get("disabled") and str(e.get("file") or "").strip()]
    entries.sort(key=lambda e: ("image" not in (e.get("types") or ()), int(num(e.get("position"))),
                                int(num(e.get("id")))))
    out: list[Image] = []
    for entry in entries:
        url = base + "/" + str(entry["file"]).strip().lstrip("/")
        if all(i.url != url for i in out):
            out.append(Image(url=url, access=ImageAccess.PUBLIC))
    return tuple(out)


@dataclass
class Lookups:
    """What every product needs from the rest of the shop, read once per run."""

    media_base: str = ""
    website_id: str | None = None
    rates: Mapping[str, Decimal] = field(default_factory=dict)
    categories: Mapping[str, CategoryNode] = field(default_factory=dict)
    attribute_codes: Mapping[str, str] = field(default_factory=dict)  # attribute id -> code
    option_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # code -> id -> label
    catalog_gross: bool = False
    ean_attribute: str | None = "ean"


# -- prices --------------------------------------------------------------------------

def vat_of(raw: Mapping[str, Any], lookups: Lookups) -> tuple[Decimal, str | None]:
    """(exact rate, reason when it cannot be sent). A class no rule covers is 0 %."""
    product_class = ident(custom(raw).get("tax_class_id"))
    rate = lookups.rates.get(product_class, ZERO) if product_class not in ("", "0") else ZERO
    if rate != rate.to_integral_value():
        return rate, (f"VAT rate {rate.normalize()} % (tax class {product_class}) is not a whole number; "
                      "the Gateway accepts whole rates")
    return rate, None


def gross_price(raw: Mapping[str, Any], rate: Decimal, lookups: Lookups) -> Decimal:
    price = num(raw.get("price"))
    if lookups.catalog_gross:
        return price.quantize(CENT, rounding=ROUND_HALF_UP)
    return gross_from_net(price, rate)


def ean_of(raw: Mapping[str, Any], lookups: Lookups) -> str:
    if not lookups.ean_attribute:
        return ""
    return text_of(custom(raw).get(lookups.ean_attribute))


def _common_fields(raw: Mapping[str, Any], lookups: Lookups) -> dict[str, Any]:
    attributes = custom(raw)
    return dict(
        name=text_of(raw.get("name")),
        sku=text_of(raw.get("sku")),
        ean=ean_of(raw, lookups),
        description=text_of(attributes.get("description")),
        brief=text_of(attributes.get("short_description")),
        images=images(raw, lookups.media_base),
        category_path=product_category(raw, lookups.categories),
    )


# -- products -------------------------------------------------------------------------

def skipped_type(raw: Mapping[str, Any]) -> Skipped:
    kind = text_of(raw.get("type_id")) or "unknown"
    return Skipped(product_id=ident(raw.get("id")),
                   reason=f"{kind} products are not imported (only simple and configurable products are)")


def map_simple(raw: Mapping[str, Any], stock: int, lookups: Lookups) -> Item:
    """A simple product that belongs to no configurable: one plain Gateway product."""
    pid = ident(raw.get("id"))
    rate, reason = vat_of(raw, lookups)
    if reason:
        return Skipped(product_id=pid, reason=reason)
    price = gross_price(raw, rate, lookups)
    if price <= 0:
        return Skipped(product_id=pid, reason=f"price is {price} (zero or negative)")
    return build_product(pid, price=price, vat=int(rate), stock=max(stock, 0),
                         active=is_enabled(raw) and in_website(raw, lookups.website_id),
                         **_common_fields(raw, lookups))


def option_attributes(parent: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(attribute id, label) of a configurable's options, in the shop's position order."""
    options = [o for o in extension(parent).get("configurable_product_options") or () if isinstance(o, Mapping)]
    options.sort(key=lambda o: (int(num(o.get("position"))), int(num(o.get("id")))))
    return [(ident(o.get("attribute_id")), text_of(o.get("label"))) for o in options]


def variant_options(child: Mapping[str, Any], attributes: Sequence[tuple[str, str]],
                    lookups: Lookups) -> tuple[dict[str, str], str | None]:
    """Option label -> value label of a child, or the reason it has none."""
    values = custom(child)
    options: dict[str, str] = {}
    for attribute_id, label in attributes:
        code = lookups.attribute_codes.get(attribute_id)
        if code is None:
            return {}, f"option attribute {attribute_id} ({label}) is unknown to the shop"
        value = ident(values.get(code))
        if not value:
            return {}, f"no value for the option {label or code}"
        options[label or code] = lookups.option_labels.get(code, {}).get(value) or value
    return options, None


def map_configurable(parent: Mapping[str, Any], children: Sequence[Mapping[str, Any]],
                     stock: Mapping[str, int], lookups: Lookups) -> list[Item]:
    """A configurable and its children (simple products) -> one Product with a Variant per child.

    The parent's price is usually 0: each child's own price counts. VAT follows the
    parent's tax class (one rate per Gateway group). A disabled parent, or one not
    in the store's website, disables the whole group. `stock` is by child SKU.
    """
    pid = ident(parent.get("id"))
    rate, reason = vat_of(parent, lookups)
    if reason:
        return [Skipped(product_id=pid, reason=reason)]
    attributes = option_attributes(parent)
    if not attributes:
        return [Skipped(product_id=pid, reason="configurable product without configurable options")]
    items: list[Item] = []
    variants: list[Variant] = []
    for child in children:
        cid = ident(child.get("id"))
        options, why = variant_options(child, attributes, lookups)
        price = gross_price(child, rate, lookups)
        if why is None and price <= 0:
            why = f"price is {price} (zero or negative)"
        if why is not None:
            items.append(Skipped(product_id=pid, variant_id=cid, reason=why))
            continue
        try:
            variants.append(Variant(
                variant_id=cid, options=options, sku=text_of(child.get("sku")), ean=ean_of(child, lookups),
                price=price, stock=max(stock.get(text_of(child.get("sku")), 0), 0),
                images=images(child, lookups.media_base),
                active=is_enabled(child) and in_website(child, lookups.website_id),
            ))
        except ValidationError as exc:
            items.append(Skipped(product_id=pid, variant_id=cid, reason=describe_validation(exc)))
    if not variants:
        reasons = "; ".join(sorted({s.reason for s in items if isinstance(s, Skipped)})) or "no children"
        return [Skipped(product_id=pid, reason=f"no child product can be imported ({reasons})")]
    product = build_product(pid, price=None, vat=int(rate), variants=tuple(variants),
                            active=is_enabled(parent) and in_website(parent, lookups.website_id),
                            **_common_fields(parent, lookups))
    return [product, *items]


# -- stock -----------------------------------------------------------------------------

def msi_stock(rows: Iterable[Mapping[str, Any]], sources: frozenset[str] | None = None) -> dict[str, int]:
    """SKU -> quantity summed over the chosen sources (all when None); an out-of-stock row counts 0."""
    out: dict[str, int] = {}
    for row in rows:
        sku = text_of(row.get("sku"))
        if not sku or (sources is not None and str(row.get("source_code")) not in sources):
            continue
        quantity = int(num(row.get("quantity"))) if ident(row.get("status")) == "1" else 0
        out[sku] = out.get(sku, 0) + max(quantity, 0)
    return out


def legacy_stock(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Entity id -> quantity from legacy stock items (`is_in_stock` false counts 0)."""
    out: dict[str, int] = {}
    for row in rows:
        pid = ident(row.get("product_id"))
        if pid:
            out[pid] = max(int(num(row.get("qty"))), 0) if row.get("is_in_stock", True) else 0
    return out
