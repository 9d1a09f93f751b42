"""Shop tokens (spec 3, B1): HS256 with the shop's base64-decoded key."""

from __future__ import annotations

from collections.abc import Callable

import jwt

from .errors import ApiError

ISSUER_PREFIX = "shop:"
REQUIRED_GROUP = "shopkeeper"


def bearer_token(header: str | None) -> str:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Missing bearer token")
    return token.strip()


def authenticate(header: str | None, key_for: Callable[[str], bytes | None]) -> str:
    """The shop guid the token speaks for; ApiError(401) for any token problem."""
    token = bearer_token(header)
    shop = _claimed_shop(token)
    key = key_for(shop)
    if key is None:
        raise ApiError(401, f"Unknown shop {shop}")
    claims = _verified_claims(token, key)
    if str(claims.get("organization_guid", "")).lower() != shop:
        raise ApiError(401, "Token organization_guid does not match its issuer")
    groups = claims.get("groups")
    if not isinstance(groups, list) or REQUIRED_GROUP not in groups:
        raise ApiError(401, f"Token groups must contain {REQUIRED_GROUP!r}")
    return shop


def _claimed_shop(token: str) -> str:
    """The guid in `iss`, read before verification only to pick the key."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise ApiError(401, "Token is malformed") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer.startswith(ISSUER_PREFIX):
        raise ApiError(401, "Token iss must be 'shop:<guid>'")
    return issuer[len(ISSUER_PREFIX):].lower()


def _verified_claims(token: str, key: bytes) -> dict:
    try:
        # exp is checked when present and not required (B1); aud is not ours to judge.
        return jwt.decode(token, key, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "Token has expired") from None
    except jwt.InvalidSignatureError:
        raise ApiError(401, "Token signature is invalid") from None
    except jwt.InvalidTokenError as exc:
        raise ApiError(401, f"Token is invalid: {exc}") from None
