"""Large transient buffers go back to the system when freed (glibc), so they cannot pile up as RSS.

A batch of creates builds and parses buffers of a few hundred kB on each worker thread
(the request body, the answer, its text). glibc starts by mapping buffers that large
and unmapping them when freed, but after the first such free it raises its threshold
("dynamic mmap threshold") and serves the next ones from the thread's heap arena,
where what is freed is kept: measured with malloc_info on bench/bench_feed.py, the
four worker arenas grew to 14 MB, 11 MB of it free, and peak RSS rose ~12 MB over a
10,000-product import. A fixed threshold keeps them mapped and returned on free; the
cost is one mmap/munmap per large buffer, a few per Gateway batch. Elsewhere (macOS,
musl) this does nothing; an operator's own MALLOC_MMAP_THRESHOLD_ wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
LARGE_BUFFER = 64 * 1024  # bytes; every Gateway batch buffer is larger, a product's payload is smaller


def return_large_buffers(threshold: int = LARGE_BUFFER) -> bool:
    """Ask glibc to map buffers of `threshold` bytes or more and unmap them when freed.
    True when it took effect; False off glibc or when the operator set the threshold."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
