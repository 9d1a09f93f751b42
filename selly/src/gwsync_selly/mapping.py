"""Selly tables -> `gwsync.models`: pure functions, no I/O (`../shared/platforms/selly.md` §5, §9).

The tables are joined in memory by id. Only the columns the mapping uses are kept
(`compact`), so a run holds what the mapping needs and not the whole shop database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from pydantic import ValidationError

from gwsync.kit import decimal_or_none
from gwsync.models import Image, ImageAccess, Item, Skipped, Variant, build_product, describe_validation

# Read in this order: lookups first, the product table last, so that products are mapped as
# soon as their own table is in.
TABLES = ("kategorie", "produkty_atrybuty_grupy", "produkty_atrybuty", "produkty_warianty_atrybuty",
          "produkty_zdjecia", "produkty_warianty", "produkty_wlasciwosci", "produkty")

COLUMNS = {
    "kategorie": ("kategoria_id", "parent_id", "nazwa"),
    "produkty_atrybuty_grupy": ("produkty_atrybuty_grupa_id", "produkty_atrybuty_grupa", "pozycja"),
    "produkty_atrybuty": ("produkty_atrybut_id", "produkty_atrybuty_grupa_id", "produkty_atrybut"),
    "produkty_warianty_atrybuty": ("produkty_wariant_id", "produkty_atrybut_id"),
    "produkty_zdjecia": ("produkt_id", "zdjecie_nr", "zdjecie_pozycja"),
    "produkty_warianty": ("produkty_wariant_id", "produkt_id", "pozycja", "ilosc", "wariant_cena",
                          "stawka_vat", "kod_produktu", "zdjecie_nr"),
    "produkty_wlasciwosci": ("produkt_id", "kod_producenta", "symbol_produktu", "stawka_vat", "opis",
                             "opis_skrocony", "zdjecie_nr", "zdjecia_katalog", "liczba_egzemplarzy", "kod_ean"),
    "produkty": ("product_id", "category_id", "product_name", "product_name_additional", "price", "visible"),
}

# The id column of tables whose rows each have one (join tables have none).
ROW_KEYS = {"kategorie": "kategoria_id", "produkty_atrybuty_grupy": "produkty_atrybuty_grupa_id",
            "produkty_atrybuty": "produkty_atrybut_id", "produkty_warianty": "produkty_wariant_id",
            "produkty_wlasciwosci": "produkt_id", "produkty": "product_id"}


def ident(value: Any) -> str:
    """Ids arrive as JSON numbers (sometimes strings): one text form for joins."""
    text = str(value).strip() if value is not None else ""
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def compact(table: str, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    columns = COLUMNS[table]
    return [{c: row.get(c) for c in columns} for row in rows if isinstance(row, Mapping)]


@dataclass
class Catalog:
    """The lookup tables of one read, indexed by id."""

    shop_url: str
    extension: str = "jpg"  # of the picture files; checked once per run (`connector.picture_extension`)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    variant_attributes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    images: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    variants: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    details: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Index one table (any but `produkty`, which is mapped row by row)."""
        for row in compact(table, rows):
            if table == "kategorie":
                self.categories[ident(row["kategoria_id"])] = row
            elif table == "produkty_atrybuty_grupy":
                self.groups[ident(row["produkty_atrybuty_grupa_id"])] = row
            elif table == "produkty_atrybuty":
                self.attributes[ident(row["produkty_atrybut_id"])] = row
            elif table == "produkty_warianty_atrybuty":
                self.variant_attributes[ident(row["produkty_wariant_id"])].append(ident(row["produkty_atrybut_id"]))
            elif table == "produkty_zdjecia":
                self.images[ident(row["produkt_id"])].append(row)
            elif table == "produkty_warianty":
                self.variants[ident(row["produkt_id"])].append(row)
            elif table == "produkty_wlasciwosci":
                self.details[ident(row["produkt_id"])] = row
            else:
                raise ValueError(f"not a lookup table: {table}")


# -- values ---------------------------------------------------------------------------------

money = decimal_or_none  # a gross price string ("19.9") as Decimal; None when empty or not a number


def quantity(value: Any) -> int | None:
    """Stock from "67.0": whole units, negatives as 0; None when unknown (null or not a number)."""
    amount = money(value)
    if amount is None:
        return None
    return max(int(amount.to_integral_value(rounding=ROUND_FLOOR)), 0)


def vat_rate(value: Any) -> int | None:
    amount = money(value)
    if amount is None or amount != amount.to_integral_value():
        return None
    return int(amount)


def text(value: Any) -> str | None:
    result = str(value).strip() if value is not None else ""
    return result or None


def category_path(catalog: Catalog, category_id: Any) -> tuple[str, ...]:
    """Names from the top category down; `parent_id` 0 is the top. Children may come before
    their parents in the table, and a broken chain (a cycle, a missing parent) ends the walk."""
    path: list[str] = []
    seen: set[str] = set()
    current = ident(category_id)
    while current and current != "0" and current not in seen:
        seen.add(current)
        row = catalog.categories.get(current)
        if row is None:
            break
        name = text(row.get("nazwa"))
        if name:
            path.append(name)
        current = ident(row.get("parent_id"))
    return tuple(reversed(path))


