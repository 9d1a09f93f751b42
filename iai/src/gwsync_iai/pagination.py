"""Page-number paging of IdoSell list answers (`resultsPage` / `resultsNumberPage`).

Stop rules, in order: an empty answer (IdoSell says "empty result" with faultCode 2
instead of an empty list), a page shorter than the limit, or the last page by count
(`resultsPage + 1 >= resultsNumberPage`). A page whose ids equal the previous page's
means the server ignored `resultsPage`: that is an error, never a silent loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from gwsync.errors import HttpError

PAGE_LIMIT = 100  # the Admin API maximum for resultsLimit
MAX_PAGES = 100_000  # 10 million products: a runaway guard, not a real limit

# fetch(page) -> the decoded answer, or None for "empty result"
Fetch = Callable[[int], dict[str, Any] | None]


class PagePaginator:
    """Iterates the pages of one search; yields each page's `results` list."""

    def __init__(self, fetch: Fetch, *, limit: int = PAGE_LIMIT, what: str = "IdoSell search",
                 identity: Callable[[dict[str, Any]], Any] = lambda r: r.get("productId")) -> None:
        self.fetch = fetch
        self.limit = limit
        self.what = what
        self.identity = identity
        self.pages = 0

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        page = 0
        previous: tuple | None = None
        while True:
            if page >= MAX_PAGES:
                raise HttpError(f"{self.what}: more than {MAX_PAGES} pages; stopping")
            body = self.fetch(page)
            self.pages += 1
            if body is None:
                return
            results = body.get("results") or []
            if not isinstance(results, list):
                raise HttpError(f"{self.what}: page {page} has no results list")
            if not results:
                return
            ids = tuple(self.identity(r) for r in results)
            if ids == previous:
                raise HttpError(f"{self.what}: page {page} repeats page {page - 1} "
                                "(the server ignored resultsPage); the read would never end")
            previous = ids
            yield results
            if len(results) < self.limit or _is_last(body, page):
                return
            page += 1


def _is_last(body: dict[str, Any], page: int) -> bool:
    try:
        pages = int(body.get("resultsNumberPage"))
    except (TypeError, ValueError):
        return False  # no count: keep going until a short or empty page
    with contextlib.suppress(TypeError, ValueError):
        page = int(body.get("resultsPage", page))
    return page + 1 >= pages
