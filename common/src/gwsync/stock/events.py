"""The Gateway's stock events (gateway-api.md B17): their shape and their signature.

Signed like Stripe's webhooks: `Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
of "<t>.<raw body>">` with the shop's signing key. Several `v1` values may be present
(a key being rotated); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TOLERANCE = 300  # seconds between the signature's t and our clock, either way
HEADER = "Gateway-Signature"


class Refused(Exception):
    """The request is not a genuine, fresh event for a shop we serve (answer 401 or 400)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class StockChange(_Model):
    product_guid: str = Field(min_length=1)
    sku: str | None = None
    delta: int
    stock_level: int | None = None
    reason: str = "order"
    order_id: str | None = None


class StockEvent(_Model):
    id: str = Field(min_length=1, max_length=200)
    type: Literal["stock.changed"]
    created: datetime
    data: StockChange


def sign(body: bytes, key: bytes, timestamp: int) -> str:
    """The header value for `body` (the sandbox sends events signed with this)."""
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(header: str | None, body: bytes, key: bytes, now: float) -> None:
    """Raise `Refused` unless the header signs `body` with `key` within the tolerance."""
    if not header:
        raise Refused(f"missing {HEADER} header")
    parts = [item.strip().partition("=") for item in header.split(",")]
    stamps = [value for name, _, value in parts if name == "t"]
    signatures = [value for name, _, value in parts if name == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        raise Refused(f"malformed {HEADER} header")
    timestamp = int(stamps[0])
    if abs(now - timestamp) > TOLERANCE:
        raise Refused("signature timestamp too far from now (replayed or a wrong clock)")
    expected = sign(body, key, timestamp).rpartition("v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise Refused("signature does not match")


def parse(body: bytes) -> StockEvent:
    try:
        return StockEvent.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        reason = exc.errors(include_url=False)[0]["msg"] if isinstance(exc, ValidationError) else "not JSON"
        raise Refused(f"not a stock event: {reason}", status=400) from None
