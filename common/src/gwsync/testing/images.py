"""Small valid images for fakes and tests, made in code (no binary fixtures needed)."""

from __future__ import annotations

import struct
import zlib


def png(rgb: tuple[int, int, int] = (0, 128, 255), size: int = 2) -> bytes:
    """A `size` x `size` PNG of one colour: different colours give different bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size))
            + chunk(b"IEND", b""))
