"""Parsing of single feed values (prices, VAT, stock, EAN, flags): pure functions.

Each parser raises `ValueError` with a message fit for a skip reason.
"""

from __future__ import annotations

import re
from decimal import Decimal

from gwsync.models import to_money

_CURRENCY = re.compile(r"[A-Za-zżŻłŁ]+\.?")
_PLN = frozenset({"pln", "zł", "zl", "zł.", "zl."})
_SPACES = re.compile(r"[\s\u00a0\u202f']")  # thin / no-break spaces and ' group thousands
_TRUE = frozenset({"1", "true", "yes", "y", "tak", "t", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "nie", "off"})
_VAT_EXEMPT = frozenset({"zw", "zw.", "np", "np.", "oo"})  # exempt / not taxable: rate 0


def parse_amount(text: str) -> Decimal:
    """`1 234,56` or `1,234.56` or `12.5`: the last `,`/`.` is the decimal separator."""
    raw = _SPACES.sub("", text)
    if "," in raw and "." in raw:
        decimal_sep = "," if raw.rfind(",") > raw.rfind(".") else "."
        raw = raw.replace("." if decimal_sep == "," else ",", "").replace(",", ".")
    else:
        raw = raw.replace(",", ".")
    if raw.count(".") > 1 or not raw:
        raise ValueError(f"not a number: {text!r}")
    return to_money(raw)


def parse_price(text: str) -> Decimal:
    """A gross PLN price: `123.45 PLN`, `PLN 123.45`, `12,50 zł`, `99`. Other currencies refused."""
    if not any(ch.isdigit() for ch in text):
        raise ValueError(f"not a price: {text!r}")
    for currency in _CURRENCY.findall(text):
        if currency.lower() not in _PLN:
            raise ValueError(f"price {text!r} is not in PLN (only PLN prices are imported)")
    amount = parse_amount(_CURRENCY.sub("", text))
    if amount <= 0:
        raise ValueError(f"price {text!r} is not above zero")
    return amount


def parse_vat(text: str) -> int:
    """`23`, `23%`, `0.23`, `zw`: an integer rate 0..100."""
    raw = text.strip().lower().rstrip("%").strip()
    if raw in _VAT_EXEMPT:
        return 0
    try:
        rate = Decimal(raw.replace(",", "."))
    except ArithmeticError:
        raise ValueError(f"not a VAT rate: {text!r}") from None
    if 0 < rate < 1:  # written as a fraction: 0.23
        rate *= 100
    if rate != rate.to_integral_value() or not 0 <= rate <= 100:
        raise ValueError(f"not a VAT rate: {text!r} (expected a whole percent such as 23)")
    return int(rate)


def parse_stock(text: str) -> int:
    """`12`, `12,000` (ERP exports with decimals), `-3`: whole units, negatives as 0."""
    raw = _SPACES.sub("", text).replace(",", ".")
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise ValueError(f"not a stock quantity: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a stock quantity: {text!r}")
    return max(int(value), 0)  # int() truncates 2.5 kg to 2 sellable units


def parse_bool(text: str) -> bool:
    raw = text.strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


def clean_ean(text: str | None) -> str | None:
    """A GTIN-8/12/13/14 with a valid check digit, else None (a wrong EAN is worse than none)."""
    digits = (text or "").strip()
    if len(digits) not in (8, 12, 13, 14) or not digits.isdigit():
        return None
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return digits if (10 - total % 10) % 10 == check else None


def split_path(text: str | None) -> tuple[str, ...]:
    """`A > B > C` -> ("A", "B", "C"); empty segments dropped."""
    return tuple(part.strip() for part in (text or "").split(">") if part.strip())
