"""File-like adapters: chunks, reads or archives become one buffered, peekable byte stream.

Each adapter turns its source's failure (a broken download, a damaged archive) into
one clear error instead of a traceback, and none of them holds more than a chunk.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

CHUNK = 64 * 1024


class ReadIO(io.RawIOBase):
    """`read(n) -> bytes` as a raw stream; `guard` turns the source's exceptions into ours."""

    def __init__(self, read: Callable[[int], bytes],
                 guard: Callable[[Exception], Exception | None] = lambda exc: None) -> None:
        self._read = read
        self._guard = guard

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._read(len(buffer))
        except Exception as exc:
            mapped = self._guard(exc)
            if mapped is None:
                raise
            raise mapped from None
        buffer[: len(data)] = data
        return len(data)


class ChunkIO(io.RawIOBase):
    """A file-like view of an iterator of chunks: the parser pulls, the download follows."""

    def __init__(self, chunks: Iterator[bytes],
                 guard: Callable[[Exception, int], Exception | None] = lambda exc, received: None) -> None:
        self._chunks = chunks
        self._guard = guard
        self._pending = memoryview(b"")
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._next_chunk()
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self.received += count
        return count

    def _next_chunk(self) -> bytes | None:
        try:
            return next(self._chunks)
        except StopIteration:
            return None
        except Exception as exc:
            mapped = self._guard(exc, self.received)
            if mapped is None:
                raise
            raise mapped from None


def buffered(raw: io.RawIOBase) -> io.BufferedReader:
    return io.BufferedReader(raw, buffer_size=CHUNK)
