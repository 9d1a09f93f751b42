"""The catalog as connectors yield it.

A connector's `read()` yields these items; the engine turns them into Gateway
writes. One `Product` is one unit of work: a single product, or a variant group
whose `variants` each become one Gateway product under the group's variant tag.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CENT = Decimal("0.01")


def gross_from_net(net: Decimal | str | float, rate: int | Decimal) -> Decimal:
    """Gross price the way shops compute it: net x (1 + rate/100), half-up to cents."""
    value = Decimal(str(net)) * (Decimal(100) + Decimal(rate)) / Decimal(100)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_money(value: Any) -> Decimal:
    """A price from a platform value (str, int, float, Decimal), rounded half-up to cents."""
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, AttributeError) as exc:
        raise ValueError(f"not a price: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a price: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


Text = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class SourceId(_Model):
    """Where an item lives in the source: also written into the Gateway product."""

    platform: str
    shop: str
    product_id: str
    variant_id: str | None = None

    @property
    def key(self) -> str:
        return "|".join((self.platform, self.shop, self.product_id, self.variant_id or ""))

    def as_data(self) -> dict[str, str | None]:
        return self.model_dump()


class ImageAccess(StrEnum):
    PUBLIC = "public"  # anyone can fetch it: the Gateway copies it (/downloads/)
    FETCH = "fetch"  # we fetch it without credentials and upload it (/uploads/)
    AUTH = "auth"  # we fetch it with the platform's session and upload it


class Image(_Model):
    url: Text
    access: ImageAccess = ImageAccess.FETCH
    # A stable source key (e.g. "image:12"): when the platform promises that an
    # image behind a key never changes, a known key costs no fetch on later runs.
    key: str | None = None

    @property
    def cache_key(self) -> str:
        return self.key or self.url


def _money(value: Any) -> Decimal | None:
    return None if value is None else to_money(value)


class Variant(_Model):
    """One sellable variant of a group; fields left None inherit the group's."""

    variant_id: Text
    options: dict[Text, Text] = Field(min_length=1)
    sku: str | None = None
    ean: str | None = None
    price: Decimal | None = None
    stock: int = Field(default=0, ge=0)
    images: tuple[Image, ...] = ()
    active: bool = True

    _blank = field_validator("sku", "ean", mode="before")(_blank_to_none)
    _price = field_validator("price", mode="before")(_money)


class Product(_Model):
    product_id: Text
    name: Text
    price: Decimal | None = None  # gross, required unless every variant has its own
    vat: int = Field(ge=0, le=100)
    stock: int = Field(default=0, ge=0)
    sku: str | None = None
    ean: str | None = None
    description: str | None = None
    brief: str | None = None
    images: tuple[Image, ...] = ()
    category_path: tuple[Text, ...] = ()
    active: bool = True
    variants: tuple[Variant, ...] = ()

    _blank = field_validator("sku", "ean", "description", "brief", mode="before")(_blank_to_none)
    _price = field_validator("price", mode="before")(_money)

    @field_validator("variants")
    @classmethod
    def _unique_variants(cls, variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
        ids = [v.variant_id for v in variants]
        if len(ids) != len(set(ids)):
            raise ValueError("variant ids repeat within the product")
        return variants


class Skipped(_Model):
    """A source record that cannot be imported; reported with its reason."""

    product_id: str
    reason: str
    variant_id: str | None = None


class Seen(_Model):
    """The product still exists in the source and did not change (incremental reads)."""

    product_id: str


class Present(_Model):
    """Product ids that still exist in the source, from the platform's cheapest listing.

    An incremental read yields the changed products plus `Present` for the rest; the
    engine archives only ids absent from a complete read (full, or one that yielded
    `Present`). A connector that reports nothing about unchanged products can therefore
    never archive them by mistake.
    """

    product_ids: tuple[str, ...]


class StockUpdate(_Model):
    """A stock (and optionally price) change of an item whose other fields did not change."""

    product_id: str
    variant_id: str | None = None
    stock: int = Field(ge=0)
    price: Decimal | None = None

    _price = field_validator("price", mode="before")(_money)


Item = Product | Skipped | Seen | Present | StockUpdate


def build_product(product_id: Any, **fields: Any) -> Product | Skipped:
    """Validate a mapped record; a bad record becomes a `Skipped` with a readable reason."""
    try:
        return Product(product_id=str(product_id), **fields)
    except ValidationError as exc:
        return Skipped(product_id=str(product_id), reason=describe_validation(exc))


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "record"
        parts.append(f"{where}: {error['msg']}")
    return "invalid record: " + "; ".join(parts)
