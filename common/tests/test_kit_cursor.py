"""The incremental cursor: window, margins, time zones, DST, de-duplication, periodic full reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gwsync.connector import ReadContext
from gwsync.errors import ConfigError
from gwsync.kit import ChangeCursor, cursor_text, shop_identity

WARSAW = "Europe/Warsaw"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def cursor_for(text: str | None, *, now: datetime, clock: Clock | None = None, full: bool = False,
               **kwargs) -> ChangeCursor:
    ctx = ReadContext(cursor=text, full=full)
    return ChangeCursor(ctx, margin=kwargs.pop("margin", timedelta(minutes=2)), now=lambda: now,
                        clock=clock or Clock(), **kwargs)


def test_first_run_is_full_and_the_next_window_subtracts_duration_and_margin() -> None:
    clock = Clock()
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    cursor = cursor_for(None, now=now, clock=clock, tz=WARSAW)
    assert cursor.full and cursor.since_text() is None
    cursor.saw(1, "2026-06-01 11:50:00")  # 09:50 UTC (CEST)
    cursor.saw(2, "2026-06-01 11:55:00")
    clock.t += 180  # the read took three minutes
    text = cursor.commit()
    assert cursor.ctx.new_cursor == text
    later = cursor_for(text, now=now + timedelta(hours=1), tz=WARSAW)
    assert not later.full
    assert later.since_text() == "2026-06-01 11:50:00"  # 11:55 - 3 min - 2 min, shop-local


def test_a_window_never_moves_back_and_stays_when_nothing_changed() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    first = cursor_for(None, now=now)
    first.saw(1, "2026-06-01 09:00:00")
    text = first.commit()
    second = cursor_for(text, now=now + timedelta(hours=1))
    assert second.commit() is not None
    third = cursor_for(second.ctx.new_cursor, now=now + timedelta(hours=2))
    assert third.since_text() == "2026-06-01 08:58:00"


def test_full_read_is_forced_daily_and_on_request() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    first = cursor_for(None, now=now)
    first.saw(1, "2026-06-01 09:00:00")
    text = first.commit()
    assert not cursor_for(text, now=now + timedelta(hours=23)).full
    due = cursor_for(text, now=now + timedelta(hours=24))
    assert due.full and due.reason == "periodic"
    assert due.ctx.full  # the engine learns that this read lists the whole catalog
    assert due.decided_full and not cursor_for(None, now=now, full=True).decided_full
    assert any("full read" in note for note in due.ctx.notes)
    assert cursor_for(text, now=now, full=True).full
    hourly = cursor_for(text, now=now + timedelta(hours=2), full_every=timedelta(hours=1))
    assert hourly.full
    forced = cursor_for(text, now=now + timedelta(hours=1))
    assert not forced.ctx.full
    forced.force_full("lookups changed")
    assert forced.full and forced.since is None and forced.ctx.full


def test_an_incremental_run_keeps_the_last_full_time() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    first = cursor_for(None, now=now)
    first.saw(1, "2026-06-01 09:00:00")
    second = cursor_for(first.commit(), now=now + timedelta(hours=12))
    second.saw(1, "2026-06-01 21:00:00")
    third = cursor_for(second.commit(), now=now + timedelta(hours=24, minutes=1))
    assert third.full  # 24 hours after the FIRST (full) read, not after the incremental one


def test_unreadable_or_old_format_cursor_means_a_full_read() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert cursor_for("2026-01-01 00:00:00", now=now).full
    assert cursor_for('{"v":1,"since":"x"}', now=now).full


def test_autumn_fold_moves_the_naive_window_back_an_hour() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET in Warsaw. The window starts at 02:40 CEST (00:40 UTC);
    # the next run is at 02:30 CET (01:30 UTC): saves at 02:05 CET are later than the start.
    start = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)
    text = json.dumps({"v": 2, "since": start.isoformat(), "full_at": start.isoformat(), "seen": {},
                       "meta": {}})
    run = cursor_for(text, now=datetime(2026, 10, 25, 1, 30, tzinfo=UTC), tz=WARSAW)
    assert run.since_text() == "2026-10-25 01:40:00"
    assert run.in_window("2026-10-25 02:05:00")


def test_a_clock_change_long_after_the_window_start_moves_nothing() -> None:
    # started in May (CEST), read in November (CET): naive times after October's fold are later anyway
    start = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    text = json.dumps({"v": 2, "since": start.isoformat(), "full_at": start.isoformat(), "seen": {},
                       "meta": {}})
    run = cursor_for(text, now=datetime(2026, 5, 1, 9, 0, tzinfo=UTC), tz=WARSAW)
    assert run.since_text() == "2026-05-01 10:00:00"
    late = ChangeCursor(ReadContext(cursor=text, full=False), margin=timedelta(0), tz=WARSAW,
                        full_every=None, now=lambda: datetime(2026, 11, 30, tzinfo=UTC))
    assert late.since_text() == "2026-05-01 10:00:00"


def test_change_times_in_the_platform_zone_compare_as_instants() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    cursor = cursor_for(None, now=now, tz=WARSAW, margin=timedelta(0))
    cursor.saw(1, "2026-06-01 12:00:00")  # 10:00 UTC
    cursor.saw(2, datetime(2026, 6, 1, 9, 30, tzinfo=UTC))
    text = cursor.commit()
    assert json.loads(text)["since"] == "2026-06-01T10:00:00+00:00"


def test_boundary_items_are_deduplicated_by_id() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    first = cursor_for(None, now=now)
    first.saw("7", "2026-06-01 09:59:00")
    first.saw("8", "2026-06-01 09:00:00")  # far before the overlap: not kept
    first.meta["digest"] = "abc"
    text = first.commit()
    assert set(json.loads(text)["seen"]) == {"7"}
    second = cursor_for(text, now=now + timedelta(minutes=30))
    assert second.meta == {"digest": "abc"}
    assert not second.fresh(7, "2026-06-01 09:59:00")  # read last time with the same change time
    assert second.fresh(7, "2026-06-01 10:10:00")  # changed again
    assert second.fresh(9, "2026-06-01 09:59:00")
    assert second.fresh(10, None)  # no change time: never dropped


def test_records_without_a_change_time_are_in_the_window() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    first = cursor_for(None, now=now)
    first.saw(1, "2026-06-01 09:00:00")
    second = cursor_for(first.commit(), now=now)
    assert second.in_window(None) and second.in_window("0000-00-00 00:00:00")
    assert not second.in_window("2026-05-01 00:00:00")


def test_an_empty_source_leaves_no_cursor() -> None:
    cursor = cursor_for(None, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert cursor.commit() is None and cursor.ctx.new_cursor is None


def test_shop_identity() -> None:
    assert shop_identity("https://User:pw@Shop.Example:8443/Store/api/?k=1#x", strip_suffixes=("/api",)) \
        == "shop.example:8443/Store"
    assert shop_identity("http://shop.example/") == "shop.example"
    assert shop_identity("https://shop.example/webapi/rest", strip_suffixes=("/webapi/rest", "/webapi")) \
        == "shop.example"
    assert shop_identity("https://shop.example", qualifier="shop2") == "shop.example#shop2"
    with pytest.raises(ConfigError, match="PRESTASHOP_URL"):
        shop_identity("shop.example", setting="PRESTASHOP_URL")


def test_cursor_text_builds_a_window_in_the_shop_zone() -> None:
    text = cursor_text(datetime(2026, 3, 2, 10, 14, 55), tz=WARSAW)
    run = cursor_for(text, now=datetime.now(UTC), tz=WARSAW)
    assert not run.full and run.since_text() == "2026-03-02 10:14:55"
