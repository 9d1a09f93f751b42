"""IdoSell Admin API product records -> `gwsync.models`. Pure functions, no I/O.

Business rules (each one has a test on the recorded IdoSell files):

* A product's **sizes** are its sellable items. Only a genuine one-size product (its
  single size is IdoSell's one-size: id `uniw`, or named "uniwersalny" by the size
  catalog, whose id differs between shops: "uniw", "0", "355"...) is a plain product.
  Any other product with sizes, even a single one ("500 ml"), becomes a variant group
  with one variant per size, option `<size group name>: <size name>`.
* Products joined as **versions** (`productVersion`: colours etc.) form ONE variant
  group keyed by `versionParentId`; each version's sizes are variants with the
  version's value as a second option (`<version group name>: <version value>`).
  Every variant of a group carries the same option names: the size option is left
  out only when every version is a genuine one-size product.
  Two items with identical options cannot both exist on the Gateway: the second is
  skipped with a reason.
* **Prices** are IdoSell's gross retail prices: the size's own price when it has one
  (non-zero), else the product's; with a shop id configured, that shop's size price, then
  its product price, come first. No price (0) -> skipped.
* **VAT** is the product's rate as an integer (23.0 -> 23; `productVatFree` -> 0);
  a fractional rate is skipped with a reason.
* **Stock** per size is the sum over the counted warehouses (`Options.stock_ids`,
  default all). IdoSell's -1 means "unknown": it adds nothing, and a size whose
  counted warehouses say only "unknown" (or 0) gets `Options.unknown_stock`.
* **Images**: the large picture URLs, in priority order, public (`/downloads/`).
* **Category**: IdoSell panel category names are paths ("A/B"); the temporary
  category (id 0, "*Kategoria tymczasowa") means none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin

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

DEFAULT_SIZE_OPTION = "Rozmiar"
DEFAULT_VERSION_OPTION = "Wariant"
TIME_FORMAT_LEN = len("YYYY-MM-DD HH:MM:SS")


@dataclass(frozen=True)
class Options:
    language: str = "pol"
    stock_ids: frozenset[int] | None = None  # None: every warehouse the record lists
    unknown_stock: int = 0
    shop_id: int | None = None  # multi-shop panels: prices and visibility of this shop
    base_url: str = ""  # the panel/shop URL, to absolutise relative links in HTML
    currency: str = "PLN"


@dataclass(frozen=True)
class SizeCatalog:
    """`GET sizes/sizes`: size group names and the shop-facing size names."""

    groups: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_groups(cls, groups: Iterable[dict[str, Any]], language: str = "pol") -> SizeCatalog:
        group_names: dict[str, str] = {}
        size_names: dict[str, str] = {}
        for group in groups or ():
            if not isinstance(group, dict):
                continue
            gid = _first(group, "id", "sizesGroupId", "group_id")
            gname = _localized(group, language) or _first(group, "name", "sizesGroupName")
            if gid is not None and gname:
                group_names[str(gid)] = str(gname).strip()
            for size in group.get("sizes") or ():
                sid = _first(size, "id", "sizeId")
                sname = _localized(size, language) or _first(size, "name", "sizeName")
                if sid is not None and sname:
                    size_names[str(sid)] = str(sname).strip()
        return cls(group_names, size_names)


@dataclass(frozen=True)
class SizeRow:
    size_id: str
    name: str
    sku: str | None
    ean: str | None
    price: Decimal | None
    stock: int


# -- small readers ---------------------------------------------------------


def _first(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None


def _localized(record: dict[str, Any], language: str) -> str | None:
    for entry in record.get("lang_data") or record.get("langData") or ():
        if isinstance(entry, dict) and entry.get("lang_id", entry.get("langId")) == language:
            name = entry.get("name")
            if name:
                return str(name)
    return None


def lang_text(entries: Any, language: str, key: str) -> str | None:
    """The value of `key` in the entry for `language` (`langId`), stripped; None if blank."""
    for entry in entries or ():
        if isinstance(entry, dict) and entry.get("langId") == language:
            value = entry.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def product_id(record: dict[str, Any]) -> int:
    return int(record["productId"])


def vat_rate(record: dict[str, Any]) -> int:
    """23.0 -> 23; VAT-free -> 0; a fractional rate raises ValueError."""
    if str(record.get("productVatFree", "n")).lower() == "y":
        return 0
    raw = record.get("productVat")
    try:
        rate = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, AttributeError):
        raise ValueError(f"VAT rate {raw!r} is not a number") from None
    if not rate.is_finite() or rate != rate.to_integral_value() or not 0 <= rate <= 100:
        raise ValueError(f"VAT rate {raw!r} is not a whole percent the Gateway accepts")
    return int(rate)


def money(value: Any) -> Decimal | None:
    """A gross price, or None when absent or zero (IdoSell writes 0 for "no own price")."""
    if value in (None, ""):
        return None
    amount = to_money(value)
    return amount if amount > 0 else None


def size_stock(quantities: Iterable[Any], unknown_stock: int = 0) -> int:
    """Sum over warehouses; negative (-1, "unknown") adds nothing."""
    total = Decimal(0)
    unknown = False
    for quantity in quantities:
        if quantity in (None, ""):
            continue
        value = Decimal(str(quantity))
        if value < 0:
            unknown = True
        else:
            total += value
    if total == 0 and unknown:
        return max(int(unknown_stock), 0)
    return int(total)  # fractional units (metres, kilograms) round down


def stock_by_size(record: dict[str, Any], options: Options) -> dict[str, int]:
    per_size: dict[str, list[Any]] = {}
    stocks = (record.get("productStocksData") or {}).get("productStocksQuantities") or ()
    for stock in stocks:
        try:
            stock_id = int(stock.get("stockId"))
        except (TypeError, ValueError):
            continue
        if options.stock_ids is not None and stock_id not in options.stock_ids:
            continue
        for row in stock.get("productSizesData") or ():
            per_size.setdefault(str(row.get("sizeId")), []).append(row.get("productSizeQuantity"))
    return {sid: size_stock(q, options.unknown_stock) for sid, q in per_size.items()}


def _shop_attributes(record: dict[str, Any], shop_id: int | None) -> dict[str, Any]:
    if shop_id is None:
        return {}
    for attrs in record.get("productShopsAttributes") or ():
        if str(attrs.get("shopId")) == str(shop_id):
            return attrs
    return {}


def base_price(record: dict[str, Any], options: Options) -> Decimal | None:
    """The product's gross retail price: the configured shop's own, else the panel's."""
    shop = _shop_attributes(record, options.shop_id)
    return money(shop.get("productRetailPrice")) or money(record.get("productRetailPrice"))


