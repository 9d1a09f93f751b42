"""A local fake of Shoper's REST WebAPI, serving Shoper's documented shapes.

What it reproduces (../shared/platforms/shoper.md):
- `POST /webapi/rest/auth` with HTTP Basic (or form `client_id`/`client_secret`) ->
  `{"access_token": "<40 hex>", "expires_in": 2592000, "token_type": "bearer"}`;
  a wrong password answers 401 `{"error": "auth_failure", ...}`, a missing or
  expired token 401 `{"error": "unauthorized_client", ...}`.
- List pages `{"count": "<string>", "pages": <int>, "page": <int>, "list": [...]}`,
  1-based, `limit` 1..50 (a larger one silently becomes 10), `filters` as JSON
  (`=`, `!=`, `>`, `>=`, `<`, `<=`, `in`, `like`), `order=field ASC|DESC` (a bare
  field sorts descending), page beyond the last -> 404 `invalid_request`.
- Numbers and flags as strings; translations keyed by locale (`pl_PL`, `en_GB`);
  every product has a base stock row (`extended: "0"`), variants are rows with
  `extended: "1"` and `options: {"<option_id>": "<ovalue_id>"}`.
- The leaky bucket: `X-Shop-Api-Limit` (10), `X-Shop-Api-Bandwidth` (2/s),
  `X-Shop-Api-Calls` on every answer; over the limit -> 429 + `Retry-After`.
- `POST /webapi/rest/bulk` with up to 25 GET sub-requests -> `{"errors": bool, "items":
  [{"id", "code", "body"}]}`; it costs one call of the bucket, or with
  `bulk_per_request=True` one per sub-request, those beyond the bucket answering 429
  inside `items` (which of the two Shoper does is unverified).
- Public images at `/userdata/public/gfx/{unic_name}.{extension}` (jpg and png).
- Step 2: `PUT /webapi/rest/product-stocks/{stock_id}` (alone or inside a bulk) changes only
  the fields sent and answers the integer `1`; it refuses an unknown field, a non-numeric
  quantity, `stock` while warehouses are on (it is then a read-only sum: `warehouses` is
  written) and `warehouses` while they are off; an unknown row answers 404 `invalid_request`;
  a row open in the admin editor (`lock`) answers `temporarily_unavailable` "Object is locked".
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import random
import re
import secrets
import struct
import threading
import time
import zlib
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, Response, request

from gwsync.testing.fake import LoopbackServer, RunningFake

LOGIN = "gateway-sync-webapi"
PASSWORD = secrets.token_urlsafe(16)  # made per process: no credential is written in code
API = "/webapi/rest/"
MAX_LIMIT = 50
DEFAULT_LIMIT = 10
BULK_MAX = 25
# what `PUT product-stocks/{id}` takes (the SDK's ProductStockUpdate); anything else is refused
STOCK_WRITABLE = frozenset({
    "active", "additional_codes", "availability_id", "calculation_unit_id", "calculation_unit_ratio", "code",
    "default", "delivery_id", "ean", "gfx_id", "historical_lowest_price", "options", "package", "price",
    "price_buying", "price_special", "price_type", "price_type_special", "price_type_wholesale",
    "price_wholesale", "product_id", "sold", "special_historical_lowest_price", "stock", "warehouses",
    "warn_level", "weight", "weight_type", "wholesale_historical_lowest_price"})
WAREHOUSE_IDS = ("1", "2")  # with warehouses switched on (`enable_warehouses`)

TAXES = [
    {"tax_id": "1", "class_id": "1", "name": "23%", "value": "23.00"},
    {"tax_id": "2", "class_id": "1", "name": "8%", "value": "8.00"},
    {"tax_id": "3", "class_id": "1", "name": "5%", "value": "5.00"},
    {"tax_id": "4", "class_id": "1", "name": "0%", "value": "0.00"},
    {"tax_id": "5", "class_id": "1", "name": "zw.", "value": "0.00"},
]
LANGUAGES = [
    {"lang_id": "1", "locale": "pl_PL", "active": "1", "order": "1", "currency_id": "1"},
    {"lang_id": "2", "locale": "en_GB", "active": "1", "order": "2", "currency_id": "1"},
]
# option id -> (pl, en, [(ovalue_id, pl, en), ...])
OPTIONS = {
    "3": ("Rozmiar", "Size", [("11", "S", "S"), ("12", "M", "M"), ("13", "L", "L"), ("14", "XL", "XL")]),
    "4": ("Kolor", "Colour", [("21", "Czerwony", "Red"), ("22", "Niebieski", "Blue"), ("23", "Czarny", "Black")]),
}
# category id -> (parent id, pl name, en name)
CATEGORIES = {
    "1": (None, "Odzież", "Clothing"), "2": ("1", "Bluzy", "Hoodies"), "3": ("1", "Koszulki", "T-shirts"),
    "4": (None, "Dom", "Home"), "5": ("4", "Kuchnia", "Kitchen"), "6": ("5", "Noże", "Knives"),
}
WORDS = ["Bluza", "Koszulka", "Kubek", "Nóż", "Czapka", "Plecak", "Lampa", "Szalik", "Miska", "Torba"]


def _error(status: int, code: str, description: str) -> tuple[int, dict[str, str]]:
    return status, {"error": code, "error_description": description}


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


class LeakyBucket:
    """Shoper's per-application limiter: `limit` calls, draining `bandwidth` per second."""

    def __init__(self, limit: int = 10, bandwidth: float = 2.0, clock=time.monotonic) -> None:
        self.limit, self.bandwidth, self._clock = limit, bandwidth, clock
        self.level = 0.0
        self._last = clock()
        self._lock = threading.Lock()

    def take(self, cost: int = 1) -> tuple[bool, int, int]:
        """(accepted, calls in the bucket, seconds to wait when refused)."""
        with self._lock:
            now = self._clock()
            self.level = max(0.0, self.level - (now - self._last) * self.bandwidth)
            self._last = now
            if self.level + cost > self.limit:
                wait = math.ceil((self.level + cost - self.limit) / self.bandwidth)
                return False, math.ceil(self.level), max(wait, 1)
            self.level += cost
            return True, math.ceil(self.level), 0


