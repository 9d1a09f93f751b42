"""The incremental cursor every connector uses: a change-time window with its safety margins.

A platform stamps each product with a change time (`date_upd`, `edit_date`,
`modification_time`, ...), usually naive and in the shop's own time zone. One
run reads the products changed at or after the window start; the next window
starts at the newest change time this run saw, moved back by

- the read's own duration: a product saved while its page was already read
  carries a time earlier than the newest one read later in the same run, and
  only the shop's clock is compared with itself (a skewed local clock does not
  matter);
- the platform's declared `margin` (saves in progress, one-second granularity);
- a daylight-saving fold: when the shop's clocks went back between the window
  start and now, an hour of naive times repeats, so the naive query starts an
  hour earlier (the window itself is kept as a UTC instant).

Products read again in the overlap cost payload only; with `fresh()` the
connector drops the ones seen last time with the same change time (boundary
de-duplication by id). A full read is forced every `full_every` (default a
day) so that deletions a listing does not show, and anything a change time
misses, are always caught. The whole cursor is one JSON string, the engine's
`ReadContext.cursor` in and `ReadContext.new_cursor` out.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from ..connector import ReadContext

log = logging.getLogger(__name__)

VERSION = 2
DAILY = timedelta(days=1)
FOLD_HORIZON = timedelta(hours=2)  # longer than any clock change: a fold later than this cannot matter
NAIVE_FORMAT = "%Y-%m-%d %H:%M:%S"


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


class ChangeCursor:
    """One read's incremental window. Build it at the start of `read()`, before the first call.

        cursor = ChangeCursor(ctx, tz="Europe/Warsaw", margin=timedelta(minutes=2))
        if cursor.full: ...read everything...
        else: ...read changed since cursor.since_text()...
        for row in rows: cursor.saw(row["id"], row["date_upd"])
        cursor.commit()   # sets ctx.new_cursor

    `meta` is a dict the connector may fill with its own facts (a digest of
    lookups, fingerprints); it is stored in the cursor and comes back next run.
    """

    def __init__(self, ctx: ReadContext, *, margin: timedelta, tz: str | tzinfo = "UTC",
                 time_format: str = NAIVE_FORMAT, full_every: timedelta | None = DAILY,
                 what: str = "", now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self.margin = margin
        self.tz = _zone(tz)
        self.time_format = time_format
        self.full_every = full_every
        self.what = what or "incremental read"
        self._now = now
        self._clock = clock
        self._started = clock()
        self._started_at = now()
        self._newest: datetime | None = None
        self._boundary: dict[str, str] = {}  # id -> change time, this run
        stored = None if ctx.full else self._load(ctx.cursor)
        self._stored = stored
        self.meta: dict[str, Any] = dict(stored.get("meta") or {}) if stored else {}
        self._since: datetime | None = _instant(stored.get("since")) if stored else None
        self._full_at: datetime | None = _instant(stored.get("full_at")) if stored else None
        self._seen_before: dict[str, str] = dict(stored.get("seen") or {}) if stored else {}
        self.engine_full = ctx.full  # what the engine asked for, before this cursor decides
        self.reason = self._full_reason(stored)
        if self.reason is not None:
            ctx.full = True  # tell the engine: this read lists the whole catalog (a complete listing)

    # -- the decision ---------------------------------------------------------------

    @property
    def full(self) -> bool:
        """True when this run must read everything (see `reason`)."""
        return self.reason is not None

    @property
    def decided_full(self) -> bool:
        """A full read the engine did not ask for (daily, forced, unreadable cursor).

        The engine reads `ctx.full` again when the read ends, so such a read counts as the
        complete listing it is (a `Present(product_ids=())` at its end says the same, harmlessly).
        """
        return self.full and not self.engine_full

    def force_full(self, reason: str) -> None:
        """The connector knows better (its lookups changed): read everything this run."""
        if self.reason is None:
            self.reason = reason
            self.ctx.full = True
            self.ctx.notes.append(f"{self.what}: full read ({reason})")

    def _full_reason(self, stored: Mapping[str, Any] | None) -> str | None:
        if self.ctx.full:
            return "asked for"
        if stored is None or self._since is None:
            return "no usable cursor"
        if self.full_every is not None and (
                self._full_at is None or self._started_at - self._full_at >= self.full_every):
            self.ctx.notes.append(f"{self.what}: full read (the last one is older than {self.full_every})")
            return "periodic"
        return None

    # -- the window -----------------------------------------------------------------

    @property
    def since(self) -> datetime | None:
        """The window start as an aware instant; None on a full read."""
        return None if self.full else self._since

    def since_local(self) -> datetime | None:
        """The window start as the naive shop-local time to compare change times with.

        When the shop's clocks go back shortly after the window start, the naive times
        just after the fold are earlier than the start's own: start earlier by the fold.
        A fold long after the start needs nothing (naive times there are later anyway).
        """
        since = self.since
        if since is None:
            return None
        local = since.astimezone(self.tz)
        fold = local.utcoffset() - (since + FOLD_HORIZON).astimezone(self.tz).utcoffset()
        naive = local.replace(tzinfo=None)
        return naive - fold if fold > timedelta(0) else naive

    def since_text(self, time_format: str | None = None) -> str | None:
        since = self.since_local()
        return None if since is None else since.strftime(time_format or self.time_format)

    # -- records ----------------------------------------------------------------------

    def parse(self, value: Any) -> datetime | None:
        """A platform change time (naive shop-local text, or a datetime) as an aware instant."""
        if isinstance(value, datetime):
            moment = value
        else:
            text = str(value or "").strip()
            if not text or text.startswith("0000"):
                return None
            try:
                moment = datetime.strptime(text[:19], self.time_format)
            except ValueError:
                try:
                    moment = datetime.fromisoformat(text)
                except ValueError:
                    return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        return moment.astimezone(UTC)

    def in_window(self, value: Any) -> bool:
        """Whether a change time falls in this run's window (always on a full read).

        For platforms whose filter is coarser than the window (IdoSell filters whole days).
        A record without a change time is in the window: read it rather than miss it.
        """
        since = self.since_local()
        moment = self.parse(value)
        if since is None or moment is None:
            return True
        return moment.astimezone(self.tz).replace(tzinfo=None) >= since

    def saw(self, item_id: Any, value: Any) -> None:
        """Record a product read in this run, with its change time."""
        moment = self.parse(value)
        if moment is None:
            return
        if self._newest is None or moment > self._newest:
            self._newest = moment
        self._boundary[str(item_id)] = moment.isoformat()

    def fresh(self, item_id: Any, value: Any) -> bool:
        """False for a product the last run already read with this very change time (the overlap)."""
        moment = self.parse(value)
        if moment is None:
            return True
        return self._seen_before.get(str(item_id)) != moment.isoformat()

    # -- the next cursor -----------------------------------------------------------------

    def next_since(self) -> datetime | None:
        """Newest change seen, minus the read's duration and the margin; never before the old start."""
        if self._newest is None:
            return None if self.full else self._since
        took = timedelta(seconds=max(0.0, self._clock() - self._started))
        start = self._newest - took - self.margin
        if not self.full and self._since is not None:
            start = max(start, self._since)
        return start

    def commit(self) -> str | None:
        """Serialise the next cursor into `ctx.new_cursor` (the engine stores it after a complete run)."""
        since = self.next_since()
        if since is None:
            self.ctx.new_cursor = None
            return None
        full_at = self._started_at if self.full else self._full_at
        boundary = {k: v for k, v in self._boundary.items() if _instant(v) >= since}
        if not self.full:  # products of the overlap not re-read this run keep their entry
            boundary = {**{k: v for k, v in self._seen_before.items() if _instant(v) >= since}, **boundary}
        self.ctx.new_cursor = json.dumps({
            "v": VERSION, "since": since.isoformat(), "full_at": full_at.isoformat() if full_at else None,
            "seen": boundary, "meta": self.meta}, separators=(",", ":"), sort_keys=True)
        return self.ctx.new_cursor

    def _load(self, text: str | None) -> dict[str, Any] | None:
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("v") != VERSION or _instant(data.get("since")) is None:
            log.info("%s: the stored cursor is from another version; reading everything once", self.what)
            return None
        return data


def _instant(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def cursor_text(since: datetime, *, full_at: datetime | None = None, tz: str | tzinfo = "UTC",
                meta: Mapping[str, Any] | None = None) -> str:
    """A stored cursor whose window starts at `since` (naive: in `tz`); for tests and migrations."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=_zone(tz))
    full_at = full_at or datetime.now(UTC)
    return json.dumps({"v": VERSION, "since": since.astimezone(UTC).isoformat(),
                       "full_at": full_at.astimezone(UTC).isoformat(), "seen": {}, "meta": dict(meta or {})},
                      separators=(",", ":"), sort_keys=True)
