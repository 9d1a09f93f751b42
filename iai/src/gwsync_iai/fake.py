"""A local fake of IdoSell's Admin API, serving the documented shapes.

Routes (under `/api/admin/v<N>/`): `POST products/products/search` (paging, the
`returnProducts`, `productDate`, `productParams` and `returnElements` filters, the
HTTP 207 `faultCode 2` empty page), `GET sizes/sizes`, and for step 2 `GET
products/stocks` (one product's quantities per warehouse and size) and `PUT
products/stocks` (set/add/substract per size and warehouse, the body validated as the
spec describes it, per-item faultCodes in an HTTP 207 answer); plus the public picture
URLs under `/data/gfx/pictures/`. Shapes follow ../shared/platforms/iai-idosell.md sections
4, 5 and 8. Authentication: `X-API-KEY`; a wrong or missing key answers 401 with
`faultCode 1`, the "limited" key 403 with the missing scope in `X-Error`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from copy import deepcopy
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

from gwsync.testing.fake import LoopbackServer, RunningFake

from .mapping import Options, stock_by_size

# made per process: no credential is written in code
API_KEY = "fake-" + secrets.token_urlsafe(24)
LIMITED_KEY = "fake-" + secrets.token_urlsafe(24)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# returnElements name -> the result fields it brings (names from the spec's enum). An
# element the client forgets leaves its fields out, as on a real shop.
ELEMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "lang_data": ("productDescriptionsLangData",),
    "code": ("productDisplayedCode",),
    "vat": ("productVat",),
    "vat_free": ("productVatFree",),
    "deleted": ("productIsDeleted",),
    "retail_price": ("productRetailPrice",),
    "currency": ("currencyId",),
    "visible": ("productIsVisible",),
    "shops": ("productShops",),
    "shops_attributes": ("productShopsAttributes",),
    "category_id": ("categoryId",),
    "category_name": ("categoryName",),
    "producer_name": ("producerId", "producerName"),
    "pictures": ("productImages",),
    "size_group_id": ("sizesGroupId",),
    "size_group_name": ("sizesGroupName",),
    "sizes_attributes": ("productSizesAttributes",),
    "quantities": ("productStocksData",),
    "version_data": ("productVersion",),
    "modification_time": ("productModificationTime",),
    "quantity_changed_time": ("productQuantityChangedTime",),
    "price_changed_time": ("productPriceChangedTime",),
}
IDENT_TYPES = ("id", "index", "codeExtern", "codeProducer")
STOCK_OPERATIONS = ("set", "add", "substract")
WAREHOUSES = (1, 2)  # M1 and M2: every seeded product lists both
WRITE_WAREHOUSE = 1  # the connector's default (IAI_WRITE_STOCK)

SIZE_GROUPS = [
    {"id": 0, "name": "Rozmiar uniwersalny", "description": "",
     "sizes": [{"id": "uniw", "name": "uniwersalny", "description": "", "operation": "",
                "lang_data": [{"lang_id": "pol", "name": "uniwersalny"}]}]},
    {"id": 1, "name": "Rozmiar odzieży", "description": "",
     "sizes": [{"id": sid, "name": name, "description": "", "operation": "",
                "lang_data": [{"lang_id": "pol", "name": name}]}
               for sid, name in (("2", "XS"), ("3", "S"), ("4", "M"), ("5", "L"), ("6", "XL"))]},
]
CLOTHES = [("3", "S"), ("4", "M"), ("5", "L")]
COLOURS = ["Czerwony", "Niebieski", "Zielony", "Czarny"]
NOUNS = ["Kubek", "Bluzka", "Koszula", "Plecak", "Lampa", "Czajnik", "Talerz", "Sweter"]
ADJECTIVES = ["emaliowany", "lniana", "bawełniana", "miejski", "stołowa", "stalowy", "płaski", "wełniany"]


class IdoSellFake(RunningFake):
    """Catalog state + the WSGI app; implements `gwsync.testing.fake.FakePlatform`."""

    def __init__(self, *, seed: int = 7, latency: float = 0.0, missing_as: str = "item_error") -> None:
        self.rng = random.Random(seed)
        self.latency = latency
        # how `GET products/stocks` tells a product it does not know (unverified, doc §6):
        # "item_error" (a per-item faultCode), "empty" (faultCode 2) or "404"
        self.missing_as = missing_as
        self.stock_writes: list[dict[str, Any]] = []  # every PUT products/stocks body, as sent
        self.sell_after_read: dict[tuple[int, str], int] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.status: dict[int, str] = {}  # active | in_trash | deleted
        self.touched: set[int] = set()  # products the FakePlatform methods changed or added
        self.images: dict[str, bytes] = {}
        self.calls: Counter = Counter()
        self.requests: list[dict[str, Any]] = []
        # search page number -> what happens in the shop just before that page is served
        self.before_page: dict[int, Callable[[], Any]] = {}
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.next_id = 1
        self._clock = datetime.now().replace(microsecond=0)
        self._history: datetime | None = None
        self.server: LoopbackServer | None = None
        self.base_url = "http://127.0.0.1"
        self.app = self._build_app()

    # -- FakePlatform ------------------------------------------------------

    def config(self) -> dict[str, str]:
        return {"url": self.base_url, "api_key": API_KEY}

    def bad_config(self) -> dict[str, str]:
        return {"url": self.base_url, "api_key": "wrong-" + API_KEY[6:]}

    def secrets(self) -> list[str]:
        return [API_KEY]

    def seed(self, products: int) -> None:
        """`products` IdoSell products: one-size ones, sized ones, and colour version pairs."""
        with self.lock:
            self.products.clear()
            self.status.clear()
            self.touched.clear()
            self.next_id = 1
            # seeded products were last changed over the past weeks, oldest id first
            self._history = datetime.now().replace(microsecond=0) - timedelta(minutes=7 * products + 60)
            made = 0
            while made < products:
                kind = made % 4
                if kind in (2,) and products - made >= 2:
                    self._add_group(2)
                    made += 2
                elif kind == 1:
                    self._add(sized=True)
                    made += 1
                else:
                    self._add(sized=False)
                    made += 1
            self._history = None

    def expected_items(self) -> int:
        with self.lock:
            return sum(len(p["productSizesAttributes"]) for pid, p in self.products.items()
                       if self.status[pid] == "active" and p["productIsVisible"] == "y")

    def change_price(self) -> tuple[str, str | None]:
        with self.lock:
            pid = next(pid for pid, p in self.products.items() if self._sized(p) and not self._grouped(p)
                       and self.status[pid] == "active")
            self.touched.add(pid)
            record = self.products[pid]
            size = record["productSizesAttributes"][1]
            size["productRetailPrice"] = round(size["productRetailPrice"] + 10.0, 2)
            record["productModificationTime"] = record["productPriceChangedTime"] = self._tick()
            return str(pid), f"{pid}-{size['sizeId']}"

    def change_stock(self) -> tuple[str, str | None]:
        with self.lock:
            pid = next(pid for pid, p in self.products.items() if not self._sized(p)
                       and not self._grouped(p) and self.status[pid] == "active")
            self.touched.add(pid)
            record = self.products[pid]
            row = record["productStocksData"]["productStocksQuantities"][0]["productSizesData"][0]
            row["productSizeQuantity"] += 3
            record["productQuantityChangedTime"] = self._tick()  # stock only: no modification time
            return str(pid), None

    def add_product(self) -> str:
        with self.lock:
            pid = self._add(sized=False)
            self.touched.add(pid)
            return str(pid)

    def remove_product(self) -> str:
        with self.lock:
            pid = next(pid for pid, p in reversed(self.products.items()) if not self._sized(p)
                       and not self._grouped(p) and self.status[pid] == "active"
                       and pid not in self.touched)
            self.touched.add(pid)
            self.status[pid] = "in_trash"
            self.products[pid]["productIsDeleted"] = "y"
            self.products[pid]["productModificationTime"] = self._tick()
            return str(pid)

    # -- StockFake (gwsync.testing.stock_suite) ------------------------------------

    def shop_stock(self, product_id: str, variant_id: str | None) -> int:
        """The item's stock as the import counts it (every warehouse, -1 adding nothing)."""
        with self.lock:
            pid, size = self._item(product_id, variant_id)
            return stock_by_size(self.products[pid], Options()).get(size, 0)

    def set_shop_stock(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        """All of it in M1 (the warehouse sales are booked in), none elsewhere."""
        with self.lock:
            pid, size = self._item(product_id, variant_id)
            for stock_id in WAREHOUSES:
                self._stock_row(pid, stock_id, size)["productSizeQuantity"] = quantity if stock_id == WRITE_WAREHOUSE else 0
            self.products[pid]["productQuantityChangedTime"] = self._tick()

    def sell_after_next_read(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        with self.lock:
            self.sell_after_read[self._item(product_id, variant_id)] = quantity

    def quantity(self, pid: int, size: str, stock_id: int) -> float:
        """One warehouse's quantity of one size, as `GET products/stocks` reports it."""
        with self.lock:
            return self._stock_row(pid, stock_id, size)["productSizeQuantity"]

    def delete_product(self, pid: int) -> None:
        """Gone for good (deleted from the trash): neither searches nor stock calls know it."""
        with self.lock:
            self.status[pid] = "deleted"
            self.products[pid]["productIsDeleted"] = "y"
            self.products[pid]["productModificationTime"] = self._tick()

    def _item(self, product_id: str, variant_id: str | None) -> tuple[int, str]:
        if variant_id:
            pid, _, size = variant_id.partition("-")
            return int(pid), size
        sizes = self.products[int(product_id)]["productSizesAttributes"]
        assert len(sizes) == 1, f"product {product_id} has {len(sizes)} sizes: name a variant"
        return int(product_id), str(sizes[0]["sizeId"])

    def _stock_row(self, pid: int, stock_id: int, size: str) -> dict[str, Any]:
        record = self.products[pid]
        stocks = record["productStocksData"]["productStocksQuantities"]
        stock = next((s for s in stocks if s["stockId"] == stock_id), None)
        if stock is None:
            stock = {"stockId": stock_id, "productSizesData": []}
            stocks.append(stock)
        row = next((r for r in stock["productSizesData"] if str(r["sizeId"]) == size), None)
        if row is None:
            row = {"sizeId": size, "productSizeQuantity": 0}
            stock["productSizesData"].append(row)
        return row

    def _sell_after_read(self, pids: set[int]) -> None:
        """The shop sells right after answering a read (sell_after_next_read)."""
        with self.lock:
            for (pid, size), quantity in list(self.sell_after_read.items()):
                if pid in pids:
                    del self.sell_after_read[(pid, size)]
                    self._stock_row(pid, WRITE_WAREHOUSE, size)["productSizeQuantity"] -= quantity
                    self.products[pid]["productQuantityChangedTime"] = self._tick()

    # -- more controls for tests ---------------------------------------------

    def hide_product(self, pid: int) -> None:
        with self.lock:
            self.products[pid]["productIsVisible"] = "n"
            self.products[pid]["productModificationTime"] = self._tick()

    def touch(self, pid: int, **fields: Any) -> None:
        with self.lock:
            self.products[pid].update(fields)
            self.products[pid]["productModificationTime"] = self._tick()

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.failures.extend([(status, headers or {})] * times)

    def search_calls(self) -> int:
        return self.calls["POST products/products/search"]

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def reset_counters(self) -> None:
        self.calls.clear()
        self.requests.clear()

    # -- catalog generation ---------------------------------------------------

    def _tick(self) -> str:
        """Now (shop time) for changes; during `seed`, a history spread over past weeks."""
        now = datetime.now().replace(microsecond=0)
        if self._history is not None:
            self._history += timedelta(minutes=7)
            return min(self._history, now - timedelta(hours=1)).strftime(TIME_FORMAT)
        self._clock = max(self._clock, now)
        return self._clock.strftime(TIME_FORMAT)

    @staticmethod
    def _sized(record: dict[str, Any]) -> bool:
        return record["productSizesAttributes"][0]["sizeId"] != "uniw"

    @staticmethod
    def _grouped(record: dict[str, Any]) -> bool:
        return len(record.get("productVersion", {}).get("versionProductsIds", [])) > 1

    def _add(self, *, sized: bool, name: str | None = None, version: dict | None = None) -> int:
        pid = self.next_id
        self.next_id += 1
        rng = self.rng
        name = name or f"{rng.choice(NOUNS)} {rng.choice(ADJECTIVES)} {pid}"
        price = round(rng.uniform(9, 500), 2)
        sizes = CLOTHES if sized else [("uniw", "uniwersalny")]
        attributes = []
        stock_rows_m1, stock_rows_m2 = [], []
        for index, (sid, panel) in enumerate(sizes):
            own = round(price + 5 * index, 2)
            attributes.append({
                "sizeId": sid, "sizePanelName": panel,
                "productSizeCodeExternal": f"SKU-{pid}-{sid}",
                "productSizeCodeProducer": _ean(pid * 10 + index),
                "productRetailPrice": own, "productSizeWeight": 300,
            })
            stock_rows_m1.append({"sizeId": sid, "sizePanelName": panel,
                                  "productSizeCodeExternal": f"SKU-{pid}-{sid}",
                                  "productSizeQuantity": rng.choice([0, 1, 2, 5, 10, -1])})
            stock_rows_m2.append({"sizeId": sid, "sizePanelName": panel,
                                  "productSizeCodeExternal": f"SKU-{pid}-{sid}",
                                  "productSizeQuantity": rng.choice([0, 0, 3])})
        now = self._tick()
        record: dict[str, Any] = {
            "productId": pid,
            "productDisplayedCode": f"IAI-{pid:05d}",
            "productVat": rng.choice([23.0, 23.0, 8.0, 5.0]),
            "productVatFree": "n",
            "currencyId": "PLN",
            "productRetailPrice": price,
            "productIsVisible": "y",
            "productIsDeleted": "n",
            "productShops": [{"shopId": 1, "shopsMask": 1}],
            "producerId": 7, "producerName": "Ceramika Nowak",
            "categoryId": 311, "categoryName": "Dom/Kuchnia/Kubki",
            "sizesGroupId": 1 if sized else 0,
            "sizesGroupName": SIZE_GROUPS[1 if sized else 0]["name"],
            "productWeight": 350,
            "productAddingTime": now,
            "productModificationTime": now,
            "productQuantityChangedTime": now,
            "productPriceChangedTime": now,
            "productDescriptionsLangData": [{
                "langId": "pol", "productName": name,
                "productDescription": f"<p>{name}: krótki opis.</p>",
                "productLongDescription": f"<style>p{{color:red}}</style><p>Opis {pid}.</p>"
                                          f"<img src=\"/data/include/cms/{pid}.jpg\">",
            }],
            "productImages": [],
            "productSizesAttributes": attributes,
            "productStocksData": {"productStocksQuantities": [
                {"stockId": 1, "productSizesData": stock_rows_m1},
                {"stockId": 2, "productSizesData": stock_rows_m2},
            ]},
        }
        if pid % 3 != 0:
            for n in range(1, 1 + (pid % 2) + 1):
                path = f"/data/gfx/pictures/large/{pid % 10}/{pid // 10 % 10}/{pid}_{n}.jpg"
                body = f"JPEG {pid} {n}".encode()
                self.images[path] = body
                record["productImages"].append({
                    "productImageId": f"{pid}_{n}.jpg", "productImagePriority": n,
                    "productImageLargeUrl": f"{self.base_url}{path}",
                    "productImageHash": hashlib.md5(body).hexdigest(),
                })
        if version:
            record["productVersion"] = version
        self.products[pid] = record
        self.status[pid] = "active"
        return pid

    def _add_group(self, size: int) -> list[int]:
        first = self.next_id
        ids = list(range(first, first + size))
        name = f"{self.rng.choice(NOUNS)} {self.rng.choice(ADJECTIVES)} {first}"
        for offset, pid in enumerate(ids):
            colour = COLOURS[offset % len(COLOURS)]
            version = {
                "versionParentId": first, "versionProductsIds": list(ids),
                "versionGroupNames": {"versionGroupNamesLangData": [{"langId": "pol", "versionGroupName": "Kolor"}]},
                "versionNames": {"versionNamesLangData": [{"langId": "pol", "versionName": colour}]},
            }
            self._add(sized=True, name=f"{name} {colour}", version=version)
            self.products[pid]["productVat"] = self.products[first]["productVat"]
        return ids

    # -- HTTP ----------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("idosell-fake")

        @app.before_request
        def _count():
            path = request.path
            route = path.split("/api/admin/", 1)[-1].split("/", 1)[-1] if "/api/admin/" in path else path
            if path.startswith("/data/gfx/"):
                route = "/data/gfx/pictures"
            with self.lock:
                self.calls[f"{request.method} {route}"] += 1
                self.requests.append({"method": request.method, "path": path,
                                      "json": request.get_json(silent=True)})
            if self.failures:
                status, headers = self.failures.pop(0)
                return Response('{"errors":{"faultCode":99,"faultString":"try again"}}', status=status,
                                headers={"Content-Type": "application/json", **headers})
            if path.startswith("/api/admin/"):
                key = request.headers.get("X-API-KEY", "")
                if key == LIMITED_KEY:
                    response = jsonify({"errors": {"faultCode": 1, "faultString": "Access denied"}})
                    response.status_code = 403
                    response.headers["X-Error"] = "Scope: pim, level: r"
                    return response
                if key != API_KEY:
                    message = "Nieprawidłowy klucz API" if key else "Brak klucza API"
                    response = jsonify({"errors": {"faultCode": 1, "faultString": message}})
                    response.status_code = 401
                    response.headers["X-Error"] = "Invalid API key"
                    return response
            return None

        @app.post("/api/admin/v<int:version>/products/products/search")
        def search(version: int):
            body = request.get_json(silent=True) or {}
            params = body.get("params") or {}
            try:
                page = int(params.get("resultsPage", 0))
                limit = int(params.get("resultsLimit", 100))
            except (TypeError, ValueError):
                return _fault(422, 3, "resultsPage/resultsLimit must be integers")
            if not 1 <= limit <= 100:
                return _fault(422, 3, "resultsLimit must be between 1 and 100")
            hook = self.before_page.pop(page, None) if not params.get("productParams") else None
            if hook is not None:
                hook()
            with self.lock:
                matches = [deepcopy(p) for pid, p in sorted(self.products.items())
                           if self._matches(pid, p, params)]
            total = len(matches)
            rows = matches[page * limit:(page + 1) * limit]
            if not rows:
                return _fault(207, 2, "Zapytanie zwróciło pusty wynik (empty result)")
            elements = params.get("returnElements")
            if isinstance(elements, list) and elements:
                keep = {"productId"} | {f for e in elements for f in ELEMENT_FIELDS.get(e, ())}
                rows = [{k: v for k, v in row.items() if k in keep} for row in rows]
            answer = jsonify({"resultsNumberAll": total, "resultsNumberPage": math.ceil(total / limit),
                              "resultsPage": page, "resultsLimit": limit, "results": rows})
            self._sell_after_read({row["productId"] for row in rows})
            return answer

        @app.get("/api/admin/v<int:version>/products/stocks")
        def stocks(version: int):
            if request.args.get("identType", "id") != "id":
                return _fault(422, 3, "the fake knows identType=id only")
            wanted = [p for value in request.args.getlist("products") for p in value.split(",") if p.strip()]
            if not 1 <= len(wanted) <= 100:
                return _fault(422, 3, "products: 1 to 100 product ids")
            with self.lock:
                results = [self._stock_result(ident.strip()) for ident in wanted]
            missing = [r for r in results if r.get("error", {}).get("faultCode")]
            if missing and len(missing) == len(results) and self.missing_as == "empty":
                return _fault(207, 2, "Zapytanie zwróciło pusty wynik (empty result)")
            if missing and len(missing) == len(results) and self.missing_as == "404":
                return _fault(404, 2, "Product not found")
            answer = jsonify({"results": results, "is_errors": bool(missing)})
            answer.status_code = 207 if missing else 200
            self._sell_after_read({int(i) for i in wanted if i.strip().isdigit()})
            return answer

        @app.put("/api/admin/v<int:version>/products/stocks")
        def change_stocks(version: int):
            body = request.get_json(silent=True)
            problem = _stock_change_problem(body)
            if problem:
                return _fault(422, 3, f"Invalid data format: {problem}")
            self.stock_writes.append(deepcopy(body))
            with self.lock:
                results = [self._change_product(product) for product in body["params"]["products"]]
            failed = any(r["error"]["faultCode"] or r["isSizesErrors"] for r in results)
            answer = jsonify({"results": results, "isErrors": failed})
            answer.status_code = 207 if failed else 200
            return answer

        @app.get("/api/admin/v<int:version>/sizes/sizes")
        def sizes(version: int):
            return jsonify({"size_groups": SIZE_GROUPS})

        @app.get("/data/gfx/pictures/<path:rest>")
        def picture(rest: str):
            body = self.images.get(request.path)
            if body is None:
                return Response("not found", status=404)
            return Response(body, mimetype="image/jpeg")

        @app.errorhandler(404)
        def not_found(_):
            return Response("<html><body>Nie znaleziono strony</body></html>", status=404,
                            mimetype="text/html")

        return app

    # -- step 2: stock reads and changes (under self.lock) ---------------------------

    def _stock_result(self, ident: str) -> dict[str, Any]:
        pid = int(ident) if ident.isdigit() else -1
        identity = {"identType": "id", "identValue": ident}
        if pid not in self.products or self.status[pid] == "deleted":
            return {"ident": identity, "error": {"faultCode": 4, "faultString": "Produkt nie istnieje"}}
        record = self.products[pid]
        stocks = [{"stock_id": stock["stockId"], "sizes": [
                      {"size_id": str(row["sizeId"]), "size_name": row.get("sizePanelName", ""),
                       "product_sizecode": row.get("productSizeCodeExternal", ""),
                       "quantity": row["productSizeQuantity"],
                       "reservations": {"adhoc": 0, "auction": 0, "client": 0, "order": 0, "retail": 0,
                                        "wholesale": 0}}
                      for row in stock["productSizesData"]]}
                  for stock in record["productStocksData"]["productStocksQuantities"]]
        sales = [{"sizeId": str(size["sizeId"]), "size_name": size["sizePanelName"],
                  "product_sizecode": size["productSizeCodeExternal"],
                  "allstocks": sum(max(int(r["quantity"]), 0) for s in stocks for r in s["sizes"]
                                   if r["size_id"] == str(size["sizeId"]))}
                 for size in record["productSizesAttributes"]]
        return {"ident": identity, "error": {"faultCode": 0, "faultString": ""},
                "quantities": {"stocks": stocks, "dispositions": {"sales": sales, "auctions": []}}}

    def _change_product(self, product: dict[str, Any]) -> dict[str, Any]:
        ident = product["ident"]
        value = str(ident["identValue"])
        pid = int(value) if ident["identType"] == "id" and value.isdigit() else -1
        if pid not in self.products or self.status[pid] == "deleted":
            return {"ident": ident, "sizes": [], "isSizesErrors": False,
                    "error": {"faultCode": 4, "faultString": "Produkt nie istnieje"}}
        sizes = [self._change_size(pid, size) for size in product["sizes"]]
        if any(not s["error"]["faultCode"] for s in sizes):
            self.products[pid]["productQuantityChangedTime"] = self._tick()
        return {"ident": ident, "sizes": sizes, "isSizesErrors": any(s["error"]["faultCode"] for s in sizes),
                "error": {"faultCode": 0, "faultString": ""}}

    def _change_size(self, pid: int, size: dict[str, Any]) -> dict[str, Any]:
        ident = size["ident"]
        known = {str(s["sizeId"]) for s in self.products[pid]["productSizesAttributes"]}
        sid = str(ident["identValue"])
        if ident["identType"] != "id" or sid not in known:
            return {"ident": ident, "error": {"faultCode": 5, "faultString": f"Rozmiar {sid} nie istnieje"}}
        changes = []
        for stock in size["quantity"]["stocks"]:
            if stock["stock_id"] not in WAREHOUSES:
                return {"ident": ident, "error": {"faultCode": 6,
                                                  "faultString": f"Magazyn {stock['stock_id']} nie istnieje"}}
            row = self._stock_row(pid, stock["stock_id"], sid)
            operation = stock["quantity_operation"]
            amount = operation["quantity"]
            new = {"set": amount, "add": row["productSizeQuantity"] + amount,
                   "substract": row["productSizeQuantity"] - amount}[operation["operation"]]
            if new < 0:  # assumed: the panel keeps no negative stock
                return {"ident": ident, "error": {"faultCode": 7, "faultString":
                                                  f"Niewystarczająca ilość w magazynie M{stock['stock_id']}"}}
            changes.append((row, new))
        for row, new in changes:
            row["productSizeQuantity"] = new
        return {"ident": ident, "error": {"faultCode": 0, "faultString": ""}}

    def _matches(self, pid: int, record: dict[str, Any], params: dict[str, Any]) -> bool:
        if self.status[pid] != params.get("returnProducts", "active"):
            return False
        wanted = params.get("productParams")
        if isinstance(wanted, list):  # the dict form is ignored, as by the real API
            ids = {str(p.get("productId")) for p in wanted if isinstance(p, dict)}
            if ids and str(pid) not in ids:
                return False
        window = params.get("productDate")
        if isinstance(window, dict):
            mode = window.get("productDateMode", "modified")
            begin = str(window.get("productDateBegin") or "0000-00-00")[:10]
            end = str(window.get("productDateEnd") or "9999-99-99")[:10]
            fields = {"modified": ["productModificationTime"],
                      "quantity_changed": ["productQuantityChangedTime"],
                      "price_changed": ["productPriceChangedTime"],
                      "modified_and_quantity_changed": ["productModificationTime", "productQuantityChangedTime"],
                      "added": ["productAddingTime"]}.get(mode, ["productModificationTime"])
            if not any(begin <= str(record.get(f, ""))[:10] <= end for f in fields):
                return False
        return True

    # -- serving -----------------------------------------------------------------------

    def start(self, port: int = 0) -> IdoSellFake:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server = LoopbackServer(self.app, self.latency, port).start()
        old = self.base_url
        self.base_url = self.server.url
        for record in self.products.values():  # pictures seeded before start point at the server
            for picture in record["productImages"]:
                picture["productImageLargeUrl"] = picture["productImageLargeUrl"].replace(old, self.base_url)
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()



def start_fake(port: int = 0) -> IdoSellFake:
    """A running fake on 127.0.0.1:`port` (used by `python -m gwsync.testing.smoke iai`)."""
    return IdoSellFake().start(port)


def _stock_change_problem(body: Any) -> str | None:
    """What the real API would refuse in a `PUT products/stocks` body (spec, products/stocks/put)."""
    products = ((body or {}).get("params") or {}).get("products") if isinstance(body, dict) else None
    if not isinstance(products, list) or not products:
        return "params.products must be a non-empty list"
    for product in products:
        if not isinstance(product, dict) or _ident_problem(product.get("ident")):
            return "products[].ident needs identType (id, index, codeExtern, codeProducer) and identValue"
        sizes = product.get("sizes")
        if not isinstance(sizes, list) or not sizes:
            return "products[].sizes must be a non-empty list"
        for size in sizes:
            if not isinstance(size, dict) or _ident_problem(size.get("ident")):
                return "sizes[].ident needs identType and identValue"
            stocks = (size.get("quantity") or {}).get("stocks") if isinstance(size.get("quantity"), dict) else None
            if not isinstance(stocks, list) or not stocks:
                return "sizes[].quantity.stocks must be a non-empty list"
            for stock in stocks:
                problem = _stock_problem(stock)
                if problem:
                    return problem
    return None


def _ident_problem(ident: Any) -> bool:
    return not (isinstance(ident, dict) and ident.get("identType") in IDENT_TYPES
                and isinstance(ident.get("identValue"), str) and ident["identValue"])


def _stock_problem(stock: Any) -> str | None:
    if not isinstance(stock, dict):
        return "stocks[] must be objects"
    stock_id = stock.get("stock_id")
    if not isinstance(stock_id, int) or isinstance(stock_id, bool) or stock_id < 1:
        return "stocks[].stock_id must be an integer of 1 or more"
    operation = stock.get("quantity_operation")
    if not isinstance(operation, dict) or operation.get("operation") not in STOCK_OPERATIONS:
        return "stocks[].quantity_operation.operation must be set, add or substract"
    quantity = operation.get("quantity")
    if not isinstance(quantity, (int, float)) or isinstance(quantity, bool) or quantity <= 0:
        return "stocks[].quantity_operation.quantity must be a number above 0"
    return None


def _fault(status: int, code: int, text: str) -> Response:
    response = jsonify({"errors": {"faultCode": code, "faultString": text}})
    response.status_code = status
    return response


def _ean(n: int) -> str:
    digits = f"590{n:09d}"[:12]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)