class ShoperShop:
    """The shop's data and the WebAPI semantics, independent of HTTP."""

    def __init__(self, seed: int = 6, rate_limit: bool = True, limit: int = 10, bandwidth: float = 2.0,
                 bulk_per_request: bool = False, login: str = LOGIN, password: str = PASSWORD) -> None:
        self.rng = random.Random(seed)
        self.login, self.password = login, password
        self.rate_limit = rate_limit
        self.bucket = LeakyBucket(limit, bandwidth)
        self.bulk_per_request = bulk_per_request
        self.lock = threading.RLock()
        self.tokens: set[str] = set()
        self.issued: list[str] = []
        self.requests: Counter = Counter()  # "GET /webapi/rest/products" -> n (HTTP calls)
        self.sub_requests: Counter = Counter()  # inside bulk calls
        self.throttled = 0
        self.failures: list[int] = []  # statuses to answer the next API calls with (tests)
        self.products: dict[str, dict[str, Any]] = {}
        self.stocks: dict[str, dict[str, Any]] = {}
        self.images: dict[str, dict[str, Any]] = {}
        self.offers: dict[str, dict[str, Any]] = {}  # `specialoffers` rows
        self.files: dict[str, str] = {}  # unic_name -> the real file's extension (rows may lack one)
        self.warehouses_enabled = False
        self.stock_writes: list[tuple[str, dict[str, Any]]] = []  # (stock_id, PUT body as sent)
        self.locked: set[str] = set()  # stock rows open in the admin editor: writes refused
        self.lock_status = 400  # the status of the "Object is locked" answer (unverified: 400 or 503)
        self.sell_after_read: dict[tuple[str, str | None], int] = {}  # step-2 tests: a sale right after a read
        self._next = {"product": 1, "stock": 1, "gfx": 1, "promo": 1}
        self._clock = datetime(2025, 1, 2, 9, 0, 0)

    # -- catalog ----------------------------------------------------------------------------

    def _id(self, kind: str) -> str:
        value = self._next[kind]
        self._next[kind] += 1
        return str(value)

    def now(self) -> str:
        """A naive shop-local timestamp that always moves forward (edit_date)."""
        current = datetime.now().replace(microsecond=0)
        self._clock = max(self._clock + timedelta(seconds=1), current)
        return self._clock.strftime("%Y-%m-%d %H:%M:%S")

    def seed(self, count: int, variant_share: float = 0.3) -> None:
        with self.lock:
            for _ in range(count):
                self.add_product(variants=self.rng.random() < variant_share, edit_date=self._seed_date())

    def _seed_date(self) -> str:
        start = datetime(2025, 1, 1, 8, 0, 0)
        return (start + timedelta(seconds=self.rng.randrange(0, 300 * 86400))).strftime("%Y-%m-%d %H:%M:%S")

    def add_product(self, variants: bool = False, edit_date: str | None = None) -> str:
        with self.lock:
            rng = self.rng
            product_id = self._id("product")
            word = rng.choice(WORDS)
            category = rng.choice(["2", "3", "5", "6"])
            price = Decimal(rng.randrange(990, 49900)) / 100
            tax_id = rng.choice(["1", "1", "1", "2", "3", "5"])
            code = f"SH-{int(product_id):05d}"
            base_id = self._id("stock")
            base = {
                "stock_id": base_id, "product_id": product_id, "extended": "0", "price": _money(price),
                "price_type": "1", "active": "1", "default": "1", "stock": f"{rng.randrange(0, 60)}",
                "warn_level": "0", "sold": "0", "code": code, "ean": f"590{rng.randrange(10**9, 10**10)}",
                "weight": "0.5", "weight_type": "0", "availability_id": None, "delivery_id": "1",
                "gfx_id": None, "options": [], "comp_weight": "0.5", "comp_price": _money(price),
                "comp_promo_price": _money(price), "package": "0.00", "warehouses": [],
            }
            self.stocks[base_id] = base
            images = [self._add_image(product_id, n) for n in range(rng.choice([0, 1, 1, 2, 3]))]
            option_ids: list[int] = []
            if variants:
                option_id = rng.choice(list(OPTIONS))
                option_ids = [int(option_id)]
                values = rng.sample(OPTIONS[option_id][2], k=rng.randrange(2, len(OPTIONS[option_id][2]) + 1))
                for n, (ovalue_id, _, _) in enumerate(values):
                    self._add_variant(product_id, price, code, n, {option_id: ovalue_id},
                                      images[n % len(images)]["gfx_id"] if images and rng.random() < 0.5 else None)
            self.products[product_id] = {
                "product_id": product_id, "type": "0", "producer_id": None, "group_id": "1",
                "tax_id": tax_id, "category_id": category, "unit_id": "1",
                "add_date": edit_date or self.now(), "edit_date": edit_date or self.now(),
                "other_price": "0.00", "code": code, "ean": base["ean"], "pkwiu": "", "currency_id": None,
                "gauge_id": None, "in_loyalty": "0", "categories": [int(category)], "options": option_ids,
                "translations": {
                    "pl_PL": {"translation_id": product_id, "product_id": product_id, "lang_id": "1",
                              "name": f"{word} {product_id}", "short_description": f"<p>{word} krótko</p>",
                              "description": f"<p>{word} — opis produktu {product_id}</p>", "active": "1",
                              "isdefault": "0", "seo_title": "",
                              "permalink": f"/pl/p/{word}-{product_id}/{product_id}"},
                    "en_GB": {"translation_id": product_id, "product_id": product_id, "lang_id": "2",
                              "name": f"Item {product_id}", "short_description": "", "description": "",
                              "active": "1", "isdefault": "0", "seo_title": "", "permalink": ""},
                },
                "stock": {k: base[k] for k in ("stock_id", "extended", "price", "price_type", "stock", "code",
                                               "ean", "weight", "active", "comp_price", "comp_promo_price")},
            }
            self._set_main_image(product_id)
            return product_id

    def _add_variant(self, product_id: str, base_price: Decimal, code: str, n: int,
                     options: dict[str, str], gfx_id: str | None) -> dict[str, Any]:
        rng = self.rng
        stock_id = self._id("stock")
        price_type = rng.choice(["0", "1", "2", "3"])
        delta = Decimal(rng.randrange(100, 900)) / 100
        if price_type == "0":
            price, comp = Decimal(0), base_price
        elif price_type == "1":
            price = comp = base_price + delta
        elif price_type == "2":
            price, comp = delta, base_price + delta
        else:
            price, comp = delta, base_price - delta
        row = {
            "stock_id": stock_id, "product_id": product_id, "extended": "1", "price": _money(price),
            "price_type": price_type, "active": "1", "default": "1" if n == 0 else "0",
            "stock": f"{rng.randrange(0, 30)}.0" if rng.random() < 0.3 else str(rng.randrange(0, 30)),
            "warn_level": "0", "sold": "0", "code": f"{code}-{n + 1}", "ean": f"591{rng.randrange(10**9, 10**10)}",
            "weight": "0.00", "weight_type": "0", "availability_id": None, "delivery_id": "1", "gfx_id": gfx_id,
            "options": options, "comp_weight": "0.5", "comp_price": _money(comp),
            "comp_promo_price": _money(comp), "package": "0.00", "warehouses": [],
        }
        self.stocks[stock_id] = row
        return row

    def _add_image(self, product_id: str, order: int) -> dict[str, Any]:
        gfx_id = self._id("gfx")
        extension = "png" if self.rng.random() < 0.3 else "jpg"
        row = {"gfx_id": gfx_id, "product_id": product_id, "main": "1" if order == 0 else "0",
               "order": str(order + 1), "name": f"zdjecie-{gfx_id}.{extension}",
               "unic_name": hashlib.md5(f"{product_id}:{gfx_id}:{self.rng.random()}".encode()).hexdigest(),
               "extension": extension, "hidden": "0",
               "translations": {"pl_PL": {"translation_id": gfx_id, "gfx_id": gfx_id, "name": "", "lang_id": "1"}}}
        self.images[gfx_id] = row
        self.files[row["unic_name"]] = extension
        return row

    def drop_image_extensions(self, product_id: str) -> None:
        """What real shops answer: image rows and `main_image` without `extension`."""
        with self.lock:
            for row in self.images.values():
                if row["product_id"] == product_id:
                    row.pop("extension", None)
            self.products[product_id].get("main_image", {}).pop("extension", None)

    def add_promotion(self, product_id: str, discount: str = "20.00", discount_type: str = "3",
                      date_from: str = "2025-01-01 00:00:00", date_to: str = "2099-12-31 23:59:59") -> dict:
        """A special offer (`/specialoffers` row) and the promotion prices Shoper computes into the
        product's stock rows (`comp_promo_price`); the product's `edit_date` does not move."""
        with self.lock:
            promo_id = self._id("promo")
            offer = {"promo_id": promo_id, "product_id": product_id, "date_from": date_from, "date_to": date_to,
                     "discount": discount, "discount_type": discount_type, "condition_type": "1",
                     "stocks": []}
            self.offers[promo_id] = offer
            for row in self.rows_of(product_id):
                regular = Decimal(row["comp_price"])
                off = Decimal(discount)
                promo = regular - off if discount_type == "2" else regular * (100 - off) / 100
                row["comp_promo_price"] = _money(promo)
            base = next(r for r in self.rows_of(product_id) if r["extended"] == "0")
            self.products[product_id]["stock"]["comp_promo_price"] = base["comp_promo_price"]
            return offer

    def _set_main_image(self, product_id: str) -> None:
        rows = [r for r in self.images.values() if r["product_id"] == product_id and r["main"] == "1"]
        product = self.products[product_id]
        if rows:
            product["main_image"] = {k: rows[0][k] for k in ("gfx_id", "product_id", "name", "unic_name",
                                                            "extension", "order", "main")}
        else:
            product.pop("main_image", None)

    def rows_of(self, product_id: str) -> list[dict[str, Any]]:
        return [r for r in self.stocks.values() if r["product_id"] == product_id]

    def variants_of(self, product_id: str) -> list[dict[str, Any]]:
        return [r for r in self.rows_of(product_id) if r["extended"] == "1"]

    def remove_product(self, product_id: str) -> None:
        with self.lock:
            self.products.pop(product_id)
            for table in (self.stocks, self.images):
                for key in [k for k, r in table.items() if r["product_id"] == product_id]:
                    del table[key]

    def touch(self, product_id: str) -> None:
        self.products[product_id]["edit_date"] = self.now()

    def sync_base(self, product_id: str) -> None:
        """Mirror the base stock row into the product's embedded `stock` object."""
        product = self.products[product_id]
        base = next(r for r in self.rows_of(product_id) if r["extended"] == "0")
        for key in product["stock"]:
            product["stock"][key] = base[key]

    def expected_items(self) -> int:
        with self.lock:
            return sum(len(self.variants_of(pid)) or 1 for pid in self.products)

    # -- tables as the API lists them -----------------------------------------------------------

    def table(self, resource: str) -> tuple[list[dict[str, Any]], str] | None:
        if resource == "products":
            return list(self.products.values()), "product_id"
        if resource == "product-stocks":
            return list(self.stocks.values()), "stock_id"
        if resource == "product-images":
            return list(self.images.values()), "gfx_id"
        if resource == "specialoffers":
            return list(self.offers.values()), "promo_id"
        if resource == "taxes":
            return TAXES, "tax_id"
        if resource == "languages":
            return LANGUAGES, "lang_id"
        if resource == "options":
            return [{"option_id": oid, "type": "0", "required": "1", "order": oid, "stock": "1",
                     "translations": {"pl_PL": {"name": pl, "lang_id": "1"}, "en_GB": {"name": en, "lang_id": "2"}}}
                    for oid, (pl, en, _) in OPTIONS.items()], "option_id"
        if resource == "option-values":
            return [{"ovalue_id": vid, "option_id": oid, "order": str(n), "price": "0.00", "price_type": "0",
                     "translations": {"pl_PL": {"value": vpl, "lang_id": "1"}, "en_GB": {"value": ven, "lang_id": "2"}}}
                    for oid, (_, _, values) in OPTIONS.items() for n, (vid, vpl, ven) in enumerate(values)], "ovalue_id"
        if resource == "categories":
            return [{"category_id": cid, "order": cid, "root": "1" if parent is None else "0", "in_loyalty": "0",
                     "translations": {"pl_PL": {"name": pl, "description": "", "active": "1", "lang_id": "1"},
                                      "en_GB": {"name": en, "description": "", "active": "1", "lang_id": "2"}}}
                    for cid, (parent, pl, en) in CATEGORIES.items()], "category_id"
        return None

    def category_tree(self) -> list[dict[str, Any]]:
        def children(parent: str | None) -> list[dict[str, Any]]:
            return [{"id": int(cid), "children": children(cid)}
                    for cid, (p, _, _) in CATEGORIES.items() if p == parent]
        return children(None)

    # -- WebAPI semantics --------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, Any], body: Any = None) -> tuple[int, Any]:
        """One WebAPI call (also a bulk sub-request) -> (status, JSON body)."""
        if not path.startswith(API):
            return _error(400, "invalid_request", "Unknown resource")
        parts = [p for p in path[len(API):].split("/") if p]
        if not parts:
            return _error(400, "invalid_request", "Unknown resource")
        resource, rest = parts[0], parts[1:]
        if method == "PUT" and resource == "product-stocks" and len(rest) == 1:
            return self.put_stock(rest[0], body)
        if method != "GET":
            return _error(405, "invalid_request", "Method not allowed")
        if resource == "product-stocks" and len(rest) == 1:
            return self._read_stock_row(rest[0])
        with self.lock:
            if resource == "application-config" and not rest:
                return 200, {"shop_name": "Sklep testowy", "shop_full_name": "Sklep testowy gateway-sync",
                             "shop_email": "sklep@example.com", "shop_language": "1", "default_language_id": "1",
                             "default_language_name": "pl_PL", "default_currency_id": "1",
                             "default_currency_name": "PLN", "locale_timezone": "Europe/Warsaw",
                             "warehouses_enabled": self.warehouses_enabled}
            if resource == "categories-tree" and not rest:
                return 200, self.category_tree()
            found = self.table(resource)
            if found is None:
                return _error(400, "invalid_request", "Unknown resource")
            rows, id_field = found
            if rest:
                row = next((r for r in rows if str(r[id_field]) == rest[0]), None) if len(rest) == 1 else None
                return (200, row) if row is not None else _error(404, "invalid_request", "Object not found")
            return self._list(rows, id_field, params)

    # -- step 2: stock rows read one by one and written -------------------------------------------

    def _read_stock_row(self, stock_id: str) -> tuple[int, Any]:
        with self.lock:
            row = self.stocks.get(stock_id)
            if row is None:
                return _error(404, "invalid_request", "Object not found")
            answer = json.loads(json.dumps(row))
            key = (row["product_id"], stock_id if row["extended"] == "1" else None)
            sold = self.sell_after_read.pop(key, 0)
            if sold:
                self.set_quantity(row, stock_quantity(row) - sold)
            return 200, answer

    def put_stock(self, stock_id: str, body: Any) -> tuple[int, Any]:
        """`PUT product-stocks/{id}`: only the fields sent change; the answer is the integer 1."""
        with self.lock:
            row = self.stocks.get(stock_id)
            if row is None:
                return _error(404, "invalid_request", "Object not found")
            if stock_id in self.locked:
                return _error(self.lock_status, "temporarily_unavailable", "Object is locked")
            refusal = self._stock_refusal(body)
            if refusal:
                return _error(400, "invalid_request", refusal)
            self.stock_writes.append((stock_id, json.loads(json.dumps(body))))
            for key, value in body.items():
                if key == "stock":
                    row["stock"] = _quantity_text(Decimal(str(value)))
                elif key == "warehouses":
                    row["warehouses"] = {**row["warehouses"], **{str(k): str(v) for k, v in value.items()}}
                    row["stock"] = _quantity_text(sum((Decimal(v) for v in row["warehouses"].values()), Decimal(0)))
                else:
                    row[key] = value
            if row["extended"] == "0":
                self.sync_base(row["product_id"])
            return 200, 1

    def _stock_refusal(self, body: Any) -> str | None:
        if not isinstance(body, dict) or not body:
            return "Invalid request body"
        unknown = set(body) - STOCK_WRITABLE
        if unknown:
            return f"Unknown field: {sorted(unknown)[0]}"
        if "stock" in body:
            if self.warehouses_enabled:
                return "Field stock is read-only while warehouses are enabled"
            if not _is_number(body["stock"]):
                return "Field stock: invalid value"
        if "warehouses" in body:
            value = body["warehouses"]
            if not self.warehouses_enabled:
                return "Warehouses are not enabled"
            if not isinstance(value, dict) or not value:
                return "Field warehouses: invalid value"
            if any(str(k) not in WAREHOUSE_IDS or not _is_number(v) for k, v in value.items()):
                return "Field warehouses: unknown warehouse or invalid value"
        return None

    def enable_warehouses(self) -> None:
        """Warehouses on: every row's stock moves to warehouse 1 (`stock` becomes their read-only sum)."""
        with self.lock:
            self.warehouses_enabled = True
            for row in self.stocks.values():
                row["warehouses"] = {WAREHOUSE_IDS[0]: row["stock"], **{k: "0" for k in WAREHOUSE_IDS[1:]}}
                if row["extended"] == "0":
                    self.sync_base(row["product_id"])

    def set_quantity(self, row: dict[str, Any], quantity: Decimal | int) -> None:
        """Set a row's stock as the shop would (with warehouses: the first one takes the difference)."""
        amount = Decimal(quantity)
        if self.warehouses_enabled:
            others = sum((Decimal(v) for k, v in row["warehouses"].items() if k != WAREHOUSE_IDS[0]), Decimal(0))
            row["warehouses"][WAREHOUSE_IDS[0]] = _quantity_text(amount - others)
        row["stock"] = _quantity_text(amount)
        if row["extended"] == "0":
            self.sync_base(row["product_id"])

    def item_row(self, product_id: str, variant_id: str | None) -> dict[str, Any]:
        """A Gateway item's stock row: the variant's own, or the product's base row."""
        if variant_id is not None:
            return self.stocks[variant_id]
        return next(r for r in self.rows_of(product_id) if r["extended"] == "0")

    def _list(self, rows: list[dict[str, Any]], id_field: str, params: dict[str, Any]) -> tuple[int, Any]:
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
            page = int(params.get("page", 1))
        except (TypeError, ValueError):
            return _error(400, "invalid_request", "Invalid paging parameters")
        if limit < 1 or limit > MAX_LIMIT:
            limit = DEFAULT_LIMIT  # what Shoper does with limit > 50: silently 10
        filters = params.get("filters")
        if isinstance(filters, str):
            try:
                filters = json.loads(filters)
            except ValueError:
                return _error(400, "invalid_request", "Invalid filters")
        for key, value in params.items():  # the bracket form filters[product_id]=5
            match = re.fullmatch(r"filters\[(\w+)\]", key)
            if match:
                filters = {**(filters or {}), match.group(1): value}
        if filters:
            rows = [r for r in rows if _matches(r, filters)]
        field, descending = id_field, False
        order = str(params.get("order") or "").strip()
        if order:
            words = order.split()
            field = words[0]
            descending = len(words) == 1 or words[1].upper() == "DESC"
        rows = sorted(rows, key=lambda r: _sort_key(r.get(field)), reverse=descending)
        count = len(rows)
        pages = math.ceil(count / limit)
        if count and page > pages or page < 1:
            return _error(404, "invalid_request", "Page not found")
        chunk = rows[(page - 1) * limit: page * limit]
        return 200, {"count": str(count), "pages": pages, "page": page, "list": json.loads(json.dumps(chunk))}


