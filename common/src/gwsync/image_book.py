"""The record of hosted images (source key -> URL, content hash -> URL), written in bulk.

A first import hosts thousands of images; recorded one at a time, with a lookup by content
hash before each upload, they cost two state round trips each (issue 18). Here a new mapping
waits in memory until `flush`, which the engine calls before a create batch is sent and with
each batch of update saves (and at FLUSH_AT mappings): one round trip for many. A crash loses at
most the mappings not flushed yet; the next run uploads those images again (an unreferenced
file in the Gateway's storage), never a wrong or a duplicate product.

The lookup by hash asks the state only when it may know the hash: when the store held
uploads as the run began, or for a hash this run uploaded (the filter below).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .state import StateStore
from .unrecorded import Unrecorded

FLUSH_AT = 200


class DigestFilter:
    """SHA-256 digests in a fixed 1 MiB bitmap, two bits each taken from the digest itself (its
    bits are uniform): `may_contain` can be wrong when it says yes, never when it says no."""

    BITS = 1 << 23

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS // 8)

    def _positions(self, digest: str) -> tuple[int, int]:
        return int(digest[:6], 16) % self.BITS, int(digest[6:12], 16) % self.BITS

    def add(self, digest: str) -> None:
        for bit in self._positions(digest):
            self._bits[bit >> 3] |= 1 << (bit & 7)

    def may_contain(self, digest: str) -> bool:
        return all(self._bits[bit >> 3] >> (bit & 7) & 1 for bit in self._positions(digest))


class ImageBook:
    """Thread-safe; one per run, beside the `ImageService` that hosts the images."""

    def __init__(self, state: StateStore, flush_at: int = FLUSH_AT) -> None:
        self.state, self.flush_at = state, flush_at
        self._new: Unrecorded[str, tuple[str, str | None]] = Unrecorded()  # cache key -> (url, sha256)
        self._uploaded = DigestFilter()
        self._state_had_blobs: bool | None = None  # asked once, at the first lookup by hash
        self._lock = threading.Lock()

    def url_for_key(self, cache_key: str) -> str | None:
        """A mapping this run recorded and has not flushed yet (the state holds the rest)."""
        entry = self._new.get(cache_key)
        return entry[0] if entry else None

    def urls_for_keys(self, cache_keys: Iterable[str]) -> dict[str, str]:
        return {key: url for key, (url, _) in self._new.some(cache_keys).items()}

    def url_for_digest(self, digest: str) -> str | None:
        """Where these bytes were uploaded before, by this run or an earlier one."""
        mine = self._new.find(lambda entry: entry[1] == digest)
        if mine:
            return mine[1][0]
        with self._lock:
            if self._state_had_blobs is None:
                self._state_had_blobs = self.state.has_image_blobs()
            ask = self._state_had_blobs or self._uploaded.may_contain(digest)
        return self.state.image_by_hash(digest) if ask else None

    def record(self, cache_key: str, url: str, digest: str | None = None) -> None:
        if digest:
            with self._lock:
                self._uploaded.add(digest)
        if self._new.put(cache_key, (url, digest)) >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        """Write what is recorded in one transaction; lookups see it throughout (memory, then state)."""
        self._new.flush(lambda rows: self.state.save_images([(key, url, digest) for key, (url, digest) in rows]))
