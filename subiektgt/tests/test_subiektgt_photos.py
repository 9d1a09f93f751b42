"""Photo BLOBs on demand: batches follow the read order of new products, never known ones."""

from __future__ import annotations

import pytest

from gwsync.images import BrokenImage
from gwsync_subiektgt.mapping import Photo
from gwsync_subiektgt.photos import PhotoFetcher


class Blobs:
    def __init__(self, missing=()):
        self.queries: list[list[int]] = []
        self.missing = set(missing)

    def photo_bytes(self, ids):
        self.queries.append(list(ids))
        return {i: f"photo {i}".encode() for i in ids if i not in self.missing}


def photos(*ids, empty=()):
    return [Photo(i, i * 10, i in empty) for i in ids]


def test_a_new_products_photo_brings_the_next_new_ones_in_one_query():
    db = Blobs()
    fetcher = PhotoFetcher(db, batch=3)
    fetcher.expect(photos(1, 2), prefetch=True)
    fetcher.expect(photos(3), prefetch=False)  # a known product: its photos are not guessed at
    fetcher.expect(photos(4, 5, 6), prefetch=True)
    assert [fetcher.get(i) for i in (1, 2, 4)] == [b"photo 1", b"photo 2", b"photo 4"]
    assert fetcher.get(3) == b"photo 3" and fetcher.get(5) == b"photo 5"
    assert db.queries == [[1, 2, 4], [3], [5, 6]]


def test_an_empty_or_vanished_photo_is_a_broken_image_with_its_reason():
    db = Blobs(missing={8})
    fetcher = PhotoFetcher(db)
    fetcher.expect(photos(7, 8, empty={7}), prefetch=True)
    with pytest.raises(BrokenImage, match="NULL"):
        fetcher.get(7)
    with pytest.raises(BrokenImage, match="no longer in Subiekt"):
        fetcher.get(8)
    assert db.queries == [[8]]  # the NULL photo costs no query