def image_url(shop_url: str, folder: Any, number: Any, extension: str = "jpg") -> str | None:
    """Public picture file: `{shop}/{zdjecia_katalog}{zdjecie_nr}.jpg` (e.g. img/products/90/8.jpg)."""
    folder_text, nr = text(folder), ident(number)
    if not folder_text or not nr or nr == "0":
        return None
    folder_text = folder_text.strip("/") + "/"
    return f"{shop_url.rstrip('/')}/{folder_text}{nr}.{extension}"


def product_images(catalog: Catalog, product_id: str, details: Mapping[str, Any]) -> tuple[Image, ...]:
    """Rows of `produkty_zdjecia` by `zdjecie_pozycja`; the details' main picture first."""
    rows = sorted(catalog.images.get(product_id, ()), key=lambda r: (_int(r.get("zdjecie_pozycja")),
                                                                       _int(r.get("zdjecie_nr"))))
    numbers = [ident(r.get("zdjecie_nr")) for r in rows]
    main = ident(details.get("zdjecie_nr"))
    if main in numbers:
        numbers.remove(main)
        numbers.insert(0, main)
    out: list[Image] = []
    for number in dict.fromkeys(numbers):
        url = image_url(catalog.shop_url, details.get("zdjecia_katalog"), number, catalog.extension)
        if url:
            out.append(Image(url=url, access=ImageAccess.PUBLIC))
    return tuple(out)


def first_picture(catalog: Catalog) -> tuple[Any, Any] | None:
    """(folder, number) of one picture the tables name: the one the extension check asks for."""
    for product_id in sorted(catalog.images, key=_int):
        details = catalog.details.get(product_id)
        rows = catalog.images[product_id]
        if details and rows and text(details.get("zdjecia_katalog")):
            return details.get("zdjecia_katalog"), rows[0].get("zdjecie_nr")
    return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1_000_000


# -- variants -------------------------------------------------------------------------------

def variant_options(catalog: Catalog, variant_id: str) -> dict[str, str] | str:
    """Option name -> value for one variant, or the reason it has none.

    A variant may have several attribute rows (size and colour); each group is one option,
    in the groups' own order. Two values of one group are joined.
    """
    found: list[tuple[int, str, str]] = []
    for attribute_id in catalog.variant_attributes.get(variant_id, ()):
        attribute = catalog.attributes.get(attribute_id)
        if attribute is None:
            return f"attribute value {attribute_id} is not in produkty_atrybuty"
        group_id = ident(attribute.get("produkty_atrybuty_grupa_id"))
        group = catalog.groups.get(group_id)
        name = text(group.get("produkty_atrybuty_grupa")) if group else None
        value = text(attribute.get("produkty_atrybut"))
        if not name:
            return f"attribute group {group_id} is not in produkty_atrybuty_grupy"
        if not value:
            return f"attribute value {attribute_id} has no text"
        found.append((_int(group.get("pozycja") if group else None), name, value))
    options: dict[str, str] = {}
    for _, name, value in sorted(found, key=lambda f: f[0]):
        options[name] = f"{options[name]}, {value}" if name in options else value
    return options or "the variant has no attribute values (produkty_warianty_atrybuty)"


def map_variant(row: Mapping[str, Any], options: dict[str, str], catalog: Catalog,
                details: Mapping[str, Any]) -> Variant:
    """A variant's own price when it has one (gross); its picture when `zdjecie_nr` is not 0."""
    price = money(row.get("wariant_cena"))
    url = image_url(catalog.shop_url, details.get("zdjecia_katalog"), row.get("zdjecie_nr"), catalog.extension)
    return Variant(variant_id=ident(row.get("produkty_wariant_id")), options=options,
                   sku=text(row.get("kod_produktu")), price=price if price and price > 0 else None,
                   stock=quantity(row.get("ilosc")) or 0,
                   images=(Image(url=url, access=ImageAccess.PUBLIC),) if url else ())


# -- products -------------------------------------------------------------------------------

