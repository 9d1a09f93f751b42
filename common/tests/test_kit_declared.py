"""The declared-facts rules on their own (the suite applies them to every connector)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gwsync.kit import Facts
from gwsync.testing.declared import check_facts


def test_coherent_facts_pass() -> None:
    check_facts(Facts(paging="page-number", page_size=100, row_key="id", cursor_field="updated_at",
                      time_zone="Europe/Warsaw"))
    check_facts(Facts(paging="keyset", page_size=1000, cursor_field=None, full_every=None))


@pytest.mark.parametrize("facts, words", [
    (Facts(paging="offset", page_size=50, row_key=None), "shift guard"),
    (Facts(paging="page-number", page_size=50, row_key="id", shift_guard="none"), "shift guard"),
    (Facts(paging="keyset", page_size=50, cursor_field="date_upd", full_every=timedelta(days=7)), "at least daily"),
    (Facts(paging="keyset", page_size=50, cursor_field="date_upd", full_every=None), "at least daily"),
])
def test_incoherent_facts_fail_with_the_rule(facts: Facts, words: str) -> None:
    with pytest.raises(AssertionError, match=words):
        check_facts(facts)


def test_an_unknown_time_zone_fails() -> None:
    with pytest.raises(Exception, match="Mars"):
        check_facts(Facts(paging="keyset", page_size=10, time_zone="Mars/Olympus"))
