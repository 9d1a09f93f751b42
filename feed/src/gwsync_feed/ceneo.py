"""Ceneo XML (`<offers><o ...>`): one `<o>` per sellable item -> `Entry`. Pure, one function per rule.

    <o id="KUB-1" url="..." price="39.99" avail="1" stock="12" set="0" weight="0.4">
      <cat><![CDATA[Dom i ogród/Kuchnia/Kubki]]></cat>
      <name><![CDATA[Kubek emaliowany 350 ml]]></name>
      <imgs><main url="https://..."/><i url="https://..."/></imgs>
      <desc><![CDATA[...]]></desc>
      <attrs><a name="Producent"><![CDATA[Emalia]]></a><a name="EAN"><![CDATA[5901234123457]]></a></attrs>
    </o>

Prices are gross PLN. Ceneo has no VAT field and no variant grouping: items are
grouped only by an explicit rule (`FEED_GROUP_BY`, an attribute name), never by
guessing from names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree.ElementTree import Element

from .context import MappingContext
from .entries import Entry, failed
from .images import resolve_all
from .values import clean_ean, parse_price, parse_stock, parse_vat
from .xml_stream import iter_items, text_of

_ROOTS = frozenset({"offers"})
_ITEMS = frozenset({"o"})
# avail: 1, 3, 7, 14 = ships within that many days (on hand); 90 = on order, 99 = ask, 110 = preorder.
_NOT_ON_HAND = frozenset({"90", "99", "110"})
_EAN_ATTRS = ("ean", "gtin", "kod ean")


@dataclass(frozen=True)
class CeneoRules:
    group_by: str | None = None  # FEED_GROUP_BY: the attribute whose value names the group
    options: tuple[str, ...] = ("Kolor", "Rozmiar")  # FEED_OPTIONS: attributes that tell variants apart


def iter_offers(stream: BinaryIO, where: str) -> Iterator[tuple[int, Element]]:
    return iter_items(stream, where, _ITEMS, _ROOTS, "Ceneo XML")


def map_offer(position: int, offer: Element, ctx: MappingContext, rules: CeneoRules) -> Entry:
    attrs = offer_attrs(offer)
    item_id = (offer.get("id") or "").strip()
    group_id = _lookup(attrs, rules.group_by) if rules.group_by else None
    if not item_id:
        return failed(f"item #{position}", position, "no id attribute on <o>", group_id)
    try:
        return _entry(item_id, position, group_id, offer, attrs, ctx, rules)
    except ValueError as exc:
        return failed(item_id, position, str(exc), group_id)


def _entry(item_id: str, position: int, group_id: str | None, offer: Element, attrs: dict[str, str],
           ctx: MappingContext, rules: CeneoRules) -> Entry:
    name = text_of(offer.find("name"))
    if not name:
        raise ValueError("no <name>")
    if not offer.get("price"):
        raise ValueError("no price attribute")
    images, notes = resolve_all(ctx.images, offer_images(offer))
    vat_text = _lookup(attrs, "vat")
    return Entry(
        item_id=item_id, position=position, group_id=group_id, name=name,
        description=text_of(offer.find("desc")) or None, price=parse_price(offer.get("price", "")),
        vat=parse_vat(vat_text) if vat_text else ctx.vat,
        stock=offer_stock(offer.get("stock"), offer.get("avail"), ctx.default_stock), sku=item_id,
        ean=next((e for key in _EAN_ATTRS if (e := clean_ean(_lookup(attrs, key)))), None),
        images=images, category_path=split_category(text_of(offer.find("cat"))),
        options=tuple((label, value) for label in rules.options if (value := _lookup(attrs, label))),
        notes=notes,
    )


def offer_attrs(offer: Element) -> dict[str, str]:
    """`<attrs><a name="X">value</a>`: by name as written; the first of a repeated name wins."""
    attrs: dict[str, str] = {}
    for a in offer.iterfind("attrs/a"):
        name, value = (a.get("name") or "").strip(), text_of(a)
        if name and value:
            attrs.setdefault(name, value)
    return attrs


def _lookup(attrs: dict[str, str], name: str | None) -> str | None:
    wanted = (name or "").strip().casefold()
    return next((v for k, v in attrs.items() if k.casefold() == wanted), None)


def offer_images(offer: Element) -> list[str]:
    refs = [m.get("url", "") for m in offer.iterfind("imgs/main")]
    return refs + [i.get("url", "") for i in offer.iterfind("imgs/i")]


def offer_stock(stock: str | None, avail: str | None, default: int) -> int:
    """The `stock` attribute when given; else on hand unless `avail` says on order or preorder."""
    if stock is not None and stock.strip():
        return parse_stock(stock)
    if (avail or "").strip() in _NOT_ON_HAND:
        return 0
    return default


def split_category(text: str) -> tuple[str, ...]:
    """Ceneo writes the shop's path with `/` (`Dom i ogród/Kuchnia`); `>` is read too."""
    separator = ">" if ">" in text else "/"
    return tuple(part.strip() for part in text.split(separator) if part.strip())
