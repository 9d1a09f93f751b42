"""Image hosting of the sandbox (B11): presigned-POST forms, loopback-only fetching."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from .errors import ApiError

FETCH_LIMIT = 20 * 1024 * 1024
FETCH_TIMEOUT = 5.0
SECRET_NAME = "storage-policy"
PLACEHOLDER_TYPE = "image/svg+xml"


def upload_form(base_url: str, shop: str, filename: str, content_type: str, secret: bytes) -> dict[str, Any]:
    """E14's answer: an S3-style presigned POST whose url ends with '/' (spec 7.1)."""
    key = f"{shop}/{uuid.uuid4()}-{filename.replace('/', '_').replace(chr(92), '_')}"
    now = datetime.now(UTC)
    policy_doc = {"expiration": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "conditions": [{"key": key}, {"Content-Type": content_type}]}
    policy = base64.b64encode(json.dumps(policy_doc).encode()).decode()
    return {
        "url": f"{base_url}/storage/",
        "fields": {
            "key": key,
            "Content-Type": content_type,
            "policy": policy,
            "x-amz-algorithm": "AWS4-HMAC-SHA256",
            "x-amz-credential": f"sandbox/{now:%Y%m%d}/local/s3/aws4_request",
            "x-amz-date": f"{now:%Y%m%dT%H%M%SZ}",
            "x-amz-signature": _sign(policy, secret),
        },
    }


def _sign(policy: str, secret: bytes) -> str:
    return hmac.new(secret, policy.encode(), hashlib.sha256).hexdigest()


def checked_upload(form: dict[str, str], secret: bytes) -> tuple[str, str]:
    """(key, content type) of an E15 form whose fields came unchanged from E14; else 403.

    Like S3, the storage refuses a form whose policy, signature or key was not
    passed on as given, which catches a client that drops fields.
    """
    policy, signature = form.get("policy", ""), form.get("x-amz-signature", "")
    if not policy or not hmac.compare_digest(_sign(policy, secret), signature):
        raise ApiError(403, "Invalid or missing policy signature: send every field of /uploads/")
    conditions = json.loads(base64.b64decode(policy))["conditions"]
    expected = {k: v for condition in conditions for k, v in condition.items()}
    if form.get("key") != expected["key"]:
        raise ApiError(403, "The key does not match the signed policy")
    return expected["key"], form.get("Content-Type") or expected["Content-Type"]


def hosted_key(shop: str, url: str) -> str:
    """E16's object key: the shop prefix and the SHA-256 of the URL as sent."""
    return f"{shop}/{hashlib.sha256(url.encode()).hexdigest()}"


def checked_source_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ApiError(400, "url: required, an http(s) URL")
    if not url.isascii() or any(c.isspace() for c in url):
        raise ApiError(400, "url: not a valid URI (RFC 3986): percent-encode spaces and non-ASCII letters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "url: only http and https URLs can be copied")
    return url


def is_loopback(url: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1, by name only (nothing is resolved)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_loopback(url: str) -> tuple[bytes, str] | None:
    """The bytes and content type behind a loopback URL, or None when it cannot be had.

    No proxies from the environment and no redirects: a redirect could lead
    off the machine, and the sandbox must never reach the internet.
    """
    if not is_loopback(url):
        return None
    with requests.Session() as session:
        session.trust_env = False
        try:
            with session.get(url, timeout=FETCH_TIMEOUT, allow_redirects=False, stream=True) as resp:
                if resp.status_code != 200:
                    return None
                data = resp.raw.read(FETCH_LIMIT + 1, decode_content=True)
                content_type = resp.headers.get("Content-Type", "application/octet-stream")
        except requests.RequestException:
            return None
    return (data, content_type) if len(data) <= FETCH_LIMIT else None


def placeholder_svg(url: str) -> bytes:
    """Served for a copied URL the sandbox did not fetch, so that pages show a box, not a break."""
    label = (urlsplit(url).hostname or "remote").replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160">'
        '<rect width="160" height="160" fill="#eef0f3"/>'
        '<text x="80" y="74" font-family="sans-serif" font-size="12" text-anchor="middle" '
        'fill="#667">not fetched</text>'
        f'<text x="80" y="94" font-family="sans-serif" font-size="10" text-anchor="middle" '
        f'fill="#889">{label[:24]}</text></svg>'
    ).encode()
