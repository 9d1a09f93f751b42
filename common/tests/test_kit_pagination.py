"""Paginators on in-memory listings that change while they are read."""

from __future__ import annotations

import pytest

from gwsync.kit import (
    CursorPaginator,
    KeysetPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    PagingError,
    WholeTable,
    rows,
)


class Table:
    """A listing ordered by id, answered by position like a platform would (total included)."""

    def __init__(self, n: int) -> None:
        self.ids = list(range(1, n + 1))
        self.calls: list[tuple] = []
        self.on_call: dict[int, callable] = {}

    def slice(self, offset: int, limit: int, with_total: bool = True) -> Page | None:
        self.calls.append((offset, limit))
        if len(self.calls) in self.on_call:
            self.on_call[len(self.calls)](self)
        chunk = [{"id": i} for i in self.ids[offset:offset + limit]]
        if not chunk:
            return None
        return Page(rows=chunk, total=len(self.ids) if with_total else None)


def ids(paginator) -> list[int]:
    return [r["id"] for r in rows(paginator)]


def by_id(row: dict) -> int:
    return row["id"]


def test_page_numbers_stop_on_the_total_without_an_extra_call() -> None:
    table = Table(25)
    pager = PageNumberPaginator(lambda n, size: table.slice((n - 1) * size, size), size=10, what="t", key=by_id)
    assert ids(pager) == list(range(1, 26))
    assert len(table.calls) == 3 and pager.calls == 3


def test_page_numbers_without_total_stop_on_a_short_page() -> None:
    table = Table(20)
    pager = PageNumberPaginator(lambda n, size: table.slice(n * size, size, with_total=False), first=0,
                                size=10, what="t")
    assert ids(pager) == list(range(1, 21))
    assert len(table.calls) == 3  # the third page is empty: the only way to know


def test_a_deletion_mid_read_does_not_hide_a_row() -> None:
    table = Table(30)
    table.on_call[2] = lambda t: t.ids.remove(3)  # a row of page 1 deleted before page 2 is read
    pager = PageNumberPaginator(lambda n, size: table.slice((n - 1) * size, size), size=10, what="t", key=by_id)
    got = ids(pager)
    # 11 moved onto page 1 after it was read: the paginator steps back and finds it
    assert sorted(got) == [i for i in range(1, 31)]
    assert len(got) == len(set(got))
    assert pager.rewinds == 1


def test_a_deletion_that_empties_the_last_page_is_a_shift_too() -> None:
    table = Table(11)
    table.on_call[2] = lambda t: t.ids.remove(1)
    pager = PageNumberPaginator(lambda n, size: table.slice((n - 1) * size, size), size=10, what="t", key=by_id)
    assert ids(pager) == list(range(1, 12))


def test_a_shift_without_row_keys_is_refused() -> None:
    table = Table(30)
    table.on_call[2] = lambda t: t.ids.remove(3)
    pager = PageNumberPaginator(lambda n, size: table.slice((n - 1) * size, size), size=10, what="listing x")
    with pytest.raises(PagingError, match="listing x: 1 rows were deleted"):
        ids(pager)


def test_a_listing_that_keeps_shrinking_fails_instead_of_looping() -> None:
    table = Table(500)

    def fetch(n: int, size: int) -> Page | None:
        table.ids.pop(0)
        return table.slice((n - 1) * size, size)

    with pytest.raises(PagingError, match="deleted during the read 21 times"):
        ids(PageNumberPaginator(fetch, size=10, what="t", key=by_id))


def test_a_platform_may_declare_fewer_steps_back() -> None:
    table = Table(30)
    table.on_call[2] = lambda t: t.ids.remove(3)
    table.on_call[3] = lambda t: t.ids.remove(4)
    pager = PageNumberPaginator(lambda n, size: table.slice((n - 1) * size, size), size=10, what="t",
                                key=by_id, max_rewinds=1)
    with pytest.raises(PagingError, match="deleted during the read 2 times"):
        ids(pager)


def test_a_repeated_page_fails() -> None:
    table = Table(30)
    pager = PageNumberPaginator(lambda n, size: table.slice(0, size, with_total=False), size=10, what="t",
                                key=by_id)
    with pytest.raises(PagingError, match="repeats the previous page"):
        ids(pager)


def test_a_short_page_before_the_total_fails() -> None:
    def fetch(n: int, size: int) -> Page:  # a server that silently lowers the page size to 5
        return Page(rows=[{"id": i} for i in range((n - 1) * 5 + 1, n * 5 + 1)], total=100)

    with pytest.raises(PagingError, match="only 5 rows on page 1 of 10"):
        ids(PageNumberPaginator(fetch, size=10, what="t", key=by_id))


