"""Google Merchant feeds (RSS 2.0 or Atom 1.0 with the g: namespace): items as flat records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element

from .xml_stream import iter_items

G_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
_ITEMS = frozenset({"item", f"{{{ATOM_NS}}}entry"})
_ROOTS = frozenset({"rss", f"{{{ATOM_NS}}}feed"})
_FIELD_NAMESPACES = frozenset({G_NS, ATOM_NS, ""})

Record = dict[str, list[str]]  # local field name -> values in feed order


def iter_records(stream: BinaryIO, where: str) -> Iterator[tuple[int, Record]]:
    """Yield (item number, fields) for each RSS `<item>` or Atom `<entry>`."""
    for position, elem in iter_items(stream, where, _ITEMS, _ROOTS, "Google Merchant"):
        yield position, read_fields(elem)


def read_fields(item: Element) -> Record:
    """Direct children in the g:, Atom or no namespace, by local name; nested fields ignored."""
    fields: Record = {}
    for child in item:
        namespace, _, name = child.tag.rpartition("}")
        if namespace.lstrip("{") not in _FIELD_NAMESPACES or len(child):
            continue
        value = (child.text or child.get("href") or "").strip()
        if value:
            fields.setdefault(name, []).append(value)
    return fields
