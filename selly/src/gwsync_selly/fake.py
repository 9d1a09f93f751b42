"""A local fake of Selly's generation-1 table API and of the shop's public picture files.

What it reproduces (`../shared/platforms/selly.md`, `../shared/fixtures/selly/`):
- `GET /?api=<API_ID>` -> `{"coin": <int>}`; `GET /?key=<sha256(str(coin) + APP_KEY)>` ->
  `{"success": {"token": "<32 hex>", "expire_at": "2020-04-21T09:51:32.128Z"}}`.
- `GET /apig?token=<token>&table=<name>` -> base64 text of the whole table as a JSON array,
  rows in the recorded shapes (ids as numbers, prices and quantities as strings like
  "19.9" and "67.0", `liczba_egzemplarzy` null, VAT as an integer).
- Damage on demand (`damage(table, kind, times)`): garbage bytes after the JSON inside the
  base64 (`"garbage"`), garbage after the base64 text (`"tail"`), JSON cut short
  (`"truncated"`), or text that is not base64 at all (`"not-base64"`).
- Pictures as files under the shop's address: `/{zdjecia_katalog}{zdjecie_nr}.jpg`.

Not recorded, so chosen here: a refused handshake answers `{"error": "..."}` with HTTP 200;
an unknown or expired token answers HTTP 401 `{"error": "..."}`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import secrets
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from gwsync.testing.fake import LoopbackFake
from gwsync.testing.images import png

logging.getLogger("werkzeug").setLevel(logging.WARNING)

API_ID = "4711"
APP_KEY = base64.b64encode(secrets.token_bytes(24)).decode()  # made per process: no key in code
OTHER_KEY = base64.b64encode(secrets.token_bytes(24)).decode()
GROUPS = {1: "Kolor", 12: "Rozmiar"}
VALUES = {1: ["czerwony", "czarny", "brązowy"], 12: ["S", "M", "L", "XL"]}
CATEGORIES = [  # children listed before their parents, as in the recorded table
    {"kategoria_id": 14, "parent_id": 2, "nazwa": "Always Wild"},
    {"kategoria_id": 15, "parent_id": 2, "nazwa": "Loren"},
    {"kategoria_id": 1, "parent_id": 0, "nazwa": "Portfele damskie"},
    {"kategoria_id": 2, "parent_id": 0, "nazwa": "Portfele męskie"},
    {"kategoria_id": 39, "parent_id": 0, "nazwa": "Paski"},
]


def _qty(value: int) -> str:
    return f"{value}.0"


class SellyShop:
    """The shop's tables and the WSGI app that serves them."""

    def __init__(self, seed: int = 17, token_lifetime: timedelta = timedelta(hours=1)) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.api_id, self.app_key = API_ID, APP_KEY
        self.token_lifetime = token_lifetime
        self.coins: set[int] = set()
        self.tokens: dict[str, datetime] = {}
        self.calls: Counter = Counter()
        self.damaged: dict[str, list[str]] = {}
        self.picture_extension = "jpg"  # the extension the shop's picture files have
        self.tables: dict[str, list[dict[str, Any]]] = {
            "kategorie": [dict(c) for c in CATEGORIES],
            "produkty_atrybuty_grupy": [{"produkty_atrybuty_grupa_id": gid, "pozycja": gid,
                                         "produkty_atrybuty_grupa": name, "sposob_wyswietlania_atrybutow": "select"}
                                        for gid, name in GROUPS.items()],
            "produkty_atrybuty": [], "produkty_warianty_atrybuty": [], "produkty_zdjecia": [],
            "produkty_warianty": [], "produkty_wlasciwosci": [], "produkty": [],
        }
        self._attribute_ids: dict[tuple[int, str], int] = {}
        for gid, values in VALUES.items():
            for position, value in enumerate(values, 1):
                aid = 100 + len(self._attribute_ids)
                self._attribute_ids[(gid, value)] = aid
                self.tables["produkty_atrybuty"].append({"produkty_atrybut_id": aid, "produkty_atrybuty_grupa_id": gid,
                                                         "pozycja": position, "produkty_atrybut": value})
        self._next = {"product": 1, "variant": 600}

    # -- catalog ---------------------------------------------------------------------------

    def add_product(self, *, variants: int = 0, images: int = 2, two_axes: bool = False) -> int:
        rng = self.rng
        pid = self._next["product"]
        self._next["product"] += 1
        price = Decimal(rng.randrange(199, 29900)) / 10
        folder = f"img/products/{str(pid)[:2]}/{str(pid)[2:]}/" if pid >= 100 else f"img/products/{pid}/"
        numbers = list(range(1, images + 1))
        self.tables["produkty"].append({
            "product_id": pid, "category_id": rng.choice((14, 15, 1, 39)), "producer_id": 1,
            "product_name": f"Portfel {pid}", "product_name_additional": f"skórzany portfel {pid}",
            "price": f"{price:.1f}", "visible": 1, "keywords": f"portfel {pid}", "zestaw": 0})
        self.tables["produkty_wlasciwosci"].append({
            "produkt_id": pid, "kod_producenta": f"ZG-{pid}", "kod_dostawcy": None, "cena_poprzednia": "0.0",
            "stawka_vat": 23, "html_title": f"Portfel {pid}", "opis": f"<p>Portfel skórzany {pid}.</p>\r\n<p>[1]</p>",
            "opis_skrocony": "", "zdjecie_nr": numbers[0] if numbers else 0, "zdjecia_katalog": folder,
            "liczba_egzemplarzy": None if variants else _qty(rng.randrange(0, 40)), "waga": None,
            "symbol_produktu": f"ZG-{pid}", "kod_ean": f"59075183{pid:05d}"})
        for position, nr in enumerate(numbers):
            self.tables["produkty_zdjecia"].append({"produkt_id": pid, "zdjecie_nr": nr,
                                                    "zdjecie_pozycja": position, "zdjecie_opis": f"zdjęcie {nr}"})
        pairs = [(s, c) for s in VALUES[12] for c in VALUES[1]] if two_axes else [(s, None) for s in VALUES[12]]
        for position, (size, colour) in enumerate(rng.sample(pairs, min(variants, len(pairs))), 1):
            vid = self._next["variant"]
            self._next["variant"] += 1
            self.tables["produkty_warianty"].append({
                "produkty_wariant_id": vid, "produkt_id": pid, "pozycja": position,
                "ilosc": _qty(rng.randrange(0, 70)), "wariant_cena": f"{price + (position - 1) * 2:.1f}",
                "wariant_cena1": None, "zdjecie_nr": 0, "stawka_vat": 23, "domyslny": int(position == 1),
                "kod_produktu": f"ZG-{pid}-{size}" + (f"-{colour}" if colour else ""), "termin_dostawy": ""})
            for gid, value in ((12, size), (1, colour)):
                if value is not None:
                    self.tables["produkty_warianty_atrybuty"].append(
                        {"produkty_wariant_id": vid, "produkty_atrybut_id": self._attribute_ids[(gid, value)]})
        return pid

    def remove_product(self, pid: int) -> None:
        variant_ids = {v["produkty_wariant_id"] for v in self.tables["produkty_warianty"] if v["produkt_id"] == pid}
        for table, key in (("produkty", "product_id"), ("produkty_wlasciwosci", "produkt_id"),
                           ("produkty_zdjecia", "produkt_id"), ("produkty_warianty", "produkt_id")):
            self.tables[table] = [r for r in self.tables[table] if r[key] != pid]
        self.tables["produkty_warianty_atrybuty"] = [r for r in self.tables["produkty_warianty_atrybuty"]
                                                     if r["produkty_wariant_id"] not in variant_ids]

    def row(self, table: str, key: str, value: int) -> dict[str, Any]:
        return next(r for r in self.tables[table] if r[key] == value)

    def damage(self, table: str, kind: str = "garbage", times: int = 1) -> None:
        with self.lock:
            self.damaged.setdefault(table, []).extend([kind] * times)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        with self.lock:
            self.calls["total"] += 1
            if path == "" and "api" in request.args:
                self.calls["coin"] += 1
                return self._coin(request.args["api"])
            if path == "" and "key" in request.args:
                self.calls["token"] += 1
                return self._token(request.args["key"])
            if path == "/apig":
                self.calls[f"table {request.args.get('table')}"] += 1
                return self._table(request.args.get("token", ""), request.args.get("table", ""))
            self.calls["picture check" if request.method == "HEAD" else "site"] += 1
        if path == "":
            return Response("<html>sklep</html>", 200, content_type="text/html")
        if path.startswith("/img/products/") and path.endswith("." + self.picture_extension):
            return self._picture(path)
        return Response("<html>404</html>", 404, content_type="text/html")

    def _coin(self, api_id: str) -> Response:
        if api_id != self.api_id:
            return _json({"error": "Nieprawidłowy identyfikator API"})
        coin = self.rng.randrange(1000, 99999)
        self.coins.add(coin)
        return _json({"coin": coin})

    def _token(self, digest: str) -> Response:
        for coin in list(self.coins):
            if hashlib.sha256((str(coin) + self.app_key).encode()).hexdigest() == digest:
                self.coins.discard(coin)
                token = secrets.token_hex(16)
                expires = datetime.now(UTC) + self.token_lifetime
                self.tokens[token] = expires
                stamp = expires.strftime("%Y-%m-%dT%H:%M:%S.") + f"{expires.microsecond // 1000:03d}Z"
                return _json({"success": {"token": token, "expire_at": stamp}})
        return _json({"error": "Nieprawidłowy klucz"})

    def _table(self, token: str, name: str) -> Response:
        expires = self.tokens.get(token)
        if expires is None or expires <= datetime.now(UTC):
            return _json({"error": "Nieprawidłowy token"}, 401)
        if name not in self.tables:
            return _json({"error": f"Nieznana tabela {name}"}, 404)
        data = json.dumps(self.tables[name], ensure_ascii=False).encode()
        kinds = self.damaged.get(name)
        kind = kinds.pop(0) if kinds else None
        if kind == "garbage":
            body = base64.b64encode(data + b"\xff\xfe]}garbage\x00")
        elif kind == "truncated":
            body = base64.b64encode(data[: len(data) * 2 // 3])
        elif kind == "tail":
            body = base64.b64encode(data) + b"\x00\x17#garbage"
        elif kind == "not-base64":
            body = b"\x00\x01<html>upstream error</html>"
        else:
            body = base64.b64encode(data)
        return Response(body, 200, content_type="text/html; charset=UTF-8")

    def _picture(self, path: str) -> Response:
        folder, _, name = path.lstrip("/").rpartition("/")
        nr = name.rpartition(".")[0]
        for details in self.tables["produkty_wlasciwosci"]:
            if details["zdjecia_katalog"].rstrip("/") == folder:
                pid = details["produkt_id"]
                if any(r["produkt_id"] == pid and str(r["zdjecie_nr"]) == nr for r in self.tables["produkty_zdjecia"]):
                    colour = (pid * 37 % 256, int(nr) * 53 % 256, 128) if nr.isdigit() else (1, 2, 3)
                    return Response(png(colour), 200, content_type="image/jpeg")
        return Response("<html>404</html>", 404, content_type="text/html")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, content_type="application/json")


class SellyFake(LoopbackFake):
    """`gwsync.testing.FakePlatform` for the Selly connector: API and shop site on one server."""

    def __init__(self, latency: float = 0.0, seed: int = 17, port: int = 0,
                 token_lifetime: timedelta = timedelta(hours=1)) -> None:
        self.shop = SellyShop(seed, token_lifetime)
        super().__init__(self.shop, latency, port)

    # FakePlatform
    def config(self) -> dict[str, str]:
        return {"api_id": API_ID, "app_key": APP_KEY, "shop_url": self.url, "api_url": self.url}

    def bad_config(self) -> dict[str, str]:
        return {**self.config(), "app_key": OTHER_KEY}

    def secrets(self) -> list[str]:
        return [APP_KEY]

    def seed(self, products: int, *, variant_share: float = 0.4) -> None:
        rng = self.shop.rng
        with self.shop.lock:
            for _ in range(products):
                variants = rng.randint(1, 4) if rng.random() < variant_share else 0
                self.shop.add_product(variants=variants, images=rng.randint(1, 3), two_axes=rng.random() < 0.5)

    def expected_items(self) -> int:
        per_product = Counter(v["produkt_id"] for v in self.shop.tables["produkty_warianty"])
        return sum(per_product.get(p["product_id"], 0) or 1 for p in self.shop.tables["produkty"]
                   if p["visible"] == 1)

    def _simple(self, second: bool = False) -> int:
        with_variants = {v["produkt_id"] for v in self.shop.tables["produkty_warianty"]}
        simple = [p["product_id"] for p in self.shop.tables["produkty"] if p["product_id"] not in with_variants]
        return simple[1] if second else simple[0]

    def change_price(self) -> tuple[str, str | None]:
        with self.shop.lock:
            pid = self._simple()
            row = self.shop.row("produkty", "product_id", pid)
            row["price"] = f"{Decimal(row['price']) + 10:.1f}"
        return str(pid), None

    def change_stock(self) -> tuple[str, str | None]:
        with self.shop.lock:
            variant = self.shop.tables["produkty_warianty"][0]
            variant["ilosc"] = _qty(int(Decimal(variant["ilosc"])) + 5)
        return str(variant["produkt_id"]), str(variant["produkty_wariant_id"])

    def add_product(self) -> str:
        with self.shop.lock:
            return str(self.shop.add_product(images=1))

    def remove_product(self) -> str:
        with self.shop.lock:
            pid = self._simple(second=True)
            self.shop.remove_product(pid)
        return str(pid)


def start_fake(port: int = 0) -> SellyFake:
    """A running fake on 127.0.0.1:`port` (used by `python -m gwsync.testing.smoke selly`)."""
    return SellyFake(port=port).start()
