"""What every sandbox view needs: the shared objects, the token's shop, the JSON body."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, g, request

from .catalog import Catalog
from .errors import ApiError
from .faults import Faults
from .store import Store

EXTENSION = "gwsync_sandbox"
JSON_BODY_LIMIT = 6 * 1024 * 1024  # B4: request bodies over 6 MB answer 413


@dataclass
class Sandbox:
    store: Store
    catalog: Catalog
    faults: Faults
    base_url: str | None = None


def sandbox() -> Sandbox:
    return current_app.extensions[EXTENSION]


def public_base_url() -> str:
    """Where hosted objects are served: the configured base URL or this request's host."""
    return (sandbox().base_url or request.url_root).rstrip("/")


def current_shop() -> str:
    """The shop guid of the verified token (set by the auth hook)."""
    return g.shop


def json_body(*, decimals: bool = False) -> Any:
    """The parsed JSON body; 413 over 6 MB, 400 when it is not JSON.

    With `decimals`, fractions become Decimal so that prices keep their precision.
    """
    if (request.content_length or 0) > JSON_BODY_LIMIT:
        raise ApiError(413, f"The request body exceeds {JSON_BODY_LIMIT} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > JSON_BODY_LIMIT:
        raise ApiError(413, f"The request body exceeds {JSON_BODY_LIMIT} bytes")
    try:
        body = json.loads(raw, parse_float=Decimal if decimals else float)
    except ValueError:
        raise ApiError(400, "The request body must be JSON") from None
    g.json_body = body
    return body


def route(blueprint: Blueprint, path: str, endpoint: str, methods: list[str],
          public: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view under both spellings of its path (B13), with or without the slash.

    Two strict rules rather than strict_slashes=False, so that a wrong method on
    either spelling answers 405 and not 404.
    """
    stem = path.rstrip("/")

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        view.sandbox_public = public  # type: ignore[attr-defined]
        for spelling in (stem + "/", stem):
            blueprint.add_url_rule(spelling, endpoint, view, methods=methods, strict_slashes=True)
        return view

    return register
