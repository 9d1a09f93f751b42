"""Paginators: one contract for every way a platform pages a listing.

A paginator is built around a callable that fetches ONE page (an HTTP call, a
sub-request of a bulk call, an SQL query: the paginator does not care) and
returns a `Page`, or None for "no rows" (IdoSell's faultCode 2, a 404 on an
empty page). Iterating the paginator yields the rows of each page, as a list,
page after page; it raises `PagingError` (a `SyncError`: the engine then
archives nothing) when the read cannot be trusted.

Every paginator has
- a stop rule: an empty page, a short page, the total count, the has-more flag
  or the absence of a next token, whichever the platform gives;
- a loop guard: a page that does not move the read forward (the same rows, the
  same token, a key that does not grow) fails instead of looping;
- with `key=`, de-duplication: a row whose key was already yielded is dropped
  (platforms that repeat rows across pages, and the re-read after a shift);
- the shift guard its kind needs. Position-based paging (page numbers,
  offsets) loses a row when a row before the read position is deleted mid-read:
  with a total count, a count that drops makes the paginator step back over the
  shifted pages and read them again (rows already yielded are dropped by key).
  Keyset and server cursors are immune by construction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..errors import SyncError

Row = TypeVar("Row")
MAX_PAGES = 200_000  # a runaway guard, not a real limit
MAX_REWINDS = 20  # steps back after deletions in one read; beyond, the listing is too unstable


class PagingError(SyncError):
    """The listing cannot be read completely and consistently; nothing may be archived."""


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page as the platform answered it, in the paginator's terms.

    Set only what the platform says: `total` (rows in the whole listing),
    `more` (a has-more flag), `next` (a server cursor or next link), `size` (the
    page size actually asked for, when the fetch changed it, e.g. halved after a 5xx).
    """

    rows: Sequence[Row]
    total: int | None = None
    more: bool | None = None
    next: Any = None
    size: int | None = None


def _as_page(answer: Page[Row] | Sequence[Row] | None) -> Page[Row]:
    if answer is None:
        return Page(rows=())
    if isinstance(answer, Page):
        return answer
    return Page(rows=list(answer))


@dataclass
class _Dedup(Generic[Row]):
    key: Callable[[Row], Hashable] | None
    seen: set[Hashable] = field(default_factory=set)
    dropped: int = 0

    def fresh(self, rows: Sequence[Row]) -> list[Row]:
        if self.key is None:
            return list(rows)
        out = []
        for row in rows:
            k = self.key(row)
            if k in self.seen:
                self.dropped += 1
                continue
            self.seen.add(k)
            out.append(row)
        return out


class Paginator(Generic[Row]):
    """Base: counters and the shared de-duplication; subclasses implement `_pages`."""

    def __init__(self, *, what: str, key: Callable[[Row], Hashable] | None = None,
                 max_pages: int = MAX_PAGES) -> None:
        self.what = what
        self.key = key
        self.max_pages = max_pages
        self.calls = 0  # pages fetched (an HTTP call, a bulk sub-request, a query)
        self.rows = 0  # rows yielded
        self.rewinds = 0  # shifts detected and re-read
        self._dedup: _Dedup[Row] = _Dedup(key)

    @property
    def duplicates(self) -> int:
        """Rows dropped because their key was already yielded."""
        return self._dedup.dropped

    def __iter__(self) -> Iterator[list[Row]]:
        for rows in self._pages():
            fresh = self._dedup.fresh(rows)
            self.rows += len(fresh)
            if fresh:
                yield fresh

    def _pages(self) -> Iterator[Sequence[Row]]:
        raise NotImplementedError

    def _count_call(self, pages: int = 1) -> None:
        self.calls += pages
        if self.calls > self.max_pages:
            raise PagingError(f"{self.what}: more than {self.max_pages} pages; stopping")

    def _keys(self, rows: Sequence[Row]) -> tuple | None:
        return tuple(self.key(r) for r in rows) if self.key is not None and rows else None


