"""The shop identity every connector writes into `data.source.shop`.

It must be stable for the life of a shop (a different identity means new
Gateway products), so it keeps exactly what names the source: the host in
lower case, the port when one was typed, and the path (a shop in a folder).
User info, query and fragment never enter it (they may carry credentials).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import ConfigError


def shop_identity(url: str, *, strip_suffixes: tuple[str, ...] = (), setting: str = "the shop URL",
                  qualifier: str | None = None) -> str:
    """`https://User:pw@Shop.Example:8443/store/api/?x=1` -> `shop.example:8443/store`.

    `strip_suffixes` are API paths a vendor may paste (`/api`, `/webapi/rest`),
    removed case-insensitively; `qualifier` tells apart shops behind one URL
    (a multistore shop id): `shop.example#shop2`.
    """
    parts = urlsplit((url or "").strip())
    if not parts.hostname:
        raise ConfigError(f"{setting} must be an address like https://shop.example (got {url!r})")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{setting} has an invalid port (got {url!r})") from None
    path = parts.path.rstrip("/")
    for suffix in strip_suffixes:
        suffix = suffix.rstrip("/")
        if suffix and path.lower().endswith(suffix.lower()):
            path = path[: -len(suffix)].rstrip("/")
            break
    identity = host + (f":{port}" if port is not None else "") + path
    return f"{identity}#{qualifier}" if qualifier else identity