def size_option(record: dict[str, Any], catalog: SizeCatalog) -> str:
    """The option name of a product's sizes: its size group's name (the `sizes/sizes`
    catalog's, which may be translated, else the record's `sizesGroupName`)."""
    return (catalog.groups.get(str(record.get("sizesGroupId"))) or _text(record.get("sizesGroupName"))
            or DEFAULT_SIZE_OPTION)


def size_rows(record: dict[str, Any], catalog: SizeCatalog, options: Options) -> list[SizeRow]:
    """The product's sizes in IdoSell's order, with price, codes and stock."""
    stock = stock_by_size(record, options)
    shop = _shop_attributes(record, options.shop_id)
    shop_sizes = {str(s.get("sizeId")): s for s in shop.get("productShopSizesAttributes") or ()}
    product_price = base_price(record, options)
    seen: dict[str, dict[str, Any]] = {}
    for source in (record.get("productSizesAttributes") or (),
                   *[s.get("productSizesData") or () for s in
                     (record.get("productStocksData") or {}).get("productStocksQuantities") or ()]):
        for size in source:
            sid = size.get("sizeId")
            if sid in (None, ""):
                continue
            merged = seen.setdefault(str(sid), {})
            for key, value in size.items():
                merged.setdefault(key, value)
    rows = []
    for sid, size in seen.items():
        name = catalog.names.get(sid) or _text(size.get("sizePanelName")) or sid
        # The configured shop's prices come first: with alwaysReturnProductShopSizesAttributes
        # every panel size carries a price, which would otherwise hide the shop's own.
        price = (money((shop_sizes.get(sid) or {}).get("productRetailPrice"))
                 or money(shop.get("productRetailPrice"))
                 or money(size.get("productRetailPrice")) or product_price)
        rows.append(SizeRow(sid, name, _text(size.get("productSizeCodeExternal")),
                            ean_of(size.get("productSizeCodeProducer")), price, stock.get(sid, 0)))
    return rows


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def ean_of(value: Any) -> str | None:
    """A producer code that is a GTIN (8, 12, 13 or 14 digits); anything else is not an EAN."""
    text = _text(value)
    if text and text.isdigit() and len(text) in (8, 12, 13, 14):
        return text
    return None


