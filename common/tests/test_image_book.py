"""Hosted images recorded in bulk: what waits in memory, when the state is asked, what a flush writes."""

from __future__ import annotations

import hashlib
import threading

from gwsync.image_book import DigestFilter, ImageBook
from gwsync.state import SqliteState


def digest(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def test_the_filter_never_forgets_a_digest_and_rarely_claims_one():
    seen = DigestFilter()
    for n in range(50_000):
        seen.add(digest(n))
    assert all(seen.may_contain(digest(n)) for n in range(50_000))
    claimed = sum(seen.may_contain(digest(n)) for n in range(50_000, 60_000))
    assert claimed < 100  # 2 bits of 8 Mi per digest: about 0.01 % at this fill


def test_a_first_import_looks_nothing_up_by_hash_and_writes_once_per_flush(tmp_path):
    state = SqliteState(tmp_path / "state.sqlite")
    book = ImageBook(state, flush_at=1000)
    start = state.round_trips
    assert book.url_for_digest(digest(1)) is None  # asks once whether the store holds uploads at all
    asked = state.round_trips
    for n in range(2, 50):
        assert book.url_for_digest(digest(n)) is None
    assert state.round_trips == asked == start + 1
    for n in range(50):
        book.record(f"https://shop/{n}.jpg", f"https://cdn/{digest(n)}.jpg", digest(n))
    book.record("https://shop/public.jpg", "https://cdn/copy.jpg")  # a copy: no bytes, no hash
    assert state.round_trips == asked and book.url_for_key("https://shop/7.jpg") == f"https://cdn/{digest(7)}.jpg"
    book.flush()
    assert state.round_trips == asked + 1
    assert state.images_by_keys(["https://shop/7.jpg", "https://shop/public.jpg"]) == {
        "https://shop/7.jpg": f"https://cdn/{digest(7)}.jpg", "https://shop/public.jpg": "https://cdn/copy.jpg"}
    assert book.url_for_key("https://shop/7.jpg") is None  # now the state's to answer
    assert book.url_for_digest(digest(7)) == f"https://cdn/{digest(7)}.jpg"  # uploaded this run: asked
    state.close()


def test_a_store_holding_uploads_is_asked_for_every_new_hash(tmp_path):
    state = SqliteState(tmp_path / "state.sqlite")
    state.save_images([("https://shop/old.jpg", "https://cdn/old.jpg", digest(0))])
    book = ImageBook(state)
    assert book.url_for_digest(digest(0)) == "https://cdn/old.jpg"  # the same bytes under another key
    before = state.round_trips
    assert book.url_for_digest(digest(1)) is None and state.round_trips == before + 1
    state.close()


def test_records_flush_themselves_at_the_limit_and_a_lookup_never_misses_during_a_flush(tmp_path):
    state = SqliteState(tmp_path / "state.sqlite")
    book = ImageBook(state, flush_at=10)
    misses: list[int] = []

    def look() -> None:
        for n in range(200):
            book.record(f"k{n}", f"u{n}", digest(n))
            if (book.url_for_key(f"k{n}") or state.image_by_key(f"k{n}")) != f"u{n}":
                misses.append(n)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert misses == []
    assert len(state.images_by_keys([f"k{n}" for n in range(200)])) >= 190  # the rest wait for a flush
    book.flush()
    assert len(state.images_by_keys([f"k{n}" for n in range(200)])) == 200
    state.close()