class _PositionPaginator(Paginator[Row]):
    """Page numbers and offsets: the same stop rules and shift guard, positions differ."""

    def __init__(self, *, size: int, what: str, key: Callable[[Row], Hashable] | None = None,
                 short_page_ends: bool = True, max_pages: int = MAX_PAGES, max_rewinds: int = MAX_REWINDS) -> None:
        super().__init__(what=what, key=key, max_pages=max_pages)
        self.size = size
        self.short_page_ends = short_page_ends
        self.max_rewinds = max_rewinds

    def _fetch_at(self, index: int, size: int) -> Page[Row]:
        raise NotImplementedError

    def _pages(self) -> Iterator[Sequence[Row]]:
        index, total, previous, emptied = 0, None, None, None
        while True:
            page = self._fetch_at(index, self.size)
            size = page.size or self.size
            if emptied is not None and page.total is not None and page.total >= emptied:
                raise PagingError(f"{self.what}: a page came back empty although the listing still "
                                  f"counts {page.total} rows; the read would be incomplete")
            emptied = None
            expected = total is not None and index * size < total
            if expected and (page.total is not None and page.total < total or not page.rows):
                # rows before the read position went away: the rest moved onto pages already read
                deleted = total - page.total if page.total is not None else total - index * size
                index = self._rewind(index, deleted, size)
                if not page.rows and page.total is None:
                    emptied = total  # the count must have dropped when the listing is read again
                total, previous = page.total, None
                continue
            if page.total is not None:
                total = page.total if total is None else max(total, page.total)
            keys = self._keys(page.rows)
            if keys is not None and keys == previous:
                raise PagingError(f"{self.what}: page {index + 1} repeats the previous page (the server "
                                  "ignored the page position); the read would never end")
            previous = keys
            if page.rows:
                yield page.rows
            if self._last(index, page, size, total):
                return
            index += 1

    def _rewind(self, index: int, deleted: int, size: int) -> int:
        """Rows deleted before the read position moved up to `deleted` rows onto pages already read."""
        self.rewinds += 1
        if self.rewinds > self.max_rewinds:
            raise PagingError(f"{self.what}: rows were deleted during the read {self.rewinds} times; "
                              "the listing keeps changing, run again later")
        if self.key is None:
            raise PagingError(f"{self.what}: {deleted} rows were deleted during the read and rows may "
                              "have shifted out of view; run again")
        return max(0, index - max(1, math.ceil(deleted / size)))

    def _last(self, index: int, page: Page[Row], size: int, total: int | None) -> bool:
        if not page.rows or page.more is False:
            return True
        if total is not None:
            if (index + 1) * size >= total:
                return True
            if len(page.rows) < size:
                raise PagingError(f"{self.what}: only {len(page.rows)} rows on page {index + 1} of "
                                  f"{math.ceil(total / size)} (expected {size}); the read would be incomplete")
            return False
        return self.short_page_ends and len(page.rows) < size


class PageNumberPaginator(_PositionPaginator[Row]):
    """`fetch(number, size)` for page `first`, `first + 1`, ... (IdoSell 0-based, Shoper and Magento 1-based).

    With `fetch_many(numbers, size) -> [Page | None, ...]` and `batch`, once the
    first page has told the total, the following pages are fetched `batch` at a
    time (one bulk call for several pages); `calls` still counts pages.
    """

    def __init__(self, fetch: Callable[[int, int], Page[Row] | Sequence[Row] | None], *, size: int,
                 what: str, first: int = 1, key: Callable[[Row], Hashable] | None = None,
                 short_page_ends: bool = True,
                 fetch_many: Callable[[list[int], int], Sequence[Page[Row] | Sequence[Row] | None]] | None = None,
                 batch: int = 1, max_pages: int = MAX_PAGES, max_rewinds: int = MAX_REWINDS) -> None:
        super().__init__(size=size, what=what, key=key, short_page_ends=short_page_ends, max_pages=max_pages,
                         max_rewinds=max_rewinds)
        self.fetch = fetch
        self.first = first
        self.fetch_many = fetch_many
        self.batch = batch if fetch_many is not None else 1
        self._ahead: dict[int, Page[Row]] = {}
        self._total: int | None = None

    def _fetch_at(self, index: int, size: int) -> Page[Row]:
        if index in self._ahead:
            return self._ahead.pop(index)
        if index > 0 and self.batch > 1 and self._total is not None:
            last = math.ceil(self._total / size) - 1
            indexes = list(range(index, min(last, index + self.batch - 1) + 1))
            if len(indexes) > 1:
                self._count_call(len(indexes))
                answers = self.fetch_many([self.first + i for i in indexes], size)
                pages = [_as_page(a) for a in answers]
                self._ahead = dict(zip(indexes[1:], pages[1:], strict=True))
                return self._remember(pages[0])
        self._ahead.clear()
        self._count_call()
        return self._remember(_as_page(self.fetch(self.first + index, size)))

    def _rewind(self, index: int, deleted: int, size: int) -> int:
        self._ahead.clear()  # pages read ahead have shifted as well
        return super()._rewind(index, deleted, size)

    def _remember(self, page: Page[Row]) -> Page[Row]:
        if page.total is not None:
            self._total = page.total
        return page


