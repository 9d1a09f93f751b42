"""A table answer of Selly's table API: base64 text of a JSON array, sometimes damaged at the end.

Recorded in 2020: answers now and then carried garbage after the JSON (bytes that are not
UTF-8 after the closing `]`), and base64 decoding occasionally failed. The 2020 importer cut
the text at the first `]`, which breaks on any nested array or a `]` inside a string. Here the
answer is decoded, then parsed as the longest valid JSON value at its start
(`json.JSONDecoder.raw_decode`); what follows it is reported as trailing garbage. An answer
whose JSON itself is cut short cannot be repaired: `DamagedAnswer`, and the caller asks again.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")
_DECODER = json.JSONDecoder()


class DamagedAnswer(ValueError):
    """The answer holds no complete JSON array; the message says what was wrong."""


@dataclass(frozen=True)
class Table:
    rows: list[dict[str, Any]]
    trailing_bytes: int = 0  # garbage after the JSON (0 for a clean answer)


def decode_table(body: bytes) -> Table:
    """Rows of one table answer; raises DamagedAnswer when no complete JSON array can be read."""
    body = body.strip()
    # base64 text never starts with "[": a plain JSON answer is read as it is
    raw, used = (body, len(body)) if body[:1] == b"[" else _base64_prefix(body)
    text, undecodable = _utf8_prefix(raw)
    start = len(text) - len(text.lstrip())
    try:
        value, end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise DamagedAnswer(f"no complete JSON in the decoded answer ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise DamagedAnswer(f"expected a JSON array of rows, got {type(value).__name__}")
    trailing = len(text[end:].strip().encode("utf-8")) + undecodable + len(body) - used
    return Table(rows=value, trailing_bytes=trailing)


def _base64_prefix(body: bytes) -> tuple[bytes, int]:
    """The bytes encoded by the answer (or by its longest decodable start when its end is
    damaged), and how many characters of the answer that was."""
    if not body:
        raise DamagedAnswer("empty answer")
    try:
        return base64.b64decode(body, validate=True), len(body)
    except binascii.Error:
        pass
    # Garbage after the base64 text: decode the clean run of base64 characters before it, in
    # whole 4-character groups (a partial group at the end is damage, not data).
    bad = _NOT_BASE64.search(body)
    clean = body[: bad.start()] if bad else body
    if b"=" in clean:
        clean = clean[: clean.index(b"=")]
        clean += b"=" * (-len(clean) % 4)
    else:
        clean = clean[: len(clean) - len(clean) % 4]
    try:
        return base64.b64decode(clean, validate=True), len(clean)
    except binascii.Error as exc:
        raise DamagedAnswer(f"not base64 ({exc})") from None


def _utf8_prefix(raw: bytes) -> tuple[str, int]:
    """The text before the first byte that is not UTF-8, and how many bytes were left out."""
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError as exc:
        return raw[: exc.start].decode("utf-8"), len(raw) - exc.start
