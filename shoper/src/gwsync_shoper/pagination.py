"""Shoper list pages: `{"count": "<str>", "pages": <int>, "page": <int>, "list": [...]}`.

Pages are 1-based and the last page is the one where `page >= pages` (the 2020
importer looped `range(2, pages)` and lost the last page). `limit` above 50 is
silently reduced to 10 by Shoper, so a short page that is not the last one means
rows were lost: the paginator refuses it instead of returning a partial catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gwsync.errors import HttpError

PAGE_SIZE = 50  # Shoper's maximum; anything larger silently becomes 10


@dataclass(frozen=True)
class Listing:
    """One paged read of a resource: `GET /webapi/rest/<resource>?<params>&limit=50&page=N`."""

    name: str
    resource: str
    params: dict[str, Any] = field(default_factory=dict)
    id_field: str | None = None  # used by the repeated-page guard

    def page_params(self, page: int) -> dict[str, Any]:
        return {**self.params, "limit": PAGE_SIZE, "page": page}


@dataclass(frozen=True)
class Page:
    number: int
    pages: int
    count: int
    rows: list[dict[str, Any]]

    @property
    def last(self) -> bool:
        return not self.rows or self.number >= self.pages


def parse_page(listing: Listing, requested: int, body: Any) -> Page:
    """A list answer as a `Page`; an empty table (or a 404 empty page) is `Page(requested, 0, 0, [])`."""
    if body is None:
        return Page(requested, 0, 0, [])
    if isinstance(body, list):  # a resource that answers with a bare array
        return Page(1, 1, len(body), body)
    if not isinstance(body, dict) or "list" not in body:
        raise HttpError(f"Shoper {listing.resource}: unexpected answer (no 'list'): {str(body)[:200]}")
    rows = body.get("list") or []
    try:
        pages = int(body.get("pages") or 0)
        count = int(str(body.get("count") or "0"))  # a string in Shoper's answers
        number = int(body.get("page") or requested)
    except ValueError as exc:
        raise HttpError(f"Shoper {listing.resource}: unreadable page counters: {exc}") from None
    if number != requested:
        raise HttpError(f"Shoper {listing.resource}: asked for page {requested}, got page {number}")
    return Page(number, pages, count, list(rows))


class PageGuard:
    """Stop rule and sanity checks for one listing, page by page."""

    def __init__(self, listing: Listing) -> None:
        self.listing = listing
        self._previous_first: Any = None
        self.rows = 0

    def check(self, page: Page) -> None:
        where = f"Shoper {self.listing.resource} page {page.number}/{page.pages}"
        if page.rows and self.listing.id_field:
            first = page.rows[0].get(self.listing.id_field)
            if first is not None and first == self._previous_first:
                raise HttpError(f"{where}: the same page came back twice; stopping to avoid a loop")
            self._previous_first = first
        if not page.last and len(page.rows) < PAGE_SIZE:
            raise HttpError(f"{where}: only {len(page.rows)} rows on a page that is not the last "
                            f"(expected {PAGE_SIZE}); the read would be incomplete")
        self.rows += len(page.rows)
