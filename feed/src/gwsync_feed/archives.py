"""`.gz` and `.zip` feeds unpacked on the fly, recognised by their bytes whatever their name.

A gzip stream is unpacked as it is read. A zip needs its directory at the end, so
a zip that is not already a local file is first copied to a temporary file on
disk (never into memory); its one member is then unpacked as it is read. An XLSX
workbook is a zip too: it is handed over whole, to the XLSX reader.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from gwsync.errors import ConfigError

from .detect import ZIP_MAGIC
from .errors import FeedError
from .streams import CHUNK, ReadIO, buffered

GZIP_MAGIC = b"\x1f\x8b"
_BROKEN = (EOFError, gzip.BadGzipFile, zipfile.BadZipFile, zlib.error)


@dataclass
class Unpacked:
    stream: io.BufferedReader | None = None  # the feed's bytes (XML or CSV)
    workbook: BinaryIO | None = None  # an XLSX file, seekable


@contextmanager
def unpack(raw: io.BufferedReader, where: str) -> Iterator[Unpacked]:
    if raw.peek(2)[:2] == GZIP_MAGIC:
        raw = buffered(ReadIO(gzip.GzipFile(fileobj=raw, mode="rb").read, _guard(where, "gzip")))
    if raw.peek(4)[:4] != ZIP_MAGIC:
        yield Unpacked(stream=raw)
        return
    with _seekable(raw) as file:
        try:
            archive = zipfile.ZipFile(file)
        except _BROKEN as exc:
            raise FeedError(f"feed {where}: the zip file is cut short or damaged ({exc})") from None
        with archive:
            if is_workbook(archive):
                file.seek(0)
                yield Unpacked(workbook=file)
                return
            member = _only_member(archive, where)
            with archive.open(member) as inner:
                yield Unpacked(stream=buffered(ReadIO(inner.read, _guard(where, "zip"))))


def is_workbook(archive: zipfile.ZipFile) -> bool:
    names = set(archive.namelist())
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names


def _only_member(archive: zipfile.ZipFile, where: str) -> zipfile.ZipInfo:
    files = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    if len(files) != 1:
        names = ", ".join(i.filename for i in files[:5]) or "nothing"
        raise ConfigError(f"feed {where}: the zip file holds {len(files)} files ({names}); "
                          "it must hold exactly one feed file")
    return files[0]


@contextmanager
def _seekable(raw: io.BufferedReader) -> Iterator[BinaryIO]:
    if raw.seekable():
        yield raw
        return
    with tempfile.TemporaryFile(prefix="gwsync-feed-") as spool:
        shutil.copyfileobj(raw, spool, CHUNK)
        spool.seek(0)
        yield spool


def _guard(where: str, kind: str):
    def guard(exc: Exception) -> Exception | None:
        if isinstance(exc, _BROKEN):
            return FeedError(f"feed {where}: the {kind} file is cut short or damaged ({exc})")
        return None
    return guard
