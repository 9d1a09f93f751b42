"""Numbers as platform APIs send them: JSON numbers, Decimals from a database, or text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def decimal_or_none(value: Any) -> Decimal | None:
    """12, 12.5, Decimal("12.50"), "12.50", " 12,50 " -> Decimal; None when blank, junk or not finite.

    A decimal comma is read as a point (Polish exports write both); there is never a thousands
    separator in API values, so "1,5" is one and a half."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().replace(",", ".")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
