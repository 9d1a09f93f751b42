"""A local fake of Sellasist's REST API v1 and of its public image host.

What it reproduces (`../shared/platforms/sellingo-sellassist.md`, `../shared/fixtures/sellasist/`):
- header `apiKey` on every call; a wrong or missing key answers HTTP 401 `{"error": "Unknown
  user"}` (the message third-party clients handle; the status is not recorded);
- `GET /api/v1/products?offset=&limit=` -> `[{"id": "476", "name": "produkt2"}, ...]` (ids as
  strings); an empty result is HTTP 404 "No records found"; `duplicate_every` lists every
  n-th product twice, `unpaged` ignores offset and limit (the whole list in every answer);
- `GET /api/v1/products/{id}` in the recorded shape (every number a string, `variants` absent
  for a simple product, variant `price` "0.00" = the product's price, description cells by
  name, images on the image host) and `GET /api/v1/variants_groups/{id}`;
- trailing slashes accepted (`/products/` as the 2020 importer called it);
- images at `/p/{account}/n/{hash}.jpg`, the shape of `https://imge.pl/p/268736/n/<hash>.jpg`.

It serves reads only. No stock write of the real API is confirmed, so the tool sends none and
this fake models none: any other method is answered 405 and counted in `calls["writes"]`, so
tests can prove that nothing was ever sent to change the shop. For the step-2 tests it offers
the `StockFake` methods (a sale in the shop, and a sale right after a product's next read).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
import threading
from collections import Counter
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from gwsync.testing.fake import LoopbackFake
from gwsync.testing.images import png

logging.getLogger("werkzeug").setLevel(logging.WARNING)

API_KEY = secrets.token_hex(20)  # made per process: no key in code
OTHER_KEY = secrets.token_hex(20)
ACCOUNT = "268736"
GROUPS = {
    "2": {"id": "2", "name": "Kolor", "variants": [{"id": "3", "name": "Kolor"}]},
    "5": {"id": "5", "name": "Rozmiar i kolor", "variants": [{"id": "7", "name": "Rozmiar"}, {"id": "8", "name": "Kolor"}]},
}
COLOURS = ["czarny", "granatowy", "czerwony"]
SIZES = ["S", "M", "L", "XL"]
CATEGORIES = [{"id": "12", "title": "bluzy", "parent": None}, {"id": "14", "title": "dodatki", "parent": None},
              {"id": "21", "title": "czapki", "parent": "14"}]


class SellasistAccount:
    """The account's products and the WSGI app that serves them."""

    def __init__(self, seed: int = 23) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.products: dict[str, dict[str, Any]] = {}
        self.calls: Counter = Counter()
        self.duplicate_every = 0
        self.unpaged = False
        self.html_404 = False  # every API call answers a web server's HTML 404 (a wrong address)
        self.sales_after_read: dict[str, list[tuple[str | None, int]]] = {}  # product id -> sales
        self._next = {"product": 476, "variant": 4}

    def add_product(self, *, variants: int = 0, two_axes: bool = False, images: int = 1) -> str:
        rng = self.rng
        pid = str(self._next["product"])
        self._next["product"] += 1
        price = Decimal(rng.randrange(1990, 49900)) / 100
        category = rng.choice(CATEGORIES)
        record: dict[str, Any] = {
            "id": pid, "title": f"Produkt {pid}", "category_id": category["id"], "price": f"{price:.2f}",
            "price_promo": "0.00", "promotion": "0", "vat": rng.choice(("23", "23", "8")),
            "quantity": f"{rng.randrange(0, 80)}.000", "catalog_number": f"KAT-{pid}",
            "variants_group_id": None, "attributes_group_id": None, "ean": f"590123{pid:0>7}",
            "symbol": "", "weight": "0.000", "status": "1", "manufacturer_id": "5",
            "images": [self._image(pid, n) for n in range(1, images + 1)],
            "categories": [c for c in CATEGORIES if c["id"] in (category["id"], category["parent"])],
            "description": [
                {"datacell_id": "13", "datacell_name": "Długi opis", "content": f"<p>Opis produktu {pid}</p>"},
                {"datacell_id": "14", "datacell_name": "Uniwersalny opis", "content": None},
                {"datacell_id": "15", "datacell_name": "Krótki opis", "content": f"Krótko o {pid}"}],
        }
        if variants:
            group = GROUPS["5" if two_axes else "2"]
            record["variants_group_id"] = group["id"]
            combos = [(s, c) for s in SIZES for c in COLOURS] if two_axes else [(None, c) for c in COLOURS]
            record["variants"] = []
            for size, colour in rng.sample(combos, min(variants, len(combos))):
                vid = str(self._next["variant"])
                self._next["variant"] += 1
                props = ([{"property_id": "7", "name": size}] if size else []) + \
                    [{"property_id": "8" if two_axes else "3", "name": colour}]
                record["variants"].append({
                    "id": vid, "quantity": f"{rng.randrange(0, 40)}.000",
                    "price": rng.choice(("0.00", "0.00", f"{price + 5:.2f}")), "price_promo": "0.00",
                    "promotion": "0", "ean": "", "catalog": f"KAT-{pid}-{vid}", "status": "1",
                    "price_buy": "0.00", "properties": props})
        self.products[pid] = record
        return pid

    def _image(self, pid: str, n: int) -> dict[str, Any]:
        digest = hashlib.md5(f"{pid}/{n}".encode()).hexdigest()  # a file name, not security
        return {"key": n, "original": f"{{base}}/p/{ACCOUNT}/n/{digest}.jpg",
                "thumb": f"{{base}}/p/{ACCOUNT}/t/{digest}.jpg"}

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        base = request.host_url.rstrip("/")
        if parts[:1] == ["p"] and len(parts) == 4:
            return Response(png((int(parts[3][:2], 16), int(parts[3][2:4], 16), 9)), 200, content_type="image/jpeg")
        if parts[:2] != ["api", "v1"] or self.html_404:
            return Response("<html><body>404 Not Found</body></html>", 404, content_type="text/html")
        with self.lock:
            self.calls["total"] += 1
            resource = parts[2:]
            self.calls["/".join(["{id}" if p.isdigit() else p for p in resource])] += 1
            if request.headers.get("apiKey") != API_KEY:
                return _json({"error": "Unknown user"}, 401)
            if request.method != "GET":
                self.calls["writes"] += 1
                return _json({"error": "this fake serves reads only"}, 405)
            if resource == ["products"]:
                return self._list(request)
            if len(resource) == 2 and resource[0] == "products":
                product = self.products.get(resource[1])
                if not product:
                    return _json({"error": "No records found"}, 404)
                answer = _json(_with_base(product, base))
                self._sell_after_read(resource[1])
                return answer
            if len(resource) == 2 and resource[0] == "variants_groups" and resource[1] in GROUPS:
                return _json(GROUPS[resource[1]])
        return _json({"error": "No records found"}, 404)

    def quantity_field(self, product_id: str, variant_id: str | None) -> dict[str, Any]:
        """The record that holds an item's stock: the variant, or the product without variants."""
        product = self.products[product_id]
        if variant_id is None:
            return product
        return next(v for v in product.get("variants") or () if v["id"] == variant_id)

    def _sell_after_read(self, product_id: str) -> None:
        for variant_id, quantity in self.sales_after_read.pop(product_id, ()):
            record = self.quantity_field(product_id, variant_id)
            record["quantity"] = f"{Decimal(record['quantity']) - quantity:.3f}"

    def _list(self, request: Request) -> Response:
        rows: list[dict[str, str]] = []
        for n, product in enumerate(self.products.values(), 1):
            rows.append({"id": product["id"], "name": product["title"]})
            if self.duplicate_every and n % self.duplicate_every == 0:
                rows.append({"id": product["id"], "name": product["title"]})
        if not self.unpaged:
            offset = int(request.args.get("offset", 0))
            limit = min(int(request.args.get("limit", 25)), 100)
            rows = rows[offset:offset + limit]
        if not rows:
            return _json({"error": "No records found"}, 404)
        return _json(rows)


