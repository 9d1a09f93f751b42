"""The connector kit: paginators, the incremental cursor and the shop identity.

A connector is its settings, a client that fetches one page of a listing, pure
mapping functions, and these pieces; see docs/writing-a-connector.md.
"""

from .cursor import DAILY, ChangeCursor, cursor_text
from .facts import POSITION_PAGING, Facts
from .files import first_image, naive_time, running
from .identity import shop_identity
from .numbers import decimal_or_none
from .pagination import (
    CursorPaginator,
    KeysetPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    Paginator,
    PagingError,
    WholeTable,
    rows,
)

__all__ = [
    "DAILY", "POSITION_PAGING", "ChangeCursor", "CursorPaginator", "Facts", "KeysetPaginator",
    "OffsetPaginator", "Page", "PageNumberPaginator", "Paginator", "PagingError", "WholeTable", "cursor_text",
    "decimal_or_none", "first_image", "naive_time", "rows", "running", "shop_identity",
]