ONE_SIZE_IDS = frozenset({"uniw"})
ONE_SIZE_NAMES = frozenset({"uniw", "uniwersalny", "uniwersalna", "uniwersalne", "one size", "onesize"})


def is_one_size(rows: Sequence[SizeRow]) -> bool:
    """A genuine one-size product: a single size that IS the one-size, not just one size left."""
    return len(rows) == 1 and (rows[0].size_id in ONE_SIZE_IDS
                               or rows[0].name.strip().casefold() in ONE_SIZE_NAMES)


# -- texts, images, categories ------------------------------------------------

_STYLE = re.compile(r"<(style|script)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_RELATIVE = re.compile(r"""(\s(?:src|href)\s*=\s*)(["'])(/(?!/)[^"']*)\2""", re.I)


def clean_html(html: str | None, base_url: str = "") -> str | None:
    """Drop <style>/<script> blocks; make root-relative src/href absolute on the shop."""
    if not html:
        return None
    text = _STYLE.sub("", html)
    if base_url:
        text = _RELATIVE.sub(lambda m: f"{m.group(1)}{m.group(2)}{urljoin(base_url, m.group(3))}{m.group(2)}",
                             text)
    text = text.strip()
    return text or None


def images(record: dict[str, Any], base_url: str = "") -> tuple[Image, ...]:
    pictures = [p for p in record.get("productImages") or () if isinstance(p, dict)]
    pictures.sort(key=lambda p: _priority(p.get("productImagePriority")))
    out: list[Image] = []
    seen: set[str] = set()
    for picture in pictures:
        url = _first(picture, "productImageLargeUrl", "productImageMediumUrl", "productImageSmallUrl")
        if not url:
            continue
        url = urljoin(base_url, str(url)) if base_url else str(url)
        if url in seen:
            continue
        seen.add(url)
        # The hash changes when the picture does; without one the URL is the cache key.
        digest = _text(picture.get("productImageHash"))
        out.append(Image(url=url, access=ImageAccess.PUBLIC,
                         key=f"idosell-image:{digest}" if digest else None))
    return tuple(out)


def _priority(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1_000_000


def category_path(record: dict[str, Any]) -> tuple[str, ...]:
    if str(record.get("categoryId", "")) == "0":
        return ()  # "*Kategoria tymczasowa": IdoSell's placeholder for "no category"
    name = _text(record.get("categoryName"))
    if not name:
        return ()
    return tuple(part.strip() for part in name.split("/") if part.strip())


def is_active(record: dict[str, Any], options: Options) -> bool:
    if str(record.get("productIsVisible", "y")).lower() != "y":
        return False
    if str(record.get("productIsDeleted", "n")).lower() == "y":
        return False
    if options.shop_id is not None and record.get("productShops"):
        return any(str(s.get("shopId")) == str(options.shop_id) for s in record["productShops"])
    return True


def change_time(record: dict[str, Any]) -> str:
    """The latest of the modification and stock-change times ("YYYY-MM-DD HH:MM:SS")."""
    times = [str(record.get(k) or "")[:TIME_FORMAT_LEN]
             for k in ("productModificationTime", "productQuantityChangedTime")]
    return max(times)


# -- version groups --------------------------------------------------------------


def version_members(record: dict[str, Any]) -> list[int]:
    version = record.get("productVersion") or {}
    members = []
    for value in version.get("versionProductsIds") or ():
        try:
            members.append(int(value))
        except (TypeError, ValueError):
            continue
    return members


def version_parent(record: dict[str, Any]) -> int | None:
    try:
        return int((record.get("productVersion") or {}).get("versionParentId"))
    except (TypeError, ValueError):
        return None


def unit_of(record: dict[str, Any], removed: Iterable[int] = ()) -> tuple[str, set[int]]:
    """The Gateway product a record belongs to, and its version group's members (itself alone
    outside a group): the group's main product, else its lowest member id."""
    pid = product_id(record)
    gone = set(removed)
    members = {m for m in version_members(record) if m not in gone} | {pid}
    if len(members) <= 1:
        return str(pid), members
    parent = version_parent(record)
    return str(parent if parent in members else min(members)), members


def version_option(record: dict[str, Any], language: str) -> tuple[str | None, str | None]:
    version = record.get("productVersion") or {}
    group = lang_text((version.get("versionGroupNames") or {}).get("versionGroupNamesLangData"),
                      language, "versionGroupName")
    value = lang_text((version.get("versionNames") or {}).get("versionNamesLangData"),
                      language, "versionName")
    return group, value


def base_name(name: str, version_value: str | None) -> str:
    """"Kubek emaliowany Niebieski" with value "Niebieski" -> "Kubek emaliowany"."""
    if version_value and name.lower().endswith(version_value.lower()) and len(name) > len(version_value):
        stripped = name[: -len(version_value)].rstrip(" -,/|(")
        if stripped:
            return stripped
    return name


# -- records -> items ----------------------------------------------------------------


def map_unit(unit_id: str, records: Sequence[dict[str, Any]], catalog: SizeCatalog,
             options: Options) -> list[Item]:
    """One unit of work: a single product (len 1) or a version group (its members)."""
    if len(records) == 1:
        return map_single(records[0], catalog, options, unit_id=unit_id)
    return map_group(unit_id, records, catalog, options)


def _common(record: dict[str, Any], options: Options) -> tuple[str | None, dict[str, Any]]:
    """Name, VAT, currency and texts; returns (reason to skip, fields)."""
    language = options.language
    name = lang_text(record.get("productDescriptionsLangData"), language, "productName")
    if not name:
        return f"no product name in language {language!r}", {}
    try:
        vat = vat_rate(record)
    except ValueError as exc:
        return str(exc), {}
    currency = _text(record.get("currencyId")) or options.currency
    if currency.upper() != options.currency:
        return f"prices are in {currency}, not {options.currency}", {}
    texts = record.get("productDescriptionsLangData")
    short = clean_html(lang_text(texts, language, "productDescription"), options.base_url)
    long = clean_html(lang_text(texts, language, "productLongDescription"), options.base_url)
    return None, {
        "name": name,
        "vat": vat,
        "description": long or short,
        "brief": short,
        "images": images(record, options.base_url),
        "category_path": category_path(record),
    }


def map_single(record: dict[str, Any], catalog: SizeCatalog, options: Options,
               unit_id: str | None = None) -> list[Item]:
    pid = str(unit_id or product_id(record))
    reason, fields = _common(record, options)
    if reason:
        return [Skipped(product_id=pid, reason=reason)]
    rows = size_rows(record, catalog, options)
    active = is_active(record, options)
    price_of_product = base_price(record, options)
    if not rows or is_one_size(rows):
        row = rows[0] if rows else None
        price = (row.price if row else None) or price_of_product
        if price is None:
            return [Skipped(product_id=pid, reason="no price (0.00) in IdoSell")]
        return [build_product(pid, price=price, stock=row.stock if row else 0,
                              sku=(row.sku if row else None) or _text(record.get("productDisplayedCode")),
                              ean=row.ean if row else None, active=active, **fields)]
    option = size_option(record, catalog)
    out: list[Item] = []
    variants: list[Variant] = []
    taken: dict[tuple, str] = {}
    for row in rows:
        vid = f"{product_id(record)}-{row.size_id}"
        options_ = {option: row.name}
        item = _variant(pid, vid, options_, row, active, (), taken)
        (variants if isinstance(item, Variant) else out).append(item)
    if not variants:
        return out
    product = build_product(pid, price=price_of_product, stock=sum(v.stock for v in variants),
                            sku=_text(record.get("productDisplayedCode")), active=active,
                            variants=tuple(variants), **fields)
    return [product, *out]


def _variant(pid: str, vid: str, options_: dict[str, str], row: SizeRow, active: bool,
             member_images: tuple[Image, ...], taken: dict[tuple, str]) -> Variant | Skipped:
    if row.price is None:
        return Skipped(product_id=pid, variant_id=vid, reason="no price (0.00) in IdoSell")
    key = tuple(sorted((k.casefold(), v.casefold()) for k, v in options_.items()))
    if key in taken:
        shown = ", ".join(f"{k}: {v}" for k, v in options_.items())
        return Skipped(product_id=pid, variant_id=vid,
                       reason=f"same options as {taken[key]} ({shown}); rename the size or version value")
    try:
        variant = Variant(variant_id=vid, options=options_, sku=row.sku, ean=row.ean, price=row.price,
                          stock=row.stock, images=member_images, active=active)
    except ValidationError as exc:
        return Skipped(product_id=pid, variant_id=vid, reason=describe_validation(exc))
    taken[key] = vid
    return variant


def map_group(unit_id: str, records: Sequence[dict[str, Any]], catalog: SizeCatalog,
              options: Options) -> list[Item]:
    """A version group: every member's sizes become variants of one Gateway group."""
    members = sorted(records, key=lambda r: (str(product_id(r)) != unit_id, product_id(r)))
    parent = members[0]
    reason, fields = _common(parent, options)
    if reason:
        return [Skipped(product_id=unit_id, reason=f"group's main product {product_id(parent)}: {reason}")]
    group_option, parent_value = version_option(parent, options.language)
    group_option = group_option or DEFAULT_VERSION_OPTION
    fields["name"] = base_name(fields["name"], parent_value)
    sizes = {product_id(m): size_rows(m, catalog, options) for m in members}
    # One size option name for the whole group, or none when every version is one-size.
    sized = [m for m in members if sizes[product_id(m)] and not is_one_size(sizes[product_id(m)])]
    sizes_named = size_option(sized[0], catalog) if sized else None
    if sizes_named and sizes_named.casefold() == group_option.casefold():
        sizes_named = f"{sizes_named} ({DEFAULT_SIZE_OPTION.lower()})"
    out: list[Item] = []
    variants: list[Variant] = []
    taken: dict[tuple, str] = {}
    any_active = False
    for member in members:
        mid = product_id(member)
        reason, member_fields = _common(member, options)
        rows = sizes[mid]
        if reason or member_fields["vat"] != fields["vat"]:
            why = reason or f"VAT {member_fields['vat']} differs from the group's {fields['vat']}"
            out.extend(Skipped(product_id=unit_id, variant_id=f"{mid}-{r.size_id}",
                               reason=f"version {mid}: {why}") for r in rows or ())
            continue
        _, value = version_option(member, options.language)
        value = value or member_fields["name"]
        active = is_active(member, options)
        any_active = any_active or active
        for row in rows:
            vid = f"{mid}-{row.size_id}"
            opts = {group_option: value, sizes_named: row.name} if sizes_named else {group_option: value}
            item = _variant(unit_id, vid, opts, row, active, member_fields["images"], taken)
            (variants if isinstance(item, Variant) else out).append(item)
    if not variants:
        return out or [Skipped(product_id=unit_id, reason="version group without sizes")]
    product = build_product(unit_id, price=base_price(parent, options), stock=sum(v.stock for v in variants),
                            active=any_active, variants=tuple(variants), **fields)
    return [product, *out]


# -- the stock pass ---------------------------------------------------------------------


def needs_size_names(record: dict[str, Any]) -> bool:
    """Whether telling a plain product from a one-variant group needs the `sizes/sizes` names:
    a single size outside a version group whose id is not IdoSell's one-size id."""
    sizes = {str(s.get("sizeId")) for s in record.get("productSizesAttributes") or () if s.get("sizeId")}
    return len(sizes) == 1 and not sizes <= ONE_SIZE_IDS and len(unit_of(record)[1]) == 1


def stock_updates(record: dict[str, Any], catalog: SizeCatalog, options: Options) -> list[StockUpdate]:
    """A record's sellable items with their stock and price, identified as the import does.

    What the import skips (no price, hidden) gives nothing here; an item the import did not
    create is counted as not imported by the engine.
    """
    if not is_active(record, options):
        return []
    pid = product_id(record)
    unit, members = unit_of(record)
    rows = size_rows(record, catalog, options)
    if len(members) == 1 and (not rows or is_one_size(rows)):
        row = rows[0] if rows else None
        price = (row.price if row else None) or base_price(record, options)
        if price is None:
            return []
        return [StockUpdate(product_id=unit, stock=row.stock if row else 0, price=price)]
    return [StockUpdate(product_id=unit, variant_id=f"{pid}-{row.size_id}", stock=row.stock, price=row.price)
            for row in rows if row.price is not None]
