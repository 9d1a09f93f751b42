"""One Google Merchant item (`Record`) -> `Entry`: pure, one function per rule.

Fields read (g: namespace, or no namespace for the RSS ones):
id, title, description, link (not sent: the Gateway has no field for it),
price / sale_price / sale_price_effective_date, image_link, additional_image_link,
availability, quantity (custom, common in Polish feeds), item_group_id,
color / size / material / pattern (variant options), gtin, product_type or
google_product_category, vat (custom: the item's own rate).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from .context import MappingContext
from .entries import Entry, failed
from .google_xml import Record
from .images import resolve_all
from .values import clean_ean, parse_price, parse_stock, parse_vat, split_path

# Option name (as buyers see it) per Google attribute, in the order titles usually use.
OPTION_FIELDS = (("color", "Kolor"), ("size", "Rozmiar"), ("material", "Materiał"), ("pattern", "Wzór"))
_UNAVAILABLE = frozenset({"out_of_stock", "preorder", "backorder"})


def first(record: Record, name: str) -> str | None:
    values = record.get(name)
    return values[0] if values else None


def map_item(position: int, record: Record, ctx: MappingContext) -> Entry:
    item_id = first(record, "id")
    group_id = first(record, "item_group_id")
    if not item_id:
        return failed(f"item #{position}", position, "no g:id", group_id)
    try:
        return _entry(item_id, position, group_id, record, ctx)
    except ValueError as exc:
        return failed(item_id, position, str(exc), group_id)


def _entry(item_id: str, position: int, group_id: str | None, record: Record,
           ctx: MappingContext) -> Entry:
    name = first(record, "title")
    if not name:
        raise ValueError("no title")
    refs = record.get("image_link", [])[:1] + record.get("additional_image_link", [])
    images, notes = resolve_all(ctx.images, refs)
    return Entry(
        item_id=item_id, position=position, group_id=group_id, name=name,
        description=first(record, "description") or first(record, "summary"),
        price=item_price(record, ctx.clock()), vat=item_vat(record, ctx.vat),
        stock=item_stock(record, ctx.default_stock), sku=item_id,
        ean=clean_ean(first(record, "gtin")), images=images,
        category_path=item_category(record), options=item_options(record), notes=notes,
    )


def item_price(record: Record, now: datetime) -> Decimal:
    """The sale price while its effective window (if any) includes now, else the price."""
    regular = first(record, "price")
    sale = first(record, "sale_price")
    if sale and sale_is_on(first(record, "sale_price_effective_date"), now):
        return parse_price(sale)
    if not regular:
        raise ValueError("no g:price")
    return parse_price(regular)


def sale_is_on(window: str | None, now: datetime) -> bool:
    """`start/end` in ISO 8601; a date without a time covers that whole day. Unreadable: off."""
    if not window:
        return True
    start_text, _, end_text = window.partition("/")
    try:
        start = _instant(start_text, time.min)
        end = _instant(end_text, time.max)
    except ValueError:
        return False
    return start <= now <= end


def _instant(text: str, day_time: time) -> datetime:
    text = text.strip()
    value = datetime.fromisoformat(text)
    if "T" not in text and " " not in text:  # a bare date
        value = datetime.combine(value.date(), day_time)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def item_vat(record: Record, default: int) -> int:
    """A custom g:vat (e.g. `8`, `8%`, `zw`) overrides FEED_VAT for this item."""
    value = first(record, "vat")
    return parse_vat(value) if value else default


def item_stock(record: Record, default: int) -> int:
    """out_of_stock/preorder/backorder -> 0; else g:quantity; else FEED_DEFAULT_STOCK."""
    availability = (first(record, "availability") or "").lower().replace(" ", "_")
    if availability in _UNAVAILABLE:
        return 0
    quantity = first(record, "quantity")
    return parse_stock(quantity) if quantity else default


def item_category(record: Record) -> tuple[str, ...]:
    """g:product_type (the shop's own path) first; a numeric Google category id is no path."""
    for name in ("product_type", "google_product_category"):
        path = split_path(first(record, name))
        if path and not (len(path) == 1 and path[0].isdigit()):
            return path
    return ()


def item_options(record: Record) -> tuple[tuple[str, str], ...]:
    return tuple((label, value) for field, label in OPTION_FIELDS
                 if (value := first(record, field)))
