"""What mapping needs besides the record: defaults from the settings and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .images import ImageResolver


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MappingContext:
    images: ImageResolver
    vat: int = 23  # FEED_VAT: the rate of items that do not state their own
    default_stock: int = 1  # FEED_DEFAULT_STOCK: "in stock" without a quantity
    clock: Callable[[], datetime] = field(default=utc_now)
