"""The sandbox as the Gateway's side of step 2 (gateway-api.md B17): it sends signed stock events.

A test registers the service's URL for a shop (`POST /_sandbox/webhooks`), then changes
stock as the marketplace would (`POST /_sandbox/stock`: a sale, a cancellation); each
change updates the product's `stock_level` and is delivered as a signed event, retried
until answered 2xx, optionally duplicated or sent in reverse order. `GET /_sandbox/events`
lists the deliveries.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests
from flask import Blueprint, Response, current_app, jsonify, request

from ..stock.events import HEADER, sign
from .context import sandbox
from .errors import ApiError

stock_events = Blueprint("stock_events", __name__, url_prefix="/_sandbox")
EXTENSION = "gwsync_sandbox_events"
ATTEMPTS = 30  # with backoff up to 2 s: about a minute, the sandbox's "retry for a day"


class EventSender:
    def __init__(self) -> None:
        self.webhooks: dict[str, str] = {}
        self.deliveries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def send(self, shop: str, key: bytes, events: list[dict[str, Any]], duplicates: int) -> None:
        url = self.webhooks.get(shop)
        if url is None:
            raise ApiError(409, f"no webhook registered for shop {shop}: POST /_sandbox/webhooks first")
        bodies = [json.dumps(e).encode() for e in events for _ in range(1 + duplicates)]
        threading.Thread(target=self._deliver_all, args=(f"{url.rstrip('/')}/gateway/events/{shop}", key, bodies),
                         daemon=True, name="sandbox-events").start()

    def _deliver_all(self, url: str, key: bytes, bodies: list[bytes]) -> None:
        with requests.Session() as session:
            for body in bodies:
                self._deliver(session, url, key, body)

    def _deliver(self, session: requests.Session, url: str, key: bytes, body: bytes) -> None:
        record = {"id": json.loads(body)["id"], "attempts": 0, "status": None}
        with self._lock:
            self.deliveries.append(record)
        delay = 0.05
        for _ in range(ATTEMPTS):
            record["attempts"] += 1
            try:
                answer = session.post(url, data=body, timeout=10, headers={
                    HEADER: sign(body, key, int(time.time())), "Content-Type": "application/json"})
                record["status"] = answer.status_code
                if answer.ok:
                    return
            except requests.RequestException as exc:
                record["status"] = type(exc).__name__
            time.sleep(delay)
            delay = min(2.0, delay * 2)


def sender() -> EventSender:
    return current_app.extensions.setdefault(EXTENSION, EventSender())


@stock_events.post("/webhooks")
def register_webhook() -> Response:
    body = request.get_json(silent=True) or {}
    if not body.get("shop") or not str(body.get("url", "")).startswith(("http://", "https://")):
        raise ApiError(400, 'expected {"shop": guid, "url": "http://..."}')
    sender().webhooks[str(body["shop"]).lower()] = str(body["url"])
    return jsonify({"shop": body["shop"], "url": body["url"]})


@stock_events.post("/stock")
def change_stock() -> Response:
    """{"shop", "changes": [{"product_guid", "delta", "reason"?}], "duplicates"?: n, "reorder"?: bool}"""
    body = request.get_json(silent=True) or {}
    shop = str(body.get("shop", "")).lower()
    key = sandbox().store.shop_key(shop)
    if key is None:
        raise ApiError(404, f"unknown shop {shop}")
    events = [_apply(shop, change) for change in body.get("changes") or []]
    if body.get("reorder"):
        events.reverse()
    sender().send(shop, key, events, int(body.get("duplicates") or 0))
    return jsonify({"events": [e["id"] for e in events]})


@stock_events.get("/events")
def list_deliveries() -> Response:
    return jsonify({"deliveries": list(sender().deliveries)})


def _apply(shop: str, change: dict[str, Any]) -> dict[str, Any]:
    store = sandbox().store
    row = store.get_product(str(change.get("product_guid", "")))
    if row is None or row.owner != shop:
        raise ApiError(404, f"no product {change.get('product_guid')} in shop {shop}")
    delta = int(change["delta"])
    row.stock_level = max(0, row.stock_level + delta)
    store.save_product(row)
    return {"id": str(uuid.uuid4()), "type": "stock.changed",
            "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "data": {"product_guid": row.guid, "sku": (row.doc.get("sku") or None), "delta": delta,
                     "stock_level": row.stock_level, "reason": change.get("reason") or
                     ("order" if delta < 0 else "cancellation"), "order_id": change.get("order_id")}}