class OffsetPaginator(_PositionPaginator[Row]):
    """`fetch(offset, limit)`: offset/limit paging (Sellasist, SQL `LIMIT/OFFSET`)."""

    def __init__(self, fetch: Callable[[int, int], Page[Row] | Sequence[Row] | None], *, size: int,
                 what: str, key: Callable[[Row], Hashable] | None = None, short_page_ends: bool = True,
                 max_pages: int = MAX_PAGES, max_rewinds: int = MAX_REWINDS) -> None:
        super().__init__(size=size, what=what, key=key, short_page_ends=short_page_ends, max_pages=max_pages,
                         max_rewinds=max_rewinds)
        self.fetch = fetch

    def _fetch_at(self, index: int, size: int) -> Page[Row]:
        self._count_call()
        return _as_page(self.fetch(index * size, size))


class KeysetPaginator(Paginator[Row]):
    """`fetch(after, size)`: rows whose sort key is above `after` (None for the first page), in key order.

    `key` gives each row's sort key: an id, or a tuple such as (change time, id)
    for a sortable field that repeats. A deleted or added row never shifts
    another one, so there is nothing to re-read. A short page is the last one;
    a page whose last key does not pass `after` means the filter was ignored.
    """

    def __init__(self, fetch: Callable[[Any, int], Page[Row] | Sequence[Row] | None], *, size: int,
                 what: str, key: Callable[[Row], Any], max_pages: int = MAX_PAGES) -> None:
        super().__init__(what=what, key=key, max_pages=max_pages)
        self.fetch = fetch
        self.size = size
        self.sort_key = key
        self._dedup = _Dedup(None)  # keys only grow: nothing to remember, memory stays flat

    def _pages(self) -> Iterator[Sequence[Row]]:
        after = None
        while True:
            self._count_call()
            page = _as_page(self.fetch(after, self.size))
            if page.rows:
                last = max(self.sort_key(r) for r in page.rows)
                if after is not None and not last > after:
                    raise PagingError(f"{self.what}: the page after {after!r} does not move past it; "
                                      "the platform seems to ignore the key filter")
                after = last
                yield page.rows
            if not page.rows or page.more is False or len(page.rows) < (page.size or self.size):
                return


class CursorPaginator(Paginator[Row]):
    """`fetch(token)`: a server cursor or next link (None for the first page); ends without a next token."""

    def __init__(self, fetch: Callable[[Any], Page[Row]], *, what: str,
                 key: Callable[[Row], Hashable] | None = None, max_pages: int = MAX_PAGES) -> None:
        super().__init__(what=what, key=key, max_pages=max_pages)
        self.fetch = fetch

    def _pages(self) -> Iterator[Sequence[Row]]:
        token: Any = None
        used: set[Any] = set()
        while True:
            self._count_call()
            page = _as_page(self.fetch(token))
            if page.rows:
                yield page.rows
            if page.next in (None, "") or page.more is False:
                return
            if page.next == token or page.next in used:
                raise PagingError(f"{self.what}: the server sent the same next token again; "
                                  "the read would never end")
            used.add(page.next)
            token = page.next


class WholeTable(Paginator[Row]):
    """`fetch()`: the whole listing in one answer; a `total` that disagrees with the rows fails."""

    def __init__(self, fetch: Callable[[], Page[Row] | Sequence[Row] | None], *, what: str,
                 key: Callable[[Row], Hashable] | None = None) -> None:
        super().__init__(what=what, key=key)
        self.fetch = fetch

    def _pages(self) -> Iterator[Sequence[Row]]:
        self._count_call()
        page = _as_page(self.fetch())
        if page.total is not None and page.total != len(page.rows):
            raise PagingError(f"{self.what}: the answer says {page.total} rows but holds "
                              f"{len(page.rows)}; it was cut short")
        if page.rows:
            yield page.rows


def rows(paginator: Paginator[Row]) -> Iterator[Row]:
    """The rows of every page, one by one."""
    for page in paginator:
        yield from page