def stock_quantity(row: dict[str, Any]) -> Decimal:
    return Decimal(str(row.get("stock") or "0"))


def _quantity_text(amount: Decimal) -> str:
    """Quantities as Shoper answers them: "7", or "2.5" for a fraction."""
    return str(int(amount)) if amount == amount.to_integral_value() else format(amount.normalize(), "f")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        return Decimal(str(value)).is_finite()
    except ArithmeticError:
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    try:
        return (0, Decimal(str(value)))
    except Exception:
        return (1, str(value))


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "in":
        return str(left) in {str(v) for v in (right or [])}
    if op == "like":
        pattern = "^" + re.escape(str(right)).replace("%", ".*").replace("_", ".") + "$"
        return re.match(pattern, str(left), re.I) is not None
    a, b = _sort_key(left), _sort_key(right)
    if a[0] != b[0]:
        a, b = (1, str(left)), (1, str(right))
    return {"=": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}.get(op, True)


def _matches(row: dict[str, Any], filters: dict[str, Any]) -> bool:
    for field, condition in filters.items():
        value: Any = row
        for part in field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        conditions = condition if isinstance(condition, dict) else {"=": condition}
        for op, expected in conditions.items():
            if not _compare(value, op, expected):
                return False
    return True


# -- HTTP --------------------------------------------------------------------------------------