def map_product(record: Mapping[str, Any], catalog: Catalog) -> Iterator[Item]:
    """One `produkty` row with its details, variants, pictures and category: a Product, or
    Skipped items with reasons (the whole product, or single variants that cannot be sold)."""
    product_id = ident(record.get("product_id"))
    details = catalog.details.get(product_id)
    if details is None:
        yield Skipped(product_id=product_id, reason="no row in produkty_wlasciwosci (details, VAT)")
        return
    name = text(record.get("product_name"))
    if not name:
        yield Skipped(product_id=product_id, reason="the product has no name")
        return
    vat = vat_rate(details.get("stawka_vat"))
    price = money(record.get("price"))
    rows = sorted(catalog.variants.get(product_id, ()),
                  key=lambda r: (_int(r.get("pozycja")), _int(r.get("produkty_wariant_id"))))
    fields: dict[str, Any] = {
        "name": name,
        "sku": text(details.get("symbol_produktu")) or text(details.get("kod_producenta")),
        "ean": text(details.get("kod_ean")),
        "description": text(details.get("opis")),
        "brief": text(details.get("opis_skrocony")) or text(record.get("product_name_additional")),
        "images": product_images(catalog, product_id, details),
        "category_path": category_path(catalog, record.get("category_id")),
        "active": str(record.get("visible")).strip() in ("1", "True", "true"),
    }
    if not rows:
        yield from _simple(product_id, fields, price, vat, details)
        return
    rates = {vat_rate(r.get("stawka_vat")) for r in rows} - {None}
    group_vat = rates.pop() if len(rates) == 1 else vat  # variants are what is sold: their rate
    variants, skipped = _variants(rows, catalog, product_id, details, group_vat)
    if len(rows) == 1 and len(skipped) == 1 and _no_attributes(skipped[0]):
        # One variant without attribute values is the product itself: sold under the product's id.
        yield from _single_row(product_id, fields, price, vat, rows[0])
        return
    yield from skipped
    if not variants:
        return
    if group_vat is None:
        yield Skipped(product_id=product_id, reason=f"VAT rate {details.get('stawka_vat')!r} is not a whole number")
        return
    if (price is None or price <= 0) and any(v.price is None for v in variants):
        yield Skipped(product_id=product_id, reason=f"price {record.get('price')!r} is not a positive number "
                                                    "and some variants have no price of their own")
        return
    yield build_product(product_id, price=price if price and price > 0 else None, vat=group_vat,
                        stock=0, variants=tuple(variants), **fields)


def _variants(rows: list[Mapping[str, Any]], catalog: Catalog, product_id: str, details: Mapping[str, Any],
              group_vat: int | None) -> tuple[list[Variant], list[Skipped]]:
    variants: list[Variant] = []
    skipped: list[Skipped] = []
    for row in rows:
        variant_id = ident(row.get("produkty_wariant_id"))
        options = variant_options(catalog, variant_id)
        own_vat = vat_rate(row.get("stawka_vat"))
        if isinstance(options, str):
            skipped.append(Skipped(product_id=product_id, variant_id=variant_id, reason=options))
        elif own_vat is not None and group_vat is not None and own_vat != group_vat:
            # The Gateway keeps one VAT rate per variant group (the product's).
            skipped.append(Skipped(product_id=product_id, variant_id=variant_id,
                                   reason=f"VAT {own_vat}% differs from the product's {group_vat}%"))
        else:
            try:
                variants.append(map_variant(row, options, catalog, details))
            except ValidationError as exc:
                reason = describe_validation(exc)
                skipped.append(Skipped(product_id=product_id, variant_id=variant_id, reason=reason))
    return variants, skipped


def _no_attributes(item: Skipped) -> bool:
    return item.reason.startswith("the variant has no attribute values")


def _simple(product_id: str, fields: dict[str, Any], price: Decimal | None, vat: int | None,
            details: Mapping[str, Any]) -> Iterator[Item]:
    """A product without variants: stock from `liczba_egzemplarzy` (null = not counted: 0)."""
    problem = _price_vat_problem(price, vat)
    if problem:
        yield Skipped(product_id=product_id, reason=problem)
        return
    yield build_product(product_id, price=price, vat=vat,
                        stock=quantity(details.get("liczba_egzemplarzy")) or 0, **fields)


def _single_row(product_id: str, fields: dict[str, Any], price: Decimal | None, vat: int | None,
                row: Mapping[str, Any]) -> Iterator[Item]:
    own = money(row.get("wariant_cena"))
    price = own if own and own > 0 else price
    vat = vat_rate(row.get("stawka_vat")) if vat_rate(row.get("stawka_vat")) is not None else vat
    problem = _price_vat_problem(price, vat)
    if problem:
        yield Skipped(product_id=product_id, reason=problem)
        return
    fields = {**fields, "sku": text(row.get("kod_produktu")) or fields["sku"]}
    yield build_product(product_id, price=price, vat=vat, stock=quantity(row.get("ilosc")) or 0, **fields)


def _price_vat_problem(price: Decimal | None, vat: int | None) -> str | None:
    if price is None or price <= 0:
        return f"price {price if price is not None else 'missing'} is not a positive number"
    if vat is None:
        return "VAT rate missing or not a whole number"
    return None


def stock_unknown(record: Mapping[str, Any], catalog: Catalog) -> bool:
    """A product without variants whose stock Selly does not count (`liczba_egzemplarzy` null)."""
    product_id = ident(record.get("product_id"))
    details = catalog.details.get(product_id)
    return (details is not None and not catalog.variants.get(product_id)
            and quantity(details.get("liczba_egzemplarzy")) is None)
