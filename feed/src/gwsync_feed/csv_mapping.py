"""CSV columns -> `Entry`: the column mapping (TOML) and one pure function per rule.

The mapping file names the CSV column of each field (header names are matched
case-insensitively); fields left out are not in the file. Without a mapping
file the columns carry the field names themselves, and `option:<Name>` columns
are variant options.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from gwsync.errors import ConfigError
from gwsync.models import gross_from_net

from .context import MappingContext
from .entries import Entry, failed
from .images import resolve_all
from .values import clean_ean, parse_amount, parse_bool, parse_price, parse_stock, parse_vat, split_path

FIELDS = ("sku", "parent_sku", "name", "description", "price_gross", "price_net", "vat",
          "stock", "image_urls", "category_path", "ean", "active")
OPTION_PREFIX = "option:"
IMAGE_SEPARATORS = ("|", "\n")  # not spaces (file names have them) nor , ; (URLs have them)


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str]  # field -> header name
    options: dict[str, str] = field(default_factory=dict)  # option name -> header name


@dataclass(frozen=True)
class BoundMapping:
    """The mapping resolved against one file's header: field -> cell index."""

    index: dict[str, int]
    options: dict[str, int]
    width: int


def default_mapping() -> ColumnMapping:
    return ColumnMapping(columns={name: name for name in FIELDS})


def load_mapping(path: str | None) -> ColumnMapping:
    if not path:
        return default_mapping()
    try:
        data = tomllib.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"FEED_CSV_MAPPING: no mapping file at {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"FEED_CSV_MAPPING: {path} is not a readable TOML file: {exc}") from None
    return _parse_mapping(data, path)


def _parse_mapping(data: dict, path: str) -> ColumnMapping:
    options = data.pop("options", {})
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ConfigError(f"FEED_CSV_MAPPING: {path}: unknown keys {', '.join(unknown)}; "
                          f"known: {', '.join(FIELDS)}, options")
    texts = {**data, **{f"options.{k}": v for k, v in options.items()}} if isinstance(options, dict) else None
    if texts is None or not all(isinstance(v, str) and v.strip() for v in texts.values()):
        raise ConfigError(f"FEED_CSV_MAPPING: {path}: every value must be a column name (text), "
                          'and options a table such as options = { "Rozmiar" = "Size" }')
    return ColumnMapping(columns=dict(data), options=dict(options))


def bind(mapping: ColumnMapping, header: list[str], where: str) -> BoundMapping:
    positions = {name.strip().casefold(): i for i, name in reversed(list(enumerate(header)))}

    def find(column: str) -> int | None:
        return positions.get(column.strip().casefold())

    index = {f: i for f, col in mapping.columns.items() if (i := find(col)) is not None}
    options = {name: i for name, col in mapping.options.items() if (i := find(col)) is not None}
    if not mapping.options:  # default names: option:<Name> columns
        options = {h.strip()[len(OPTION_PREFIX):].strip(): i for i, h in enumerate(header)
                   if h.strip().lower().startswith(OPTION_PREFIX)}
    _require(mapping, index, header, where)
    return BoundMapping(index=index, options=options, width=len(header))


def _require(mapping: ColumnMapping, index: dict[str, int], header: list[str], where: str) -> None:
    def named(field: str) -> str:
        return f"{field} ({mapping.columns[field]!r})" if field in mapping.columns else field

    missing = [named(f) for f in ("sku", "name") if f not in index]
    if "price_gross" not in index and "price_net" not in index:
        missing.append(" or ".join(named(f) for f in ("price_gross", "price_net") if f in mapping.columns)
                       or "price_gross or price_net")
    if missing:
        raise ConfigError(f"CSV {where}: no column for {', '.join(missing)}; the header has: "
                        f"{', '.join(repr(h) for h in header)}; set FEED_CSV_MAPPING to a column mapping")


@dataclass(frozen=True)
class Row:
    line: int
    cells: list[str]
    bound: BoundMapping

    def get(self, name: str) -> str:
        i = self.bound.index.get(name)
        return self.cells[i].strip() if i is not None and i < len(self.cells) else ""

    def options(self) -> tuple[tuple[str, str], ...]:
        values = ((name, self.cells[i].strip()) for name, i in self.bound.options.items() if i < len(self.cells))
        return tuple((name, value) for name, value in values if value)


def map_row(line: int, cells: list[str], bound: BoundMapping, ctx: MappingContext) -> Entry:
    row = Row(line, cells, bound)
    sku, parent = row.get("sku"), row.get("parent_sku") or None
    parent = None if parent == sku else parent  # a parent row that names itself
    if not sku:
        return failed(f"line {line}", line, "no sku", parent, unit="line")
    if len(cells) != bound.width:
        return failed(sku, line, f"the row has {len(cells)} fields, the header {bound.width} "
                                 "(a value with an unquoted delimiter?)", parent, unit="line")
    try:
        return _entry(row, sku, parent, ctx)
    except ValueError as exc:
        return failed(sku, line, str(exc), parent, unit="line")


def _entry(row: Row, sku: str, parent: str | None, ctx: MappingContext) -> Entry:
    name = row.get("name")
    if not name and parent is None:
        raise ValueError("no name")
    vat = parse_vat(row.get("vat")) if row.get("vat") else ctx.vat
    images, notes = resolve_all(ctx.images, split_images(row.get("image_urls")))
    return Entry(
        item_id=sku, position=row.line, group_id=parent, name=name or None,
        description=row.get("description") or None,
        price=row_price(row.get("price_gross"), row.get("price_net"), vat), vat=vat,
        stock=row_stock(row.get("stock"), "stock" in row.bound.index, ctx.default_stock),
        sku=sku, ean=clean_ean(row.get("ean")), images=images,
        category_path=split_path(row.get("category_path")), options=row.options(),
        active=parse_bool(row.get("active")) if row.get("active") else True, notes=notes, unit="line",
    )


def row_price(gross: str, net: str, vat: int) -> Decimal | None:
    """Gross as given, or net x (1 + VAT); None when the row has neither (a variant inherits)."""
    if gross:
        return parse_price(gross)
    if not net:
        return None
    amount = parse_amount(net.lower().replace("pln", "").replace("zł", ""))
    if amount <= 0:
        raise ValueError(f"net price {net!r} is not above zero")
    return gross_from_net(amount, vat)


def row_stock(text: str, has_column: bool, default: int) -> int:
    """No stock column: FEED_DEFAULT_STOCK; an empty cell in the column: 0."""
    if not has_column:
        return default
    return parse_stock(text) if text else 0


def split_images(text: str) -> list[str]:
    for separator in IMAGE_SEPARATORS[1:]:
        text = text.replace(separator, IMAGE_SEPARATORS[0])
    return [part.strip() for part in text.split(IMAGE_SEPARATORS[0]) if part.strip()]
