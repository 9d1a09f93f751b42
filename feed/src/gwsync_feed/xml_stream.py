"""Streaming, safe XML shared by every XML format (Google Merchant, Ceneo, IdoSell IOF).

Why defusedxml on the standard library's expat rather than lxml: it refuses any
entity declaration (billion laughs) and any external reference (XXE) with a
distinct exception, so a hostile feed ends the run with a clear line instead of
being expanded or silently half-read; it adds no compiled dependency to the
image; and `iterparse` lets us drop every finished item, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from gwsync.errors import ConfigError

from .errors import FeedError

# expat error codes that mean "the input stopped before the document ended".
_CUT_SHORT = frozenset({3, 5, 6, 20})  # no element found, unclosed token, partial character, unclosed CDATA


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def iter_items(stream: BinaryIO, where: str, items: frozenset[str], roots: frozenset[str],
               title: str) -> Iterator[tuple[int, Element]]:
    """Yield (item number, element) for each top-level item element, then drop it.

    `items` and `roots` are the item and accepted root tags (with namespace, as ElementTree writes them).
    An item's own children stay until the item ends; an element of the same name
    nested inside an item (IOF bundles list their `<product>` parts) is not an item.
    """
    stack: list[Element] = []
    inside = 0  # depth of item elements currently open
    position = 0
    for event, elem in _events(stream, where):
        if event == "start":
            if not stack and elem.tag not in roots:
                raise ConfigError(f"feed {where}: not a {title} feed: the root element is "
                                  f"<{local(elem.tag)}>, expected <{'> or <'.join(sorted(local(r) for r in roots))}>")
            stack.append(elem)
            inside += elem.tag in items
            continue
        stack.pop()
        if elem.tag in items:
            inside -= 1
            if inside == 0:
                position += 1
                yield position, elem
        if stack and inside == 0:  # keep an item's children until the item ends
            stack[-1].remove(elem)


def text_of(elem: Element | None) -> str:
    return (elem.text or "").strip() if elem is not None else ""


def _events(stream: BinaryIO, where: str) -> Iterator[tuple[str, Element]]:
    try:
        yield from safe_xml.iterparse(stream, events=("start", "end"), forbid_dtd=False,
                                      forbid_entities=True, forbid_external=True)
    except (EntitiesForbidden, ExternalReferenceForbidden, DTDForbidden) as exc:
        raise FeedError(f"feed {where}: refused: the XML declares entities or external "
                        f"references ({type(exc).__name__}); a product feed needs none, "
                        "and they can be used to exhaust memory or read local files") from None
    except DefusedXmlException as exc:
        raise FeedError(f"feed {where}: refused unsafe XML: {exc}") from None
    except safe_xml.ParseError as exc:
        line, column = exc.position
        if exc.code in _CUT_SHORT:
            raise FeedError(f"feed {where}: the file is cut short (truncated at line {line}): an export "
                            "still being written or a broken transfer") from None
        raise FeedError(f"feed {where}: not well-formed XML at line {line}, column {column + 1}") from None