def _png(seed: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    color = hashlib.sha256(seed).digest()[:3]
    raw = zlib.compress(b"\x00" + color)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\x00" + seed) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def _jpeg(seed: bytes) -> bytes:
    # SOI, a comment segment making each file distinct, and a tiny baseline body from a 1x1 grey JPEG
    body = base64.b64decode(
        "/9sAQwADAgICAgIDAgICAwMDAwQGBAQEBAQIBgYFBgkICgoJCAkJCgwPDAoLDgsJCQ0RDQ4PEBAREAoMEhMSEBMPEBAQ/8AACwgAAQAB"
        "AQERAP/EABQAAQAAAAAAAAAAAAAAAAAAAAn/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/9oACAEBAAA/AFTf/9k=")
    comment = b"\xff\xfe" + struct.pack(">H", len(seed) + 2) + seed
    return b"\xff\xd8" + comment + body


def create_app(shop: ShoperShop) -> Flask:
    app = Flask("gwsync_shoper.fake")

    def answer(status: int, body: Any, calls: int | None = None, headers: dict[str, str] | None = None) -> Response:
        response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
        response.headers["X-Shop-Api-Limit"] = str(shop.bucket.limit)
        response.headers["X-Shop-Api-Bandwidth"] = f"{shop.bucket.bandwidth:g}"
        response.headers["X-Shop-Api-Calls"] = str(calls if calls is not None else math.ceil(shop.bucket.level))
        if isinstance(body, dict) and "pages" in body and "page" in body:
            response.headers["X-Shop-Result-Page"] = str(body["page"])
            response.headers["X-Shop-Result-Pages"] = str(body["pages"])
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    def gate(cost: int = 1) -> Response | int | None:
        """Counts the call, applies the bucket and injected failures; a Response when refused."""
        shop.requests[f"{request.method} {_route(request.path)}"] += 1
        calls = None
        if shop.rate_limit:
            accepted, calls, wait = shop.bucket.take(cost)
            if not accepted:
                shop.throttled += 1
                return answer(429, {"error": "temporarily_unavailable",
                                    "error_description": "Too many requests"}, calls, {"Retry-After": str(wait)})
        with shop.lock:
            failure = shop.failures.pop(0) if shop.failures else None
        if failure is not None:
            headers = {"Retry-After": "1"} if failure == 429 else None
            if failure == 429:
                shop.throttled += 1
            return answer(failure, {"error": "server_error" if failure >= 500 else "temporarily_unavailable",
                                    "error_description": "Injected failure"}, calls, headers)
        return calls

    def bearer_ok() -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in shop.tokens

    @app.post(API + "auth")
    def auth() -> Response:
        gated = gate()
        if isinstance(gated, Response):
            return gated
        if request.authorization and request.authorization.type == "basic":
            login, password = request.authorization.username, request.authorization.password
        else:
            login, password = request.form.get("client_id"), request.form.get("client_secret")
        if login != shop.login or password != shop.password:
            return answer(401, {"error": "auth_failure", "error_description": "Invalid user password"}, gated)
        token = secrets.token_hex(20)
        with shop.lock:
            shop.tokens.add(token)
            shop.issued.append(token)
        return answer(200, {"access_token": token, "expires_in": 2592000, "token_type": "bearer"}, gated)

    @app.post(API + "bulk")
    def bulk() -> Response:
        gated = gate(0 if shop.bulk_per_request else 1)
        if isinstance(gated, Response):
            return gated
        if not bearer_ok():
            return answer(401, {"error": "unauthorized_client", "error_description": "Invalid access token"}, gated)
        calls = request.get_json(silent=True)
        if not isinstance(calls, list) or not calls:
            return answer(400, {"error": "invalid_request", "error_description": "Invalid bulk request"}, gated)
        if len(calls) > BULK_MAX:
            return answer(400, {"error": "invalid_request",
                                "error_description": f"Too many requests in bulk (max {BULK_MAX})"}, gated)
        items, errors = [], False
        for call in calls:
            path = str(call.get("path") or "")
            shop.sub_requests[f"{call.get('method', 'GET')} {_route(path)}"] += 1
            if shop.rate_limit and shop.bulk_per_request and not shop.bucket.take(1)[0]:
                shop.throttled += 1
                status, body = _error(429, "temporarily_unavailable", "Too many requests")
            else:
                status, body = _dispatch(shop, str(call.get("method") or "GET").upper(), path,
                                         {k: v for k, v in (call.get("params") or {}).items()}, call.get("body"))
            errors = errors or status >= 400
            items.append({"id": call.get("id"), "code": status, "body": body})
        return answer(200, {"errors": errors, "items": items}, gated)

    @app.route(API + "<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
    def api(rest: str) -> Response:
        gated = gate()
        if isinstance(gated, Response):
            return gated
        if not bearer_ok():
            return answer(401, {"error": "unauthorized_client", "error_description": "Invalid access token"}, gated)
        params = {k: v for k, v in request.args.items()}
        status, body = _dispatch(shop, request.method, request.path, params, request.get_json(silent=True))
        return answer(status, body, gated)

    @app.get("/userdata/public/gfx/<name>")
    def image(name: str) -> Response:
        shop.requests["GET /userdata/public/gfx/{file}"] += 1
        stem, _, extension = name.rpartition(".")
        with shop.lock:
            row = next((r for r in shop.images.values() if r["unic_name"] == stem), None)
        if row is None or shop.files.get(stem) != extension:
            return Response("Not found", status=404, mimetype="text/html")
        if extension == "png":
            return Response(_png(stem.encode()), mimetype="image/png")
        return Response(_jpeg(stem.encode()), mimetype="image/jpeg")

    return app


def _dispatch(shop: ShoperShop, method: str, path: str, params: dict[str, Any], body: Any) -> tuple[int, Any]:
    """A read passes no body (tests wrap `handle` with the three-argument form)."""
    if method == "PUT":
        return shop.handle(method, path, params, body)
    return shop.handle(method, path, params)


def _route(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


class ShoperFake(RunningFake):
    """The fake shop behind a loopback server; implements `gwsync.testing.fake.FakePlatform`."""

    def __init__(self, products: int = 0, *, seed: int = 6, latency: float = 0.0, rate_limit: bool = True,
                 limit: int = 10, bandwidth: float = 2.0, bulk_per_request: bool = False) -> None:
        self.shop = ShoperShop(seed=seed, rate_limit=rate_limit, limit=limit, bandwidth=bandwidth,
                               bulk_per_request=bulk_per_request)
        self.app = create_app(self.shop)
        self.latency = latency
        self._server: LoopbackServer | None = None
        if products:
            self.shop.seed(products)

    def start(self, port: int = 0) -> ShoperFake:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the test output
        self._server = LoopbackServer(self.app, self.latency, port).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake is not running"
        return self._server.url

    # -- FakePlatform -----------------------------------------------------------------------

    def config(self) -> dict[str, str]:
        return {"url": self.url, "client_id": self.shop.login, "client_secret": self.shop.password}

    def bad_config(self) -> dict[str, str]:
        return {**self.config(), "client_secret": "wrong-" + self.shop.password}

    def secrets(self) -> list[str]:
        return [self.shop.password, *self.shop.issued]

    def seed(self, products: int) -> None:
        self.shop.seed(products)

    def expected_items(self) -> int:
        return self.shop.expected_items()

    def _simple_products(self) -> list[str]:
        return [pid for pid in self.shop.products if not self.shop.variants_of(pid)]

    def change_price(self) -> tuple[str, str | None]:
        """A new base price on a product without variants (saving the product moves `edit_date`)."""
        with self.shop.lock:
            product_id = self.shop.rng.choice(self._simple_products())
            base = next(r for r in self.shop.rows_of(product_id) if r["extended"] == "0")
            price = Decimal(base["comp_price"]) + Decimal("1.00")
            base["price"] = base["comp_price"] = base["comp_promo_price"] = _money(price)
            self.shop.sync_base(product_id)
            self.shop.touch(product_id)
            return product_id, None

    def change_stock(self) -> tuple[str, str | None]:
        """A stock change only (an order, a warehouse import): `edit_date` does not move."""
        with self.shop.lock:
            with_variants = [pid for pid in self.shop.products if self.shop.variants_of(pid)]
            if with_variants:
                product_id = self.shop.rng.choice(with_variants)
                row = self.shop.rng.choice(self.shop.variants_of(product_id))
                row["stock"] = str(int(Decimal(row["stock"])) + 3)
                return product_id, row["stock_id"]
            product_id = self.shop.rng.choice(self._simple_products())
            base = next(r for r in self.shop.rows_of(product_id) if r["extended"] == "0")
            base["stock"] = str(int(Decimal(base["stock"])) + 3)
            self.shop.sync_base(product_id)
            return product_id, None

    def add_product(self) -> str:
        return self.shop.add_product(variants=False)

    def remove_product(self) -> str:
        with self.shop.lock:
            product_id = self.shop.rng.choice(self._simple_products())
            self.shop.remove_product(product_id)
            return product_id

    # -- test helpers -------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every issued token stops working (as after 30 days): the next call answers 401."""
        with self.shop.lock:
            self.shop.tokens.clear()

    def fail_next(self, *statuses: int) -> None:
        """The next API calls answer these statuses (429 with Retry-After: 1)."""
        with self.shop.lock:
            self.shop.failures.extend(statuses)

    def api_calls(self) -> int:
        return sum(n for key, n in self.shop.requests.items() if "/webapi/rest/" in key)

    # -- StockFake (step 2) ---------------------------------------------------------------------

    def shop_stock(self, product_id: str, variant_id: str | None) -> int:
        with self.shop.lock:
            return int(stock_quantity(self.shop.item_row(product_id, variant_id)))

    def set_shop_stock(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        with self.shop.lock:
            self.shop.set_quantity(self.shop.item_row(product_id, variant_id), quantity)

    def sell_after_next_read(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        with self.shop.lock:
            self.shop.sell_after_read[(product_id, variant_id)] = quantity


def start_fake(port: int = 0, **kwargs: Any) -> ShoperFake:
    """A running fake on 127.0.0.1:`port` (used by `python -m gwsync.testing.smoke shoper`)."""
    return ShoperFake(**kwargs).start(port)


__all__ = ["start_fake", "ShoperFake", "ShoperShop", "LeakyBucket", "create_app", "LOGIN", "PASSWORD"]
