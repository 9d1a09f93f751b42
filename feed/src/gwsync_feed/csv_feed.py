"""Streaming CSV: bytes -> decoded lines -> rows, with the delimiter and encoding worked out.

Encodings: `utf-8` (a BOM is dropped), `cp1250` (Windows ERP exports), or `auto`
(the default): UTF-8 until a line is not valid UTF-8, then cp1250 from that line on
(Polish cp1250 text is practically never valid UTF-8, so the switch is safe, and it
works on a stream without reading the file twice; lines before the switch are
ASCII, the same in both). Auto is the default because a vendor rarely knows the
encoding of an export, and a wrong guess found at line 5,000 would stop the run.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Iterator
from typing import BinaryIO

from gwsync.errors import ConfigError

from .errors import FeedError

log = logging.getLogger(__name__)
ENCODINGS = ("utf-8", "cp1250", "auto")
DELIMITERS = {";": ";", ",": ",", "tab": "\t", "\\t": "\t", "\t": "\t"}
_BOM = "\ufeff"
MAX_LINE = 16 * 1024 * 1024  # long HTML descriptions fit; a file without line breaks does not
csv.field_size_limit(MAX_LINE)


def normalise_encoding(value: str | None) -> str:
    name = (value or "auto").strip().lower().replace("_", "-")
    name = {"utf8": "utf-8", "utf-8-sig": "utf-8", "windows-1250": "cp1250", "win1250": "cp1250"}.get(name, name)
    if name not in ENCODINGS:
        raise ConfigError(f"FEED_CSV_ENCODING: {value!r} is not supported; use utf-8, cp1250 or auto")
    return name


def normalise_delimiter(value: str | None) -> str | None:
    """None means: detect from the header line."""
    if value is None or value.strip().lower() in ("", "auto"):
        return None
    key = value if value == "\t" else value.strip().lower()
    if key not in DELIMITERS:
        raise ConfigError(f"FEED_CSV_DELIMITER: {value!r} is not supported; use ;  ,  tab or auto")
    return DELIMITERS[key]


def decode_lines(stream: BinaryIO, encoding: str, where: str) -> Iterator[str]:
    current = "utf-8" if encoding == "auto" else encoding
    for number, raw in enumerate(iter(lambda: stream.readline(MAX_LINE + 1), b""), start=1):
        if len(raw) > MAX_LINE:
            raise ConfigError(f"CSV {where}: line {number} is longer than 16 MB; is this a CSV file?")
        if current == "utf-8":
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                if encoding != "auto":
                    raise ConfigError(f"CSV {where}: line {number} is not UTF-8; "
                                      "set FEED_CSV_ENCODING to cp1250 or auto") from None
                log.info("CSV %s: line %d is not UTF-8; reading it and the rest as cp1250", where, number)
                current = "cp1250"
        if current == "cp1250":  # five bytes are unassigned in cp1250: shown as U+FFFD, not fatal
            line = raw.decode("cp1250", errors="replace")
        yield line[1:] if number == 1 and line.startswith(_BOM) else line


def detect_delimiter(header: str) -> str:
    """The most frequent of ; , and tab in the header line (comma when none)."""
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_rows(stream: BinaryIO, encoding: str, delimiter: str | None,
              where: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) from the header row on; the header comes first, blank lines are passed over."""
    lines = decode_lines(stream, encoding, where)
    blank = 0  # leading blank lines: the delimiter is guessed from the header, line numbers count them
    for first in lines:
        if first.strip():
            break
        blank += 1
    else:
        raise FeedError(f"CSV {where}: the file is empty (expected a header row)")
    ending = _LastLine(itertools.chain([first], lines))
    reader = csv.reader(ending, delimiter=delimiter or detect_delimiter(first))
    width, held = 0, None  # the last row waits: only the end of the file tells whether it is whole
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if held is not None:
                    yield held
                width = width or len(cells)
                held = (blank + reader.line_num, cells)
    except csv.Error as exc:
        raise FeedError(f"CSV {where}: unreadable at line {blank + reader.line_num}: {exc}") from None
    if held is not None and held[0] > blank + 1 and not ending.complete and len(held[1]) < width:
        raise FeedError(f"CSV {where}: the file is cut short (line {held[0]} stops part-way, without "
                        "a line break): an export still being written or a broken transfer")
    if held is not None:
        yield held


class _LastLine:
    """Passes lines through and remembers whether the last one ended with a line break."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.complete = True

    def __iter__(self) -> _LastLine:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.complete = line.endswith(("\n", "\r"))
        return line
