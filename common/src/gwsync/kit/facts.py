"""A connector's declared facts: how its platform pages, when things change, how fast to go.

Each connector states them once, as `facts = Facts(...)` on its class, and builds its
paginators and cursor from them; the standard suite checks them (`gwsync.testing.declared`):
that a listing paged by position is read with the shift guard on, that the paginator
the read really uses is the declared kind, and that the cursor is the kit's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from .cursor import DAILY, ChangeCursor
from ..connector import ReadContext

Paging = Literal["page-number", "offset", "keyset", "cursor", "whole-table"]
POSITION_PAGING = ("page-number", "offset")  # a row deleted mid-read shifts the rest: needs the guard


@dataclass(frozen=True)
class Facts:
    """What is true of the platform, not of one shop.

    paging: how the product listing is paged; `page_size` the size asked for.
    row_key: the field that names a listing row (de-duplication and the shift guard).
    shift_guard: for paging by position, how a deletion mid-read is caught:
        "count" (the listing's total drops: step back and read again), or "none" only
        when the platform's listing cannot change during a read (a snapshot).
    cursor_field / time_zone / margin / full_every: the incremental window (`ChangeCursor`);
        `cursor_field=None` for a platform read whole every run.
    rate_limit: calls per second the connector allows itself.
    """

    paging: Paging
    page_size: int = 0  # the size asked for; 0 for a whole table in one answer
    row_key: str | None = None
    shift_guard: Literal["count", "none"] = "count"
    cursor_field: str | None = None
    time_zone: str = "UTC"
    margin: timedelta = timedelta(minutes=2)
    full_every: timedelta | None = DAILY
    rate_limit: float | None = None

    def cursor(self, ctx: ReadContext, *, what: str = "", time_zone: str | None = None) -> ChangeCursor:
        """The run's `ChangeCursor` with the declared window (a shop may name its own zone)."""
        return ChangeCursor(ctx, margin=self.margin, tz=time_zone or self.time_zone, full_every=self.full_every,
                            what=what)