def test_pages_fetched_in_batches_once_the_total_is_known() -> None:
    table = Table(95)
    batches: list[list[int]] = []

    def many(numbers: list[int], size: int) -> list[Page | None]:
        batches.append(numbers)
        return [table.slice((n - 1) * size, size) for n in numbers]

    pager = PageNumberPaginator(lambda n, size: table.slice((n - 1) * size, size), size=10, what="t",
                                key=by_id, fetch_many=many, batch=4)
    assert ids(pager) == list(range(1, 96))
    assert batches == [[2, 3, 4, 5], [6, 7, 8, 9]]  # page 10 alone: a plain fetch
    assert pager.calls == 10


def test_offset_paging_drops_duplicate_rows_and_treats_none_as_empty() -> None:
    answers = {0: [{"id": 1}, {"id": 2}], 2: [{"id": 2}, {"id": 3}], 4: None}
    pager = OffsetPaginator(lambda offset, limit: answers[offset], size=2, what="t", key=by_id)
    assert ids(pager) == [1, 2, 3]
    assert pager.duplicates == 1


def test_offset_paging_rewinds_after_a_deletion() -> None:
    table = Table(9)
    table.on_call[3] = lambda t: t.ids.remove(2)
    pager = OffsetPaginator(table.slice, size=3, what="t", key=by_id)
    assert ids(pager) == list(range(1, 10))


def test_keyset_paging_is_immune_to_deletions() -> None:
    table = Table(25)

    def fetch(after: int | None, size: int) -> list[dict]:
        if after == 10:
            table.ids.remove(2)
        return [{"id": i} for i in table.ids if i > (after or 0)][:size]

    pager = KeysetPaginator(fetch, size=10, what="t", key=by_id)
    assert ids(pager) == list(range(1, 26))
    assert pager.calls == 3


def test_keyset_paging_uses_the_size_the_fetch_reports() -> None:
    data = [{"id": i} for i in range(1, 8)]

    def fetch(after: int | None, size: int) -> Page:  # the platform asked for 5 after an error
        return Page(rows=[r for r in data if r["id"] > (after or 0)][:5], size=5)

    pager = KeysetPaginator(fetch, size=10, what="t", key=by_id)
    assert ids(pager) == list(range(1, 8))
    assert pager.calls == 2


def test_keyset_paging_fails_when_the_filter_is_ignored() -> None:
    pager = KeysetPaginator(lambda after, size: [{"id": 1}, {"id": 2}], size=2, what="t", key=by_id)
    with pytest.raises(PagingError, match="does not move past"):
        ids(pager)


def test_keyset_on_a_repeating_sortable_field() -> None:
    data = [{"t": "a", "id": 2}, {"t": "a", "id": 5}, {"t": "b", "id": 1}, {"t": "c", "id": 3}]

    def key(row: dict) -> tuple:
        return (row["t"], row["id"])

    pager = KeysetPaginator(lambda after, size: [r for r in data if after is None or key(r) > after][:size],
                            size=2, what="t", key=key)
    assert ids(pager) == [2, 5, 1, 3]


def test_cursor_paging_follows_next_and_fails_on_a_repeated_token() -> None:
    links = {None: Page(rows=[{"id": 1}], next="p2"), "p2": Page(rows=[{"id": 2}], next="p3"),
             "p3": Page(rows=[{"id": 3}], next=None)}
    assert ids(CursorPaginator(lambda token: links[token], what="t")) == [1, 2, 3]
    loop = {None: Page(rows=[{"id": 1}], next="p2"), "p2": Page(rows=[{"id": 2}], next="p2")}
    with pytest.raises(PagingError, match="same next token"):
        ids(CursorPaginator(lambda token: loop[token], what="t"))


def test_whole_table_checks_the_total() -> None:
    assert ids(WholeTable(lambda: [{"id": 1}, {"id": 2}], what="t")) == [1, 2]
    with pytest.raises(PagingError, match="says 3 rows but holds 2"):
        ids(WholeTable(lambda: Page(rows=[{"id": 1}, {"id": 2}], total=3), what="t"))
    assert ids(WholeTable(lambda: None, what="t")) == []


def test_an_empty_page_while_the_count_stays_is_refused_after_one_look_back() -> None:
    def fetch(n: int, size: int) -> Page | None:
        return Page(rows=[{"id": 1}, {"id": 2}], total=9) if n == 1 else None

    pager = PageNumberPaginator(fetch, size=2, what="t", key=by_id)
    with pytest.raises(PagingError, match="empty although the listing still counts 9"):
        ids(pager)
    assert pager.calls == 3
