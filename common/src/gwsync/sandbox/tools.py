"""Local tooling under /_sandbox/ (no token): stats, journal, faults, shops (B15)."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request

from .context import sandbox
from .errors import ApiError

tools = Blueprint("tools", __name__, url_prefix="/_sandbox")

# Routes that change the catalog; `writes` in the stats counts requests to them.
WRITE_ROUTES = frozenset({
    "create_products", "update_product", "archive_product", "delete_product",
    "create_shop_tag", "create_tag", "delete_shop_tag", "product_tags",
})


def stats_payload() -> dict:
    store = sandbox().store
    counters = store.counters()
    return {
        "requests": sum(c["requests"] for c in counters.values()),
        "writes": sum(c["requests"] for route, c in counters.items() if route in WRITE_ROUTES),
        "routes": {route: c["requests"] for route, c in counters.items()},
        "errors": {route: c["errors"] for route, c in counters.items() if c["errors"]},
        "faults": store.fault_counts(),
    }


@tools.get("/stats")
def stats() -> Response:
    return jsonify(stats_payload())


@tools.post("/reset-stats")
def reset_stats() -> Response:
    sandbox().store.reset_stats()
    return Response(status=204)


@tools.get("/journal")
def journal() -> Response:
    limit = request.args.get("limit", type=int)
    return jsonify({"entries": sandbox().store.journal(request.args.get("route"), limit)})


@tools.get("/faults")
def get_faults() -> Response:
    return jsonify(asdict(sandbox().faults.settings()))


@tools.post("/faults")
def set_faults() -> Response:
    """Replaces every fault setting with the JSON body (an empty object clears them)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object of fault settings")
    try:
        settings = sandbox().faults.configure(**body)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None
    return jsonify(asdict(settings))


@tools.delete("/faults")
def clear_faults() -> Response:
    sandbox().faults.reset()
    return Response(status=204)


@tools.get("/shops")
def list_shops() -> Response:
    return jsonify({"shops": sandbox().store.shops()})


@tools.post("/shops")
def add_shop() -> tuple[Response, int]:
    """Registers a shop: {"guid"?, "key"?}; a missing key is generated (32 random bytes)."""
    body = request.get_json(silent=True) or {}
    guid = body.get("guid") or str(uuid.uuid4())
    key = body.get("key") or base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        guid = sandbox().store.add_shop(guid, key)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return jsonify({"guid": guid, "key": key}), 201