def _with_base(product: dict[str, Any], base: str) -> dict[str, Any]:
    return json.loads(json.dumps(product).replace("{base}", base))


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, content_type="application/json")


class SellasistFake(LoopbackFake):
    """`gwsync.testing.FakePlatform` for the Sellasist connector."""

    def __init__(self, latency: float = 0.0, seed: int = 23, port: int = 0) -> None:
        self.account = SellasistAccount(seed)
        super().__init__(self.account, latency, port)

    # FakePlatform
    def config(self) -> dict[str, str]:
        return {"url": self.url, "api_key": API_KEY}

    def bad_config(self) -> dict[str, str]:
        return {"url": self.url, "api_key": OTHER_KEY}

    def secrets(self) -> list[str]:
        return [API_KEY]

    def seed(self, products: int, *, variant_share: float = 0.4) -> None:
        rng = self.account.rng
        with self.account.lock:
            for _ in range(products):
                variants = rng.randint(1, 4) if rng.random() < variant_share else 0
                self.account.add_product(variants=variants, two_axes=rng.random() < 0.5, images=rng.randint(1, 3))

    def expected_items(self) -> int:
        return sum(len(p.get("variants") or ()) or 1 for p in self.account.products.values() if p["status"] == "1")

    def _simple(self, second: bool = False) -> str:
        simple = [pid for pid, p in self.account.products.items() if not p.get("variants")]
        return simple[1] if second else simple[0]

    def change_price(self) -> tuple[str, str | None]:
        with self.account.lock:
            pid = self._simple()
            product = self.account.products[pid]
            product["price"] = f"{Decimal(product['price']) + 10:.2f}"
        return pid, None

    def change_stock(self) -> tuple[str, str | None]:
        with self.account.lock:
            product = next(p for p in self.account.products.values() if p.get("variants"))
            variant = product["variants"][0]
            variant["quantity"] = f"{int(Decimal(variant['quantity'])) + 5}.000"
        return product["id"], variant["id"]

    def add_product(self) -> str:
        with self.account.lock:
            return self.account.add_product()

    def remove_product(self) -> str:
        with self.account.lock:
            pid = self._simple(second=True)
            del self.account.products[pid]
        return pid

    # StockFake (gwsync.testing.stock_suite)
    def shop_stock(self, product_id: str, variant_id: str | None) -> int:
        with self.account.lock:
            return int(Decimal(self.account.quantity_field(product_id, variant_id)["quantity"]))

    def set_shop_stock(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        with self.account.lock:
            self.account.quantity_field(product_id, variant_id)["quantity"] = f"{quantity}.000"

    def sell_after_next_read(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        with self.account.lock:
            self.account.sales_after_read.setdefault(product_id, []).append((variant_id, quantity))


def start_fake(port: int = 0) -> SellasistFake:
    """A running fake on 127.0.0.1:`port` (used by `python -m gwsync.testing.smoke sellasist`)."""
    return SellasistFake(port=port).start()
