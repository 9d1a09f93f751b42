"""Entries -> `Product`s: a single item, or a variant group with a common base name.

The engine names a variant's Gateway product "<product name> <option values>",
so a group's name must be the base name without the size/colour suffix that
feeds put into every item's title ("Koszulka Basic czarna M" -> "Koszulka Basic").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from gwsync.models import Product, Skipped, Variant, build_product

from .entries import Entry

T = TypeVar("T")
FALLBACK_OPTION = "Wariant"  # a group member whose feed row names no option
_SEPARATORS = " \t-–—,;/|:(["
_TRAILING_GROUP = re.compile(r"[(\[]([^()\[\]]*)[)\]]$")  # "(M)", "[czarny, XL]"


def single_product(entry: Entry, product_id: str | None = None) -> Product | Skipped:
    """The entry as a product without variants, under its own id or `product_id`."""
    reason = entry.error or (None if entry.price is not None else "no price")
    if reason:
        return Skipped(product_id=product_id or entry.item_id, reason=f"{entry.where}: {reason}")
    return build_product(
        product_id or entry.item_id, name=entry.name, price=entry.price, vat=entry.vat, stock=entry.stock,
        sku=entry.sku, ean=entry.ean, description=entry.description, images=entry.images,
        category_path=entry.category_path, active=entry.active,
    )


def group_products(group_id: str, members: Sequence[Entry],
                   parent: Entry | None = None) -> Iterator[Product | Skipped]:
    """Skipped members first (by variant), then the group, or a Skipped group if nothing is left."""
    good: list[Entry] = []
    for entry in members:
        reason = entry.error or _conflict(entry, good, parent)
        if reason:
            yield Skipped(product_id=group_id, variant_id=entry.item_id,
                          reason=f"{entry.where}: {reason}")
        else:
            good.append(entry)
    if parent is not None and parent.error:
        yield Skipped(product_id=group_id, reason=f"parent row, {parent.where}: {parent.error}")
    elif not good:
        yield Skipped(product_id=group_id, reason=f"none of the group's {len(members)} items can be imported")
    else:
        yield _group(group_id, good, parent)


def _conflict(entry: Entry, accepted: list[Entry], parent: Entry | None) -> str | None:
    if any(e.item_id == entry.item_id for e in accepted):
        return f"id {entry.item_id!r} repeats within the group"
    if entry.price is None and (parent is None or parent.price is None):
        return "no price (and no parent row with one)"
    head = parent if parent is not None and parent.vat is not None else (accepted[0] if accepted else None)
    vat = head.vat if head is not None else None
    if vat is not None and entry.vat is not None and entry.vat != vat:
        return f"VAT {entry.vat}% differs from the group's {vat}%"
    return None


def _group(group_id: str, members: list[Entry], parent: Entry | None) -> Product | Skipped:
    head = parent or members[0]
    base = parent.name if parent is not None and parent.name else base_name(members)
    return build_product(
        group_id, name=base, price=head.price or members[0].price,
        vat=head.vat if head.vat is not None else members[0].vat,
        stock=sum(e.stock for e in members), sku=parent.sku if parent else None,
        description=_first(e.description for e in [head, *members]),
        images=head.images or members[0].images,
        category_path=_first(e.category_path for e in [head, *members]) or (),
        active=parent.active if parent is not None else any(e.active for e in members),
        variants=tuple(_variant(e, base) for e in members),
    )


def _variant(entry: Entry, base: str) -> Variant:
    options = dict(entry.options) or {FALLBACK_OPTION: _remainder(entry.name or "", base) or entry.item_id}
    return Variant(variant_id=entry.item_id, options=options, sku=entry.sku, ean=entry.ean,
                   price=entry.price, stock=entry.stock, images=entry.images, active=entry.active)


def _first(values: Iterable[T]) -> T | None:
    return next((v for v in values if v), None)


def base_name(members: Sequence[Entry]) -> str:
    """Titles without their own trailing option values; if they still differ, their common words."""
    stripped = [strip_options(e.name or "", [v for _, v in e.options]) for e in members]
    if len(set(stripped)) == 1:
        return stripped[0] or (members[0].name or "")
    common = _common_words(stripped)
    return common or (members[0].name or "")


def strip_options(title: str, values: list[str], keep_some: bool = True) -> str:
    """Remove option values (any order, case-insensitive, also in brackets) from the title's end."""
    text = _trim(title)
    values = [v for v in values if v.strip()]
    while values:
        cut = _cut_once(text, values)
        if cut is None or (keep_some and not cut):
            break
        text = cut
    return text


def _cut_once(text: str, values: list[str]) -> str | None:
    group = _TRAILING_GROUP.search(text)
    if group and strip_options(group.group(1), values, keep_some=False) == "":
        return _trim(text[: group.start()])
    for value in sorted(values, key=len, reverse=True):
        if text.casefold().endswith(value.casefold()):
            head = text[: len(text) - len(value)]
            if not head or head[-1] in _SEPARATORS:  # "Koszulka XL" must not lose "L"
                return _trim(head)
    return None


def _trim(text: str) -> str:
    return text.strip().rstrip(_SEPARATORS)


def _common_words(titles: list[str]) -> str:
    words = [re.split(r"\s+", t) for t in titles]
    common = []
    for column in zip(*words, strict=False):  # as long as the shortest title
        if len({w.casefold() for w in column}) != 1:
            break
        common.append(column[0])
    return _trim(" ".join(common))


def _remainder(title: str, base: str) -> str:
    return _trim(title[len(base):].strip(_SEPARATORS + ")]")) if title.startswith(base) else ""
