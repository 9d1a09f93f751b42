"""Photo BLOBs on demand, a few per query.

The engine asks for a photo only when its key (`zd_Id` + `zd_CRC`) was never uploaded.
A photo of a product the Gateway does not know yet is likely followed by more unknown
ones (a first import, a new model), so the query that fetches it also fetches the next
few such photos in read order; the photos of known products come one query each (a
changed CRC). At most a few batches of bytes are held at any time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from gwsync.images import BrokenImage

from .database import PHOTO_BATCH, SubiektDatabase
from .mapping import Photo

HELD = 4 * PHOTO_BATCH  # prefetched photos kept at most (a product skipped never asks for its own)


class PhotoFetcher:
    def __init__(self, db: SubiektDatabase, batch: int = PHOTO_BATCH) -> None:
        self.db = db
        self.batch = batch
        self._lock = threading.Lock()
        self._order: list[int] = []  # photos worth prefetching, in the order products were yielded
        self._position: dict[int, int] = {}
        self._empty: set[int] = set()
        self._asked: set[int] = set()  # fetched once already (prefetched or asked)
        self._held: dict[int, bytes | None] = {}

    def expect(self, photos: Sequence[Photo], prefetch: bool) -> None:
        """Photos of a product about to be yielded; `prefetch` when its product is new to the Gateway."""
        with self._lock:
            for photo in photos:
                if photo.empty:
                    self._empty.add(photo.photo_id)
                elif prefetch and photo.photo_id not in self._position:
                    self._position[photo.photo_id] = len(self._order)
                    self._order.append(photo.photo_id)

    def get(self, photo_id: int) -> bytes:
        if photo_id in self._empty:
            raise BrokenImage("the photo is empty in Subiekt (zd_Zdjecie is NULL)")
        with self._lock:
            if photo_id not in self._held:
                self._fetch([photo_id, *self._next_after(photo_id)])
            blob = self._held.pop(photo_id, None)
        if blob is None:
            raise BrokenImage("the photo is no longer in Subiekt (deleted since the read)")
        return blob

    def _next_after(self, photo_id: int) -> list[int]:
        start = self._position.get(photo_id)
        if start is None:
            return []
        following = []
        for candidate in self._order[start + 1:]:
            if len(following) >= self.batch - 1:
                break
            if candidate not in self._asked:
                following.append(candidate)
        return following

    def _fetch(self, photo_ids: list[int]) -> None:
        found = self.db.photo_bytes(photo_ids)
        self._asked.update(photo_ids)
        for photo_id in photo_ids:
            self._held[photo_id] = found.get(photo_id)
        while len(self._held) > HELD:  # oldest first: dicts keep insertion order
            self._held.pop(next(iter(self._held)))
