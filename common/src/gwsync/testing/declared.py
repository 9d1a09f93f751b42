"""Standard-suite check of a connector's declared facts (`gwsync.kit.Facts`).

Mixed into `ConnectorSuite`. A connector built on the kit declares `facts` on its class;
one real read against its fake platform then holds it to them: the paginator the read
uses is the declared kind, a listing paged by position is read with the shift guard on
(a row key), the window lives in the kit's cursor, and the facts themselves make sense
(a full read at least daily for an incremental platform, a real time zone).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from ..connector import Connector, ReadContext
from ..kit import POSITION_PAGING, Facts
from ..kit import pagination as kit_pagination
from .fake import FakePlatform

KINDS = {"page-number": kit_pagination.PageNumberPaginator, "offset": kit_pagination.OffsetPaginator,
         "keyset": kit_pagination.KeysetPaginator, "cursor": kit_pagination.CursorPaginator,
         "whole-table": kit_pagination.WholeTable}
DECLARE = ("declare the platform's facts on the connector class: facts = gwsync.kit.Facts(paging=..., "
           "page_size=..., row_key=..., cursor_field=..., time_zone=..., margin=...)")


def check_facts(facts: Facts) -> None:
    """The facts make sense on their own."""
    assert facts.paging in KINDS and (facts.paging == "whole-table" or facts.page_size > 0)
    if facts.paging in POSITION_PAGING:
        # a row deleted mid-read shifts every later row up: without the guard one is never seen
        assert facts.shift_guard == "count" and facts.row_key, (
            "a listing paged by position needs the shift guard (shift_guard='count') and a row_key")
    ZoneInfo(facts.time_zone)  # a real zone name, or this raises
    assert facts.margin >= timedelta(0)
    if facts.cursor_field is not None:
        assert facts.full_every is not None and facts.full_every <= timedelta(days=1), (
            "an incremental platform needs a full read at least daily (deletions a window cannot see)")


class DeclaredFactsChecks:
    connector: ClassVar[type[Connector]]

    def test_reads_as_its_declared_facts_say(self, fake: FakePlatform, monkeypatch: pytest.MonkeyPatch) -> None:
        facts = getattr(self.connector, "facts", None)
        made: list[kit_pagination.Paginator] = []
        original = kit_pagination.Paginator.__init__

        def recording(pager: Any, *args: Any, **kwargs: Any) -> None:
            original(pager, *args, **kwargs)
            made.append(pager)

        monkeypatch.setattr(kit_pagination.Paginator, "__init__", recording)
        fake.seed(5)
        connector = self.connector(fake.config())
        ctx = ReadContext()
        try:
            assert list(connector.read(ctx)), "the fake catalog must yield products"
        finally:
            connector.close()
        kit_cursor = _is_kit_cursor(ctx.new_cursor)
        if facts is None:  # not on the kit (yet): nothing of it may be used undeclared
            assert not made and not kit_cursor, DECLARE
            return
        assert isinstance(facts, Facts), DECLARE
        check_facts(facts)
        kinds = {type(p) for p in made}
        assert KINDS[facts.paging] in kinds, (
            f"the read used {sorted(k.__name__ for k in kinds)}, not the declared {facts.paging} paginator")
        for pager in made:
            if isinstance(pager, kit_pagination._PositionPaginator):
                assert pager.key is not None, f"{pager.what}: paged by position without a row key (no shift guard)"
        if facts.cursor_field is not None:
            assert kit_cursor, "an incremental connector keeps its window in the kit's ChangeCursor"


def _is_kit_cursor(text: str | None) -> bool:
    try:
        return isinstance(text, str) and json.loads(text).get("v") == 2
    except (ValueError, AttributeError):
        return False
