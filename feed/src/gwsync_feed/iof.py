"""IdoSell IOF 3.0 (`full.xml`, also written by other Polish platforms) -> entries. Pure.

    <offer file_format="IOF" version="3.0"><products currency="PLN" language="pol">
      <product id="15" vat="23.0" currency="PLN">
        <category id="1" name="Kobieta/Bluzki"/>
        <description><name xml:lang="pol">Bluzka</name><long_desc xml:lang="pol">...</long_desc></description>
        <price gross="115" net="93.5"/>
        <sizes><size id="3" name="S" code="15-3" code_producer="590..." available="in_stock">
          <price gross="115" net="93.5"/><stock id="0" quantity="6" available_stock_quantity="6"/></size></sizes>
        <images><large><image url="https://..."/></large></images>
        <group id="16" first_product_id="15"><group_by_parameter><name>Kolor</name>
          <product_value><name>Szary</name></product_value></group_by_parameter></group>
      </product>

A feed product is not a sellable item: each `<size>` is one. Products that belong
together (colours) are separate feed products joined by `<group>`; the group is
named by `first_product_id`. Rules (the IdoSell connector's, see iai/README.md):
every variant of a group carries the same option names; only a genuine one-size
product (size `uniw`, "uniwersalny") leaves the size out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO
from xml.etree.ElementTree import Element

from gwsync.errors import ConfigError

from .context import MappingContext
from .entries import Entry, failed
from .images import resolve_all
from .values import clean_ean, parse_amount, parse_stock, parse_vat
from .xml_stream import iter_items, text_of

SIZE_OPTION = "Rozmiar"
_ROOTS = frozenset({"offer"})
_ITEMS = frozenset({"product"})
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ONE_SIZE = frozenset({"uniw", "uniwersalny", "uniwersalna", "one size"})
_NOT_ON_HAND = frozenset({"unavailable", "on_order", "out_of_stock"})


@dataclass
class IofProduct:
    product_id: str
    group_key: str | None  # first_product_id of a version group, else None
    entries: list[Entry] = field(default_factory=list)
    one_size: bool = False


def iter_products(stream: BinaryIO, where: str) -> Iterator[tuple[int, Element]]:
    first = True
    for position, product in iter_items(stream, where, _ITEMS, _ROOTS, "IdoSell IOF"):
        if first and product.find("description") is None and product.find("sizes") is not None:
            raise ConfigError(f"feed {where}: this is an IOF light.xml (prices and stock only, no names); "
                              "set FEED_SOURCE to the full.xml of the same offer")
        first = False
        yield position, product


def map_product(position: int, product: Element, ctx: MappingContext) -> IofProduct:
    pid = (product.get("id") or "").strip() or f"item #{position}"
    group = product.find("group")
    key = (group.get("first_product_id") or "").strip() or None if group is not None else None
    sizes = product.findall("sizes/size")
    one_size = len(sizes) == 1 and is_one_size(sizes[0])
    result = IofProduct(pid, key, one_size=one_size)
    try:
        base = _base(product, pid, position, key, ctx)
    except ValueError as exc:
        result.entries.append(failed(pid, position, str(exc), key))
        return result
    if not sizes:
        result.entries.append(failed(pid, position, "no <sizes>: nothing to sell", key))
    version = _version_option(group)
    for size in sizes:
        result.entries.append(_size_entry(size, base, pid, position, key, version, one_size, ctx))
    return result


def _base(product: Element, pid: str, position: int, key: str | None, ctx: MappingContext) -> Entry:
    currency = (product.get("currency") or "PLN").strip().upper()
    if currency != "PLN":
        raise ValueError(f"currency {currency} (only PLN prices are imported)")
    name = localised(product, "description/name")
    if not name:
        raise ValueError("no <name>")
    images, notes = resolve_all(ctx.images, [i.get("url", "") for i in product.iterfind("images/large/image")])
    vat = product.get("vat")
    return Entry(
        item_id=pid, position=position, group_id=key, name=name,
        description=localised(product, "description/long_desc") or localised(product, "description/short_desc") or None,
        price=_gross(product.find("price")), vat=parse_vat(vat) if vat else ctx.vat, images=images,
        category_path=category_path(product.find("category")), notes=notes,
    )


def _size_entry(size: Element, base: Entry, pid: str, position: int, key: str | None,
                version: tuple[tuple[str, str], ...], one_size: bool, ctx: MappingContext) -> Entry:
    sid = (size.get("id") or "").strip()
    item_id = f"{pid}-{sid}" if sid else pid
    try:
        price = _gross(size.find("price")) or base.price
        if price is None:
            raise ValueError("no gross price on the size or the product")
        label = (size.get("name") or size.get("panel_name") or sid).strip()
        options = version if one_size else (*version, (SIZE_OPTION, label))
        return Entry(
            item_id=item_id, position=position, group_id=key or pid, name=base.name,
            description=base.description, price=price, vat=base.vat,
            stock=size_stock(size, ctx.default_stock), sku=(size.get("code") or "").strip() or item_id,
            ean=clean_ean(size.get("code_producer")), images=base.images,
            category_path=base.category_path, options=options, notes=base.notes,
        )
    except ValueError as exc:
        return failed(item_id, position, str(exc), key or pid)


def is_one_size(size: Element) -> bool:
    names = {(size.get(a) or "").strip().casefold() for a in ("id", "name", "panel_name")}
    return bool(names & _ONE_SIZE)


def _version_option(group: Element | None) -> tuple[tuple[str, str], ...]:
    """The parameter that tells a version group's products apart (`Kolor: Szary`)."""
    if group is None:
        return ()
    options = []
    for param in group.iterfind("group_by_parameter"):
        name = localised(param, "name")
        value = localised(param, "product_value/name")
        if name and value:
            options.append((name, value))
    return tuple(options)


def localised(elem: Element, path: str, language: str = "pol") -> str:
    """The text in the shop's language (`xml:lang="pol"`), else the first one given."""
    found = elem.findall(path)
    preferred = [e for e in found if e.get(_XML_LANG) == language] or found
    return next((t for e in preferred if (t := text_of(e))), "")


def _gross(price: Element | None) -> Decimal | None:
    """A `gross` of 0 (sizes priced at the product level) is no price."""
    text = price.get("gross") if price is not None else None
    if not text:
        return None
    amount = parse_amount(text)
    return amount if amount > 0 else None


def size_stock(size: Element, default: int) -> int:
    """Sum over warehouses; `-1` is "quantity unknown": on hand as FEED_DEFAULT_STOCK when available."""
    if (size.get("available") or "").strip() in _NOT_ON_HAND:
        return 0
    known, unknown = 0, False
    for stock in size.iterfind("stock"):
        text = (stock.get("available_stock_quantity") or stock.get("quantity") or "0").strip()
        if text.startswith("-"):
            unknown = True
        else:
            known += parse_stock(text)
    if known == 0 and (unknown or size.find("stock") is None):
        return default
    return known


def category_path(category: Element | None) -> tuple[str, ...]:
    """IdoSell writes the whole path in `name` with `/`; other platforms add `path` with `\\`."""
    if category is None:
        return ()
    path = category.get("path")
    text, separator = (path, "\\") if path else (category.get("name") or "", "/")
    return tuple(part.strip() for part in text.split(separator) if part.strip())
