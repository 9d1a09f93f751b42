"""A feed's stream of entries -> the connector's stream of `Product`s and `Skipped`s.

Google items without g:item_group_id are yielded as soon as they are read; grouped
items wait in `Staging` until the end of the feed. Every CSV row is staged,
because any row without a parent may turn out to be the parent of later rows.
"""

from __future__ import annotations

from collections.abc import Iterator

from gwsync.models import Item, Skipped

from .entries import Entry
from .grouping import MAX_VARIANTS, Group, Staging
from .iof import IofProduct
from .products import group_products, single_product


class Notes:
    """Feed problems that skip nothing but deserve a line in the report; a few examples each."""

    def __init__(self, examples: int = 5) -> None:
        self.examples = examples
        self.counts: dict[str, int] = {}
        self.samples: dict[str, list[str]] = {}

    def add(self, kind: str, text: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        samples = self.samples.setdefault(kind, [])
        if len(samples) < self.examples:
            samples.append(text)

    def lines(self) -> list[str]:
        out = []
        for kind, count in self.counts.items():
            more = count - len(self.samples[kind])
            tail = f" (and {more} more)" if more else ""
            out.append(f"{kind}: {count}, e.g. {'; '.join(self.samples[kind])}{tail}")
        return out


def note_entry(entry: Entry, notes: Notes) -> None:
    for text in entry.notes:
        notes.add("images dropped", f"{entry.where}: {text}")


def google_products(entries: Iterator[Entry], notes: Notes) -> Iterator[Item]:
    staging = Staging()
    try:
        for entry in entries:
            note_entry(entry, notes)
            if entry.group_id:
                staging.add(entry.group_id, entry)
            elif (first := staging.first_position(entry.item_id, entry.position)) is None:
                yield single_product(entry)
            else:
                notes.add("repeated ids ignored", f"{entry.where} repeats g:id {entry.item_id!r} of item #{first}")
        for group in staging.groups():
            if staging.is_single(group.key):
                notes.add("groups ignored", f"g:item_group_id {group.key!r} is also an ungrouped item's g:id")
                continue
            yield from _google_group(group)
    finally:
        staging.close()


def _google_group(group: Group) -> Iterator[Item]:
    if group.overflow:
        yield _too_big(group)
        return
    only = group.entries[0]
    if len(group.entries) == 1 and not only.options and not only.error:
        yield single_product(only)  # a "group" of one plain item is just an item
        return
    yield from group_products(group.key, group.entries)


def csv_products(entries: Iterator[Entry], notes: Notes) -> Iterator[Item]:
    staging = Staging()
    try:
        for entry in entries:
            note_entry(entry, notes)
            staging.add(entry.group_id or entry.item_id, entry)
        for group in staging.groups():
            yield from _csv_group(group, notes)
    finally:
        staging.close()


def _csv_group(group: Group, notes: Notes) -> Iterator[Item]:
    if group.overflow:
        yield _too_big(group)
        return
    parents = [e for e in group.entries if e.group_id is None]
    children = [e for e in group.entries if e.group_id is not None]
    for extra in parents[1:]:
        notes.add("repeated ids ignored", f"{extra.where} repeats sku {extra.item_id!r} of {parents[0].where}")
    parent = parents[0] if parents else None
    if parent is not None and not children:
        yield single_product(parent)
    else:
        yield from group_products(group.key, children, parent)


def _too_big(group: Group) -> Skipped:
    total = len(group.entries) + group.overflow
    return Skipped(product_id=group.key, reason=f"the group has {total} items; at most {MAX_VARIANTS} are supported")


def iof_products(records: Iterator[IofProduct], notes: Notes) -> Iterator[Item]:
    """A product outside a version group is complete in its own `<product>`: yielded at once."""
    staging = Staging()
    try:
        for record in records:
            for entry in record.entries:
                note_entry(entry, notes)
            if record.group_key is not None:
                for entry in record.entries:
                    staging.add(record.group_key, entry)
            elif record.one_size and len(record.entries) == 1:
                yield single_product(record.entries[0], product_id=record.product_id)
            else:
                yield from _iof_product(record)
        for group in staging.groups():
            if group.overflow:
                yield _too_big(group)
            else:
                yield from group_products(group.key, group.entries)
    finally:
        staging.close()


def _iof_product(record: IofProduct) -> Iterator[Item]:
    broken = [e for e in record.entries if e.error and e.item_id == record.product_id]
    if broken:  # the product itself (not one size) cannot be read
        yield Skipped(product_id=record.product_id, reason=f"{broken[0].where}: {broken[0].error}")
    else:
        yield from group_products(record.product_id, record.entries)
