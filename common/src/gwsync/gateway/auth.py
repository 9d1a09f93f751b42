"""The per-shop HS256 token (gateway-api.md section 3 and B1)."""

from __future__ import annotations

import base64
import binascii
import importlib
import sys
import threading
import time
import uuid
from collections.abc import Callable
from types import ModuleType

from ..errors import ConfigError
from ..redact import register_secret


def _pyjwt_without_cryptography() -> ModuleType:
    """PyJWT, imported without its optional `cryptography` backend unless something loaded it already.

    We only sign HS256, which PyJWT does with the standard library's hmac. But PyJWT imports
    cryptography whenever it is installed (paramiko and the test tools install it), and its
    compiled binding costs every import process about 11 MB of RSS (bench/bench_feed.py). The
    block lasts for this one import: a later `import cryptography` (paramiko, for SFTP) works as
    usual; PyJWT just keeps its RSA and EC algorithms, which we never use, switched off."""
    if "jwt" in sys.modules or "cryptography" in sys.modules:
        return importlib.import_module("jwt")
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # PyJWT's `try: import` fails
    try:
        return importlib.import_module("jwt")
    finally:
        if sys.modules.get("cryptography", ...) is None:
            del sys.modules["cryptography"]


jwt = _pyjwt_without_cryptography()

TOKEN_LIFETIME = 3600
REFRESH_MARGIN = 300


def decode_signing_key(text: str) -> bytes:
    """The key is handed out as standard base64; the HMAC key is the decoded bytes."""
    cleaned = "".join(text.split())
    try:
        key = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("GATEWAY_SIGNING_KEY is not valid base64 text") from None
    if len(key) < 16:
        raise ConfigError("GATEWAY_SIGNING_KEY is too short (expected the 32-byte key in base64)")
    register_secret(cleaned)
    register_secret(key)
    return key


def parse_shop_guid(text: str) -> str:
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError):
        raise ConfigError("GATEWAY_SHOP_GUID is not a UUID (expected e.g. "
                          "11111111-2222-4333-8444-555555555555)") from None


def build_token(shop_guid: str, key: bytes, *, issued_at: int | None = None,
                lifetime: int | None = TOKEN_LIFETIME) -> str:
    claims: dict = {"iss": f"shop:{shop_guid}", "organization_guid": shop_guid, "groups": ["shopkeeper"]}
    if issued_at is not None:
        claims["iat"] = issued_at
        if lifetime:
            claims["exp"] = issued_at + lifetime
    token = jwt.encode(claims, key, algorithm="HS256")
    register_secret(token)
    return token


class TokenSource:
    """Hands out a valid bearer token, minting a fresh one before the old expires."""

    def __init__(self, shop_guid: str, key: bytes, clock: Callable[[], float] = time.time) -> None:
        self.shop_guid, self._key, self._clock = shop_guid, key, clock
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def header(self) -> str:
        with self._lock:
            now = self._clock()
            if now >= self._expires - REFRESH_MARGIN:
                issued = int(now)
                self._token = build_token(self.shop_guid, self._key, issued_at=issued)
                self._expires = issued + TOKEN_LIFETIME
            return f"Bearer {self._token}"
