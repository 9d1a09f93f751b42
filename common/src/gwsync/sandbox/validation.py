"""Validation of product writes (B3, B4, B7, B8): pure, every problem at once.

Each problem carries the field path the client must fix, e.g.
`products[3].product.vat`. Unknown fields are rejected rather than ignored so
that a misspelt field (the original's `tags` for `tag_guids`) fails loudly.
Amounts arrive as `Decimal` (the body is parsed with parse_float=Decimal) so
that long quotients keep their precision and strings can be told apart.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_BATCH = 100
MAX_STOCK = 2**63 - 1  # SQLite's INTEGER
VAT_PATTERN = re.compile(r"^VAT(\d+)$")
PRODUCT_FIELDS = frozenset({
    "name", "brief", "desc", "sku", "images", "data", "tag_guids", "vat",
    "base_price", "base_price_type", "cost_price",
})
# Fields of a stored product that a client may echo back in a bare PUT; ignored.
READ_ONLY_FIELDS = frozenset({
    "guid", "owner_guid", "type", "price", "tags", "revision", "created", "updated",
    "timestamps", "activated", "pricing", "suppliers", "size", "weight",
})
SHOP_FIELDS = frozenset({"stock_level", "for_sale", "archived"})
OPTIONAL_TEXT = ("brief", "desc", "sku")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ValidationFailed(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(p.path for p in self.problems))


class BatchTooLarge(Exception):
    pass


@dataclass
class ItemInput:
    """One validated write: the product plus the shop-level fields that were sent."""

    product: dict[str, Any]
    stock_level: int | None = None
    for_sale: bool | None = None
    archived: bool | None = None


@dataclass
class _Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message))


def join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# -- batches and items -----------------------------------------------------

def validate_batch(body: Any, known_tags: Collection[str]) -> list[ItemInput]:
    """E1 body -> items; ValidationFailed (400) or BatchTooLarge (413)."""
    problems = _Problems()
    if not isinstance(body, dict) or not isinstance(body.get("products"), list):
        raise ValidationFailed([Problem("products", "required: a list of items")])
    for key in set(body) - {"products"}:
        problems.add(key, "unknown field")
    raw_items = body["products"]
    if len(raw_items) > MAX_BATCH:
        raise BatchTooLarge(f"at most {MAX_BATCH} items per call, got {len(raw_items)}")
    if not raw_items:
        problems.add("products", "must hold at least one item")
    items = [_item(raw, f"products[{i}]", known_tags, problems) for i, raw in enumerate(raw_items)]
    if problems.items:
        raise ValidationFailed(problems.items)
    return [item for item in items if item is not None]


def validate_update(body: Any, known_tags: Collection[str]) -> ItemInput:
    """PUT body: the item shape of E1, or a bare product with optional shop fields."""
    problems = _Problems()
    if isinstance(body, dict) and "product" in body:
        item = _item(body, "", known_tags, problems)
    elif isinstance(body, dict):
        product = {k: v for k, v in body.items() if k not in SHOP_FIELDS}
        shop_fields = {k: v for k, v in body.items() if k in SHOP_FIELDS}
        item = _item({"product": product, **shop_fields}, "", known_tags, problems, nested=False)
    else:
        problems.add("product", "the body must be an object")
        item = None
    if problems.items or item is None:
        raise ValidationFailed(problems.items)
    return item


def _item(raw: Any, prefix: str, known_tags: Collection[str], problems: _Problems,
          nested: bool = True) -> ItemInput | None:
    if not isinstance(raw, dict):
        problems.add(prefix or "body", "must be an object")
        return None
    if "product_guid" in raw:
        problems.add(join(prefix, "product_guid"),
                     "attaching an existing product is not supported; send the product inline")
    for key in set(raw) - SHOP_FIELDS - {"product", "product_guid"}:
        problems.add(join(prefix, key), "unknown field")
    product_prefix = join(prefix, "product") if nested else prefix
    product = validate_product(raw.get("product"), product_prefix, known_tags, problems)
    stock = _stock_level(raw.get("stock_level"), join(prefix, "stock_level"), problems)
    for_sale = _optional_bool(raw.get("for_sale"), join(prefix, "for_sale"), problems)
    archived = _optional_bool(raw.get("archived"), join(prefix, "archived"), problems)
    if product is None:
        return None
    return ItemInput(product, stock, for_sale, archived)


def _stock_level(value: Any, path: str, problems: _Problems) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STOCK:
        problems.add(path, "must be a non-negative integer")
        return None
    return value


def _optional_bool(value: Any, path: str, problems: _Problems) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    problems.add(path, "must be true or false")
    return None


# -- the product -----------------------------------------------------------

def validate_product(raw: Any, prefix: str, known_tags: Collection[str],
                     problems: _Problems) -> dict[str, Any] | None:
    """The clean product fields, or None (and problems added) when anything is wrong."""
    path = prefix or "product"
    if not isinstance(raw, dict):
        problems.add(path, "required: the product object")
        return None
    before = len(problems.items)
    for key in set(raw) - PRODUCT_FIELDS - READ_ONLY_FIELDS:
        problems.add(join(prefix, key), "unknown field")
    if "tags" in raw and "tag_guids" not in raw:
        # The original client's old spelling: without tag_guids it would silently drop tags.
        problems.add(join(prefix, "tags"), "not accepted on writes; send tag_guids")
    clean = {
        "name": _name(raw.get("name"), join(prefix, "name"), problems),
        **{key: _optional_text(raw.get(key), join(prefix, key), problems) for key in OPTIONAL_TEXT},
        "images": _images(raw.get("images"), join(prefix, "images"), problems),
        "data": _data(raw.get("data"), join(prefix, "data"), problems),
        "tag_guids": _tag_guids(raw.get("tag_guids"), join(prefix, "tag_guids"), known_tags, problems),
        "vat": _vat(raw.get("vat"), join(prefix, "vat"), problems),
        "base_price": _price(raw.get("base_price"), join(prefix, "base_price"), problems, True),
    }
    _price(raw.get("cost_price"), join(prefix, "cost_price"), problems, False)
    if raw.get("base_price_type") is not None and not isinstance(raw["base_price_type"], str):
        problems.add(join(prefix, "base_price_type"), "must be a string")
    return clean if len(problems.items) == before else None


def _name(value: Any, path: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(path, "required: a non-empty string")
        return None
    return value


def _optional_text(value: Any, path: str, problems: _Problems) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(path, "must be a string")
    elif not value.strip():
        problems.add(path, "must not be empty; leave the field out instead")
    else:
        return value
    return None


def _images(value: Any, path: str, problems: _Problems) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, "must be a list of URLs")
        return []
    for index, url in enumerate(value):
        if not isinstance(url, str) or not url.strip():
            problems.add(f"{path}[{index}]", "must be a non-empty string")
    return list(value)


def _data(value: Any, path: str, problems: _Problems) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        problems.add(path, "must be an object")
        return None
    return value


def _tag_guids(value: Any, path: str, known: Collection[str], problems: _Problems) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, "must be a list of tag guids")
        return []
    guids = []
    for index, guid in enumerate(value):
        if not isinstance(guid, str) or guid.lower() not in known:
            problems.add(f"{path}[{index}]", f"unknown tag {guid!r}")
        else:
            guids.append(guid.lower())
    return guids


def _vat(value: Any, path: str, problems: _Problems) -> str | None:
    match = VAT_PATTERN.match(value) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 100:
        problems.add(path, r"required: 'VAT<rate>' with an integer rate 0..100 (^VAT\d+$)")
        return None
    return value


def vat_rate(vat: str) -> int:
    match = VAT_PATTERN.match(vat)
    if not match:
        raise ValueError(f"not a VAT class: {vat!r}")
    return int(match.group(1))


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return False
    return Decimal(str(value)).is_finite()


def _price(value: Any, path: str, problems: _Problems, required: bool) -> dict[str, Any] | None:
    if value is None:
        if required:
            problems.add(path, "required: {currency, vat_percent, amount}")
        return None
    if not isinstance(value, dict):
        problems.add(path, "must be an object {currency, vat_percent, amount}")
        return None
    for key in set(value) - {"currency", "vat_percent", "amount"}:
        problems.add(f"{path}.{key}", "unknown field")
    currency, amount, percent = value.get("currency"), value.get("amount"), value.get("vat_percent")
    if not isinstance(currency, str) or not currency.strip():
        problems.add(f"{path}.currency", "required: a non-empty string")
    if not _is_number(amount):
        problems.add(f"{path}.amount", "required: a JSON number (not a string)")
    elif amount < 0:
        problems.add(f"{path}.amount", "must not be negative")
    if not _is_number(percent):
        problems.add(f"{path}.vat_percent", "required: a JSON number (not a string)")
    elif not 0 <= percent <= 100:
        problems.add(f"{path}.vat_percent", "must be from 0 to 100")
    return {"currency": currency, "vat_percent": percent, "amount": amount}
