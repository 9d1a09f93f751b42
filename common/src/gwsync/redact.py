"""Secret values are registered once and scrubbed from every log line and message."""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_QUERY_SECRET = re.compile(r"(?i)([?&](?:[a-z_]*key|token|secret|password|ws_key)=)[^&\s\"']+")
# "Bearer <credential>", not the words "bearer token(s)" of a message naming a setting
_BEARER = re.compile(r"(?i)(bearer\s+)(?!tokens?\b)[A-Za-z0-9._~+/=-]+")

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | bytes | None) -> None:
    """Remember a secret so that `redact` hides it wherever it appears."""
    if not value:
        return
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    if len(text) >= 4:
        with _lock:
            _secrets.add(text)


def redact(text: object) -> str:
    out = str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        out = out.replace(secret, MASK)
    out = _QUERY_SECRET.sub(rf"\1{MASK}", out)
    return _BEARER.sub(rf"\1{MASK}", out)


class RedactingFilter(logging.Filter):
    """Scrubs the final message of every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
