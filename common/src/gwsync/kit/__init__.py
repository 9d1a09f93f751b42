"""The connector kit: paginators, the incremental cursor and the shop identity.

A connector is its settings, a client that fetches one page of a listing, pure
mapping functions, and these pieces; see docs/writing-a-connector.md.
"""

from .cursor import DAILY, ChangeCursor
from .identity import shop_identity
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
    "DAILY", "ChangeCursor", "CursorPaginator", "KeysetPaginator", "OffsetPaginator", "Page",
    "PageNumberPaginator", "Paginator", "PagingError", "WholeTable", "rows", "shop_identity",
]
