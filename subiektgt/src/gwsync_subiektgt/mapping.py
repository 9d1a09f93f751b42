"""Pure mapping of Subiekt GT rows to `gwsync.models`: no I/O.

A row is one `tw__Towar` good joined with its price level, sales VAT rate, group and
model (see `database.product_rows`). Subiekt has no variants: with grouping by model
every `sl_ModelTw` becomes one Gateway variant group whose members are the rows of
that model; every other row is a product of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR
from typing import Any

from gwsync.kit import decimal_or_none
from gwsync.models import Image, ImageAccess, Item, Skipped, Variant, build_product, describe_validation

from pydantic import ValidationError

ZERO_RATE_SYMBOLS = frozenset({"zw", "np", "oo"})  # exempt, not taxable here, reverse charge: VAT 0
HOME_CURRENCY = "PLN"
MODEL_PREFIX = "model-"  # product id of a model's variant group: "model-7"; a lone good: "1201"
PHOTO_SCHEME = "subiekt-photo:"


@dataclass(frozen=True)
class Rules:
    """The vendor's choices, resolved once per run."""

    price_level: int = 1
    group_by_model: bool = True
    option_fields: tuple[int, ...] = ()
    option_names: Mapping[int, str] = field(default_factory=dict)  # tw_Pole<n> -> label
    level_currency: str = HOME_CURRENCY  # tw_Parametr.twp_WalutaCeny<n>: for rows without their own


@dataclass(frozen=True)
class Photo:
    photo_id: int
    crc: Any
    empty: bool  # zd_Zdjecie IS NULL


decimal = decimal_or_none  # money or quantity from either driver: Decimal (SQL Server), int/float/str (SQLite)


def units(value: Any) -> int:
    """Whole units available (quantities may be fractional), never below 0."""
    number = decimal(value)
    if number is None or number <= 0:
        return 0
    return int(number.to_integral_value(rounding=ROUND_FLOOR))


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def flag(value: Any) -> bool:
    """A `bit` column: bool from SQL Server, 0/1 from SQLite."""
    return bool(value) and str(value).strip() not in ("0", "False", "false")


def vat_rate(symbol: Any, rate: Any) -> int | None:
    """The sales VAT rate as a whole percent; None when it is unknown or fractional.

    `zw`, `np` and `oo` are 0 whatever `vat_Stawka` holds. `vat_Stawka` is a percent
    (23.0000); a fraction (0.23) is read as one too, as some exports store it so.
    """
    if text(symbol).lower() in ZERO_RATE_SYMBOLS:
        return 0
    number = decimal(rate)
    if number is None or number < 0:
        return None
    if 0 < number < 1:
        number *= 100
    return int(number) if number == number.to_integral_value() else None


def product_id(row: Mapping[str, Any], rules: Rules) -> tuple[str, str | None]:
    """(product id, variant id) of a row as the Gateway's source identity holds it."""
    model_id = row.get("mtw_IdModel")
    if rules.group_by_model and model_id is not None:
        return f"{MODEL_PREFIX}{model_id}", str(row["tw_Id"])
    return str(row["tw_Id"]), None


def group_key(row: Mapping[str, Any], rules: Rules) -> str:
    return product_id(row, rules)[0]


def photo_images(photos: Sequence[Photo], symbol: str) -> tuple[Image, ...]:
    """BLOB photos as images fetched through the connector; the key changes with the CRC."""
    return tuple(Image(url=f"{PHOTO_SCHEME}{p.photo_id} ({symbol or 'no symbol'})", access=ImageAccess.AUTH,
                       key=f"{PHOTO_SCHEME}{p.photo_id}:{text(p.crc) or '-'}") for p in photos)


def photo_id_of(url: str) -> int | None:
    if not url.startswith(PHOTO_SCHEME):
        return None
    head = url[len(PHOTO_SCHEME):].split(" ", 1)[0]
    return int(head) if head.isdigit() else None


def price_problem(row: Mapping[str, Any], rules: Rules) -> str | None:
    """Why this row's price cannot be used, or None."""
    n = rules.price_level
    currency = text(row.get("currency")).upper() or rules.level_currency.upper() or HOME_CURRENCY
    if currency != HOME_CURRENCY:
        return f"price level {n} is in {currency}, not {HOME_CURRENCY} (tc_IdWaluta{n})"
    gross = decimal(row.get("gross"))
    if gross is None or gross <= 0:
        return f"no gross price at level {n} (tc_CenaBrutto{n} is empty or 0)"
    return None


def vat_problem(row: Mapping[str, Any]) -> str | None:
    if row.get("vat_Symbol") is None and row.get("vat_Stawka") is None:
        return f"no sales VAT rate (tw_IdVatSp {row.get('tw_IdVatSp')} is not in sl_StawkaVAT)"
    if vat_rate(row.get("vat_Symbol"), row.get("vat_Stawka")) is None:
        return f"VAT rate {text(row.get('vat_Stawka'))} ({text(row.get('vat_Symbol'))}) is not a whole percent"
    return None


def _description(row: Mapping[str, Any]) -> str | None:
    return text(row.get("tw_Charakter")) or text(row.get("tw_Opis")) or None


def _category(row: Mapping[str, Any]) -> tuple[str, ...]:
    name = text(row.get("grt_Nazwa"))
    return (name,) if name else ()


def map_single(row: Mapping[str, Any], stock: Mapping[int, int], photos: Mapping[int, Sequence[Photo]],
               rules: Rules) -> Item:
    """One good that is not in a model (or grouping is off): one Gateway product."""
    pid = str(row["tw_Id"])
    active = not flag(row.get("tw_Zablokowany"))
    problem = vat_problem(row) or (price_problem(row, rules) if active else None)
    if problem and active:
        return Skipped(product_id=pid, reason=f"{text(row.get('tw_Symbol'))}: {problem}")
    symbol = text(row.get("tw_Symbol"))
    return build_product(
        pid, name=text(row.get("tw_Nazwa")), sku=symbol, ean=text(row.get("tw_PodstKodKresk")),
        price=None if price_problem(row, rules) else decimal(row.get("gross")),
        vat=vat_rate(row.get("vat_Symbol"), row.get("vat_Stawka")) or 0,
        stock=stock.get(row["tw_Id"], 0), description=_description(row), category_path=_category(row),
        images=photo_images(photos.get(row["tw_Id"], ()), symbol), active=active)


def options_of(row: Mapping[str, Any], rules: Rules) -> dict[str, str]:
    if not rules.option_fields:
        return {"Symbol": text(row.get("tw_Symbol"))} if text(row.get("tw_Symbol")) else {}
    values = {}
    for n in rules.option_fields:
        value = text(row.get(f"tw_Pole{n}"))
        if value:
            values[rules.option_names.get(n) or f"Pole {n}"] = value
    return values


def map_model(rows: Sequence[Mapping[str, Any]], stock: Mapping[int, int],
              photos: Mapping[int, Sequence[Photo]], rules: Rules) -> list[Item]:
    """The goods of one model (rows sorted by tw_Id): one variant group, members filtered one by one."""
    first = rows[0]
    pid = group_key(first, rules)
    items: list[Item] = []
    variants: list[Variant] = []
    taken: dict[tuple[tuple[str, str], ...], str] = {}
    group_vat: int | None = None
    for row in rows:
        symbol = text(row.get("tw_Symbol"))
        vid = str(row["tw_Id"])
        active = not flag(row.get("tw_Zablokowany"))
        options = options_of(row, rules)
        vat = vat_rate(row.get("vat_Symbol"), row.get("vat_Stawka"))
        problem = vat_problem(row) or (price_problem(row, rules) if active else None)
        if not problem and not options:
            fields = ", ".join(f"tw_Pole{n}" for n in rules.option_fields)
            problem = f"no option value in {fields} to tell it from the model's other goods"
        signature = tuple(sorted(options.items()))
        if not problem and signature in taken:
            problem = f"same options as {taken[signature]} ({', '.join(f'{k} {v}' for k, v in signature)})"
        if not problem and group_vat is not None and vat != group_vat:
            problem = f"VAT {vat} differs from the model's VAT {group_vat}"
        if problem:
            items.append(Skipped(product_id=pid, variant_id=vid, reason=f"{symbol}: {problem}"))
            continue
        group_vat = vat if group_vat is None else group_vat
        taken[signature] = symbol
        try:
            variants.append(Variant(
                variant_id=vid, options=options, sku=symbol, ean=text(row.get("tw_PodstKodKresk")),
                price=None if price_problem(row, rules) else decimal(row.get("gross")),
                stock=stock.get(row["tw_Id"], 0), images=photo_images(photos.get(row["tw_Id"], ()), symbol),
                active=active))
        except ValidationError as exc:
            items.append(Skipped(product_id=pid, variant_id=vid, reason=f"{symbol}: {describe_validation(exc)}"))
    if variants:
        name = text(first.get("mdt_Nazwa")) or text(first.get("tw_Nazwa"))
        lead = next(r for r in rows if str(r["tw_Id"]) == variants[0].variant_id)
        items.insert(0, build_product(
            pid, name=name, vat=group_vat or 0, description=_description(lead), category_path=_category(lead),
            variants=tuple(variants), active=any(v.active for v in variants)))
    return items


def map_rows(rows: Iterable[Mapping[str, Any]], stock: Mapping[int, int],
             photos: Mapping[int, Sequence[Photo]], rules: Rules) -> list[Item]:
    """Rows of one group (a model's goods, or one lone good) to items."""
    rows = list(rows)
    if rules.group_by_model and rows[0].get("mtw_IdModel") is not None:
        return map_model(rows, stock, photos, rules)
    return [map_single(row, stock, photos, rules) for row in rows]
