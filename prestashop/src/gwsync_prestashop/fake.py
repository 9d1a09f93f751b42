"""A local fake of the PrestaShop webservice (JSON output), for tests and benchmarks.

It serves the shapes of the recorded responses in shared/fixtures/prestashop:
list answers `{"<resource>": [...]}` and `[]` when empty, top-level `id` an int
and every other number a string, i18n fields as a language list (or a plain
string with `language=N`), the query language (`display`, `filter[...]` with
`[a|b]` and `[x,y]`, `sort`, `limit=o,c`, `date=1`), Basic auth with the key as
user name or `?ws_key=`, and the error codes of `WebserviceRequest`
(16/17/18/20+21 401, 22 503, 25 405, 26 401). Images are served as bytes.

`GET /api/` is not recorded: its JSON shape, a flat list of the resource names the
key may use, follows PrestaShop's JSON writer (`WebserviceOutputJSON::renderNodeHeader`).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import threading
from collections import Counter
from xml.etree import ElementTree
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request, Response

from gwsync.testing.fake import LoopbackFake

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines in test output

# made per process: no credential is written in code (32 characters, like a real key)
GOOD_KEY = secrets.token_hex(16).upper()
OTHER_KEY = secrets.token_hex(16).upper()
LANGS = ("1", "2")  # 1 = pl (default), 2 = en
RESOURCES = ("products", "combinations", "stock_availables", "product_options", "product_option_values",
             "categories", "tax_rule_groups", "tax_rules", "taxes", "languages", "configurations", "images",
             "shops", "currencies", "countries", "manufacturers", "specific_prices")
I18N = {"products": ("name", "description", "description_short", "link_rewrite", "meta_title",
                     "meta_description", "meta_keywords", "available_now", "available_later"),
        "categories": ("name", "link_rewrite", "description", "meta_title", "meta_description", "meta_keywords"),
        "product_options": ("name", "public_name"), "product_option_values": ("name",)}
SINGULAR = {"products": "product", "combinations": "combination", "stock_availables": "stock_available",
            "categories": "category", "taxes": "tax"}
DATE_FIELDS = ("date_add", "date_upd")
SIZES = ("XS", "S", "M", "L", "XL", "XXL")
COLOURS = (("czarny", "Black", "#434A54"), ("biały", "White", "#ffffff"), ("niebieski", "Blue", "#5D9CEC"),
           ("szary", "Grey", "#AAB2BD"))


def _s(value: Any) -> str:
    return str(value)


def _i18n(pl: str, en: str | None = None) -> dict[str, str]:
    return {"1": pl, "2": en if en is not None else pl}


class PrestaShopShop:
    """The shop's data and the WSGI app that serves it."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        # per key: granted resources, and those whose GET (View) box is not ticked (405 code 25)
        self.keys: dict[str, dict[str, Any]] = {GOOD_KEY: {"active": True, "resources": set(RESOURCES),
                                                           "no_get": set(), "no_put": set()}}
        self.webservice_enabled = True
        self.strip_authorization = False  # a FastCGI host that drops the Authorization header
        self.single_language = False
        self.calls: Counter = Counter()
        self.requests: list[str] = []
        self._faults: list[tuple[int, dict[str, str]]] = []
        self.stock_writes: list[dict[str, str]] = []  # every PUT body, as sent
        self.sell_after_read: dict[tuple[str, str], int] = {}  # step-2 tests: a shop sale right after a read
        self._clock = datetime(2024, 5, 1, 10, 0, 0)
        self.languages = [{"id": 1, "name": "Polski", "iso_code": "pl", "active": "1"},
                          {"id": 2, "name": "English", "iso_code": "en", "active": "1"}]
        self.configurations = [
            {"id": 10 + i, "name": name, "value": value, "id_shop_group": "", "id_shop": ""}
            for i, (name, value) in enumerate((("PS_COUNTRY_DEFAULT", "14"), ("PS_LANG_DEFAULT", "1"),
                                               ("PS_CURRENCY_DEFAULT", "1"), ("PS_SHOP_DEFAULT", "1"),
                                               ("PS_ROOT_CATEGORY", "1"), ("PS_HOME_CATEGORY", "2"),
                                               ("PS_SHOP_NAME", "Sklep Testowy"), ("PS_TAX", "1"),
                                               ("PS_TIMEZONE", "Europe/Warsaw")))]
        self.tax_rule_groups = [
            {"id": 1, "name": "PL Standard Rate (23%)", "active": "1", "deleted": "0"},
            {"id": 2, "name": "PL Reduced Rate (8%)", "active": "1", "deleted": "0"},
            {"id": 3, "name": "PL Reduced Rate (5%)", "active": "1", "deleted": "0"},
        ]
        self.taxes = [{"id": 1, "rate": "23.000", "active": "1", "deleted": "0", "name": _i18n("PTU PL 23%")},
                      {"id": 2, "rate": "8.000", "active": "1", "deleted": "0", "name": _i18n("PTU PL 8%")},
                      {"id": 3, "rate": "5.000", "active": "1", "deleted": "0", "name": _i18n("PTU PL 5%")},
                      {"id": 4, "rate": "20.000", "active": "1", "deleted": "0", "name": _i18n("TVA FR 20%")}]
        self.tax_rules = []
        for rid, (group, country, tax) in enumerate(((1, 14, 1), (2, 14, 2), (3, 14, 3), (1, 8, 4), (2, 8, 4)), 1):
            self.tax_rules.append({"id": rid, "id_tax_rules_group": _s(group), "id_state": "0",
                                   "id_country": _s(country), "zipcode_from": "0", "zipcode_to": "0",
                                   "id_tax": _s(tax), "behavior": "0", "description": ""})
        self.product_options = [
            {"id": 1, "is_color_group": "0", "group_type": "select", "position": "0",
             "name": _i18n("Rozmiar", "Size"), "public_name": _i18n("Rozmiar", "Size")},
            {"id": 2, "is_color_group": "1", "group_type": "color", "position": "1",
             "name": _i18n("Kolor", "Color"), "public_name": _i18n("Kolor", "Color")},
        ]
        self.product_option_values = []
        for i, size in enumerate(SIZES, 1):
            self.product_option_values.append({"id": i, "id_attribute_group": "1", "color": "",
                                               "position": _s(i - 1), "name": _i18n(size)})
        for j, (pl, en, hex_) in enumerate(COLOURS, len(SIZES) + 1):
            self.product_option_values.append({"id": j, "id_attribute_group": "2", "color": hex_,
                                               "position": _s(j), "name": _i18n(pl, en)})
        self.categories = [
            {"id": 1, "id_parent": "0", "level_depth": "0", "is_root_category": "0", "active": "1",
             "name": _i18n("Baza", "Root")},
            {"id": 2, "id_parent": "1", "level_depth": "1", "is_root_category": "1", "active": "1",
             "name": _i18n("Strona główna", "Home")},
            {"id": 3, "id_parent": "2", "level_depth": "2", "is_root_category": "0", "active": "1",
             "name": _i18n("Odzież", "Clothes")},
            {"id": 4, "id_parent": "3", "level_depth": "3", "is_root_category": "0", "active": "1",
             "name": _i18n("Koszule", "Shirts")},
            {"id": 5, "id_parent": "2", "level_depth": "2", "is_root_category": "0", "active": "1",
             "name": _i18n("Akcesoria", "Accessories")},
        ]
        self.products: dict[int, dict[str, Any]] = {}
        self.combinations: dict[int, dict[str, Any]] = {}
        self.stock: dict[int, dict[str, Any]] = {}
        self.specific_prices: dict[int, dict[str, Any]] = {}
        self._next = {"product": 1, "combination": 1, "stock": 1, "image": 1, "specific_price": 1}

    # -- clock and ids -----------------------------------------------------

    def tick(self) -> str:
        """The shop's clock for `date_upd`: ten minutes per edit, as edits by people are spread out."""
        self._clock += timedelta(minutes=10)
        return self._clock.strftime("%Y-%m-%d %H:%M:%S")

    def _id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] += 1
        return value

    # -- catalog -----------------------------------------------------------

    def add_product(self, *, combinations: int = 0, images: int = 1, net: str | None = None,
                    tax_group: int = 1, active: bool = True, quantity: int | None = None,
                    category: int | None = None) -> int:
        rng = self.rng
        pid = self._id("product")
        net_price = Decimal(net) if net is not None else (
            Decimal(rng.randrange(1990, 49900)) / 100 / Decimal("1.23")).quantize(Decimal("0.000001"))
        image_ids = [self._id("image") for _ in range(images)]
        stamp = self.tick()
        record = {
            "id": pid, "id_manufacturer": "0", "id_supplier": "0",
            "id_category_default": _s(category or rng.choice((2, 3, 4, 5))),
            "new": None, "cache_default_attribute": "0",
            "id_default_image": _s(image_ids[0]) if image_ids else "0",
            "id_default_combination": 0, "id_tax_rules_group": _s(tax_group), "position_in_category": "0",
            "manufacturer_name": False, "quantity": "0", "type": "simple", "id_shop_default": "1",
            "reference": f"REF-{pid:05d}", "supplier_reference": "", "location": "",
            "width": "0.000000", "height": "0.000000", "depth": "0.000000", "weight": "0.000000",
            "ean13": "", "isbn": "", "upc": "", "state": "1", "on_sale": "0", "online_only": "0",
            "ecotax": "0.000000", "minimal_quantity": "1", "low_stock_threshold": None,
            "price": f"{net_price:.6f}", "wholesale_price": "0.000000", "unity": "",
            "active": "1" if active else "0", "available_for_order": "1", "available_date": "0000-00-00",
            "condition": "new", "show_price": "1", "indexed": "1", "visibility": "both",
            "advanced_stock_management": "0", "date_add": stamp, "date_upd": stamp, "pack_stock_type": "3",
            "meta_description": _i18n(""), "meta_keywords": _i18n(""), "meta_title": _i18n(""),
            "link_rewrite": _i18n(f"produkt-{pid}", f"product-{pid}"),
            "name": _i18n(f"Produkt {pid}", f"Product {pid}"),
            "description": _i18n(f"<p>Opis produktu {pid}</p>", f"<p>Description of product {pid}</p>"),
            "description_short": _i18n(f"<p>Krótko {pid}</p>", f"<p>Short {pid}</p>"),
            "available_now": _i18n(""), "available_later": _i18n(""),
            "associations": {"categories": [{"id": c} for c in sorted({"2", _s(category or 2)})],
                             "images": [{"id": _s(i)} for i in image_ids]},
        }
        self.products[pid] = record
        self._stock_row(pid, 0, quantity if quantity is not None else rng.randrange(0, 50))
        pairs = [(s, c) for s in range(1, len(SIZES) + 1) for c in range(len(SIZES) + 1, len(SIZES) + 5)]
        for size, colour in rng.sample(pairs, combinations):
            self.add_combination(pid, [size, colour])
        return pid

    def add_specific_price(self, pid: int, *, reduction: str = "0.200000", reduction_type: str = "percentage",
                           combination: int = 0, start: str = "0000-00-00 00:00:00",
                           end: str = "0000-00-00 00:00:00", **fields: str) -> dict[str, Any]:
        """A catalog promotion as PrestaShop stores it (`specific_price` row); no product change."""
        sid = self._id("specific_price")
        row = {"id": sid, "id_shop_group": "0", "id_shop": "1", "id_cart": "0", "id_product": _s(pid),
               "id_product_attribute": _s(combination), "id_currency": "0", "id_country": "0", "id_group": "0",
               "id_customer": "0", "id_specific_price_rule": "0", "price": "-1.000000", "from_quantity": "1",
               "reduction": reduction, "reduction_tax": "1", "reduction_type": reduction_type,
               "from": start, "to": end, **fields}
        self.specific_prices[sid] = row
        return row

    def add_combination(self, pid: int, values: list[int], impact: str | None = None,
                        reference: str | None = None, images: list[int] | None = None) -> int:
        product = self.products[pid]
        cid = self._id("combination")
        rng = self.rng
        own_images = images if images is not None else (
            [int(product["associations"]["images"][0]["id"])]
            if product["associations"]["images"] and rng.random() < 0.5 else [])
        record = {
            "id": cid, "id_product": _s(pid), "location": "", "ean13": "", "isbn": "", "upc": "",
            "quantity": "0", "reference": reference if reference is not None else (
                f"REF-{pid:05d}-{cid}" if rng.random() < 0.8 else ""),
            "supplier_reference": "", "wholesale_price": "0.000000",
            "price": impact if impact is not None else rng.choice(("0.000000", "4.065041", "-2.032520")),
            "ecotax": "0.000000", "weight": "0.000000", "unit_price_impact": "0.000000",
            "minimal_quantity": "1", "low_stock_threshold": None, "low_stock_alert": "0",
            "default_on": "1" if not product["associations"].get("combinations") else None,
            "available_date": "0000-00-00",
            "associations": {"product_option_values": [{"id": _s(v)} for v in values]},
        }
        if own_images:
            record["associations"]["images"] = [{"id": _s(i)} for i in own_images]
        self.combinations[cid] = record
        product["associations"].setdefault("combinations", []).append({"id": _s(cid)})
        product["associations"].setdefault("product_option_values", []).extend({"id": _s(v)} for v in values)
        product["cache_default_attribute"] = product["associations"]["combinations"][0]["id"]
        self._stock_row(pid, cid, rng.randrange(0, 20))
        return cid

    def _stock_row(self, pid: int, paid: int, quantity: int) -> None:
        sid = self._id("stock")
        self.stock[sid] = {"id": sid, "id_product": _s(pid), "id_product_attribute": _s(paid), "id_shop": "1",
                           "id_shop_group": "0", "quantity": _s(quantity), "depends_on_stock": "0",
                           "out_of_stock": "2", "location": ""}
        self.products[pid]["associations"].setdefault("stock_availables", []).append(
            {"id": _s(sid), "id_product_attribute": _s(paid)})

    def remove(self, pid: int) -> None:
        self.products.pop(pid)
        for cid in [c for c, r in self.combinations.items() if r["id_product"] == _s(pid)]:
            del self.combinations[cid]
        for sid in [s for s, r in self.stock.items() if r["id_product"] == _s(pid)]:
            del self.stock[sid]

    def stock_row(self, pid: int, paid: int = 0) -> dict[str, Any]:
        return next(r for r in self.stock.values()
                    if r["id_product"] == _s(pid) and r["id_product_attribute"] == _s(paid))

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self._faults.extend([(status, headers or {})] * times)

    # -- WSGI --------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        path = request.path
        marker = path.find("/api/")
        if marker < 0 and not path.endswith("/api"):
            return Response("<html>404 Not Found</html>", 404, content_type="text/html")
        segments = [s for s in path[marker + 5:].split("/") if s] if marker >= 0 else []
        with self.lock:
            self.calls[segments[0] if segments else "/"] += 1
            self.calls["total"] += 1
            self.requests.append(request.full_path)
            fault = self._faults.pop(0) if self._faults else None
        if fault:
            return Response("<html>busy</html>", fault[0], headers=fault[1], content_type="text/html")
        if not self.webservice_enabled:
            return self._error(503, 22, "The PrestaShop webservice is disabled. Please activate it in the "
                                        "PrestaShop Back Office")
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        key = self._key_of(request)
        resource = segments[0] if segments else ""
        if request.method == "PUT" and resource == "stock_availables" and len(segments) == 2 \
                and resource not in self.keys[key]["no_put"]:
            return self._put_stock(segments[1], request)
        if request.method not in ("GET", "HEAD") or resource in self.keys[key]["no_get"]:
            return self._error(405, 25, f"Method {request.method} is not allowed for the resource "
                                        f"{resource} with this authentication key")
        if not segments:
            if request.args.get("output_format") != "JSON":
                return self._root_xml(self.keys[key])
            return self._json(sorted(self.keys[key]["resources"]))
        if resource not in self.keys[key]["resources"]:
            return self._error(401, 26, f'Resource of type "{resource}" is not allowed with this '
                                        "authentication key")
        if resource == "images":
            return self._image(segments)
        with self.lock:
            rows = self._rows(resource)
            if rows is None:
                return self._error(400, 27, f'Resource of type "{resource}" does not exists')
            if len(segments) > 1:
                match = [r for r in rows if _s(r["id"]) == segments[1]]
                if not match:
                    return self._error(404, 87, f"Id({segments[1]}) not found")
                return self._json({SINGULAR.get(resource, resource[:-1]): self._render(resource, match[0],
                                                                                       request, full=True)})
            answer = self._list(resource, rows, request)
            if resource == "stock_availables":
                self._sell_after_read(request)
            return answer

    @staticmethod
    def _root_xml(key: dict[str, Any]) -> Response:
        """The XML resource listing: each resource the key may use, flagged per method."""
        def flags(resource: str) -> str:
            get = "false" if resource in key["no_get"] else "true"
            put = "false" if resource in key["no_put"] else "true"
            return f'get="{get}" put="{put}" post="false" patch="false" delete="false" head="{get}"'

        entries = "".join(f'<{r} xlink:href="http://shop.example/api/{r}" {flags(r)}><description>{r}'
                          f"</description></{r}>" for r in sorted(key["resources"]))
        body = ('<?xml version="1.0" encoding="UTF-8"?><prestashop xmlns:xlink="http://www.w3.org/1999/xlink">'
                f'<api shopName="Fake shop">{entries}</api></prestashop>')
        return Response(body, 200, headers={"PSWS-Version": "8.1.2"}, content_type="text/xml;charset=utf-8")

    def _put_stock(self, sid: str, request: Request) -> Response:
        """PUT replaces the whole row: a field left out becomes empty, as in PrestaShop (NULL)."""
        with self.lock:
            row = self.stock.get(int(sid)) if sid.isdigit() else None
            if row is None:
                return self._error(404, 87, f"Id({sid}) not found")
            try:
                node = ElementTree.fromstring(request.get_data()).find("stock_available")
            except ElementTree.ParseError:
                node = None
            if node is None or (node.findtext("id") or "") != sid:
                return self._error(400, 90, "id is required when modifying a resource")
            sent = {child.tag: child.text or "" for child in node}
            row.update({name: sent.get(name, "") for name in row if name != "id"})
            self.stock_writes.append(dict(sent))
            return self._json({"stock_available": row})

    def _sell_after_read(self, request: Request) -> None:
        wanted = (request.args.get("filter[id_product]", "").strip("[]"),
                  request.args.get("filter[id_product_attribute]", "").strip("[]"))
        sold = self.sell_after_read.pop(wanted, 0)
        if sold:
            row = self.stock_row(int(wanted[0]), int(wanted[1] or 0))
            row["quantity"] = _s(int(row["quantity"]) - sold)

    def _key_of(self, request: Request) -> str | None:
        if "ws_key" in request.args:
            return request.args["ws_key"]
        header = "" if self.strip_authorization else request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                return base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return ""
        return None

    def _authenticate(self, request: Request) -> Response | None:
        key = self._key_of(request)
        if key is None:
            return self._error(401, 16, "Please enter the authentication key as the login. No password required",
                               auth=True)
        if not key:
            return self._error(401, 17, "Authentication key is empty", auth=True)
        if len(key) != 32:
            return self._error(401, 18, "Invalid authentication key format", auth=True)
        if key not in self.keys or not self.keys[key]["active"]:
            body = {"errors": [{"code": 20, "message": "Authentification key is not active"},
                               {"code": 21, "message": "No permission for this authentication key"}]}
            return self._json(body, 401, auth=True)
        return None

    def _error(self, status: int, code: int, message: str, auth: bool = False) -> Response:
        return self._json({"errors": [{"code": code, "message": message}]}, status, auth=auth)

    @staticmethod
    def _json(body: Any, status: int = 200, auth: bool = False) -> Response:
        headers = {"PSWS-Version": "8.1.2"} if status < 400 else {}
        if auth:
            headers["WWW-Authenticate"] = ('Basic realm="Welcome to PrestaShop Webservice, please enter the '
                                           'authentication key as the login. No password required."')
        return Response(json.dumps(body, ensure_ascii=False), status, headers=headers,
                        content_type="application/json;charset=utf-8")

    def _image(self, segments: list[str]) -> Response:
        if len(segments) != 4 or segments[1] != "products":
            return self._error(400, 66, "This image type does not exist")
        pid, iid = segments[2], segments[3]
        product = self.products.get(int(pid)) if pid.isdigit() else None
        if product is None or {"id": iid} not in product["associations"]["images"]:
            return self._error(404, 66, "This image id does not exist")
        body = b"\xff\xd8\xff\xe0" + f"prestashop image {pid}/{iid}".encode() + b"\x00" * 64 + b"\xff\xd9"
        return Response(body, 200, content_type="image/jpeg")

    def _rows(self, resource: str) -> list[dict[str, Any]] | None:
        table = {"products": list(self.products.values()), "combinations": list(self.combinations.values()),
                 "stock_availables": list(self.stock.values()), "product_options": self.product_options,
                 "product_option_values": self.product_option_values, "categories": self.categories,
                 "tax_rule_groups": self.tax_rule_groups, "tax_rules": self.tax_rules, "taxes": self.taxes,
                 "languages": self.languages, "configurations": self.configurations,
                 "specific_prices": list(self.specific_prices.values())}
        return table.get(resource)

    def _render(self, resource: str, row: dict[str, Any], request: Request, *, full: bool,
                fields: list[str] | None = None) -> dict[str, Any]:
        language = request.args.get("language")
        out = {}
        for name, value in row.items():
            if not full and fields is not None and name not in fields:
                continue
            if name in I18N.get(resource, ()) or (isinstance(value, dict) and set(value) <= set(LANGS)
                                                  and name != "associations"):
                if language or self.single_language:
                    value = value[language or "1"]
                else:
                    value = [{"id": lid, "value": value[lid]} for lid in LANGS]
            out[name] = value
        return json.loads(json.dumps(out))

    def _list(self, resource: str, rows: list[dict[str, Any]], request: Request) -> Response:
        args = request.args
        for name, value in args.items():
            if not name.startswith("filter["):
                continue
            field = name[7:-1]
            if field in DATE_FIELDS and args.get("date") != "1":
                return self._error(400, 32, f'This filter does not exist for this linked table "{field}"')
            if not (value.startswith("[") and value.endswith("]")):
                return self._error(400, 32, "The filter value must be in brackets")
            rows = [r for r in rows if field in r and _matches(r[field], value[1:-1])]
        sort = args.get("sort", "[id_ASC]").strip("[]").split(",")[0]
        field, _, direction = sort.rpartition("_")
        rows = sorted(rows, key=lambda r: _sort_key(r.get(field)), reverse=direction == "DESC")
        if "limit" in args:
            parts = args["limit"].split(",")
            offset, count = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, int(parts[0]))
            rows = rows[offset:offset + count]
        display = args.get("display")
        if display is None:
            rendered = [{"id": r["id"]} for r in rows]
        elif display == "full":
            rendered = [self._render(resource, r, request, full=True) for r in rows]
        else:
            wanted = display.strip("[]").split(",")
            rendered = [self._render(resource, r, request, full=False, fields=wanted) for r in rows]
        if not rendered:
            return self._json([])
        return self._json({resource: rendered})


def _sort_key(value: Any) -> Any:
    try:
        return (0, Decimal(str(value)), "")
    except InvalidOperation:  # text sorts after numbers
        return (1, Decimal(0), str(value))


def _matches(value: Any, spec: str) -> bool:
    text = str(value)
    if "|" in spec or spec.isdigit():
        return text in spec.split("|")
    if "," in spec:
        low, high = spec.split(",", 1)
        try:
            return Decimal(low) <= Decimal(text) <= Decimal(high)
        except InvalidOperation:  # dates compare as text
            return low <= text <= high
    return text.lower() == spec.lower()


class PrestaShopFake(LoopbackFake):
    """`gwsync.testing.FakePlatform` for the PrestaShop connector."""

    def __init__(self, latency: float = 0.0, seed: int = 7, port: int = 0) -> None:
        self.shop = PrestaShopShop(seed)
        super().__init__(self.shop, latency, port)

    # FakePlatform
    def config(self) -> dict[str, str]:
        return {"url": self.url, "api_key": GOOD_KEY}

    def bad_config(self) -> dict[str, str]:
        return {"url": self.url, "api_key": OTHER_KEY}

    def secrets(self) -> list[str]:
        return [GOOD_KEY]

    def seed(self, products: int, *, variant_share: float = 0.4, images: tuple[int, int] = (1, 4),
             combinations: tuple[int, int] = (2, 6)) -> None:
        rng = self.shop.rng
        for _ in range(products):
            variants = rng.randint(*combinations) if rng.random() < variant_share else 0
            self.shop.add_product(combinations=variants, images=rng.randint(*images),
                                  tax_group=rng.choice((1, 1, 1, 2)))

    def expected_items(self) -> int:
        per_product = Counter(c["id_product"] for c in self.shop.combinations.values())
        return sum(per_product.get(_s(pid), 0) or 1 for pid in self.shop.products)

    def _simple(self, second: bool = False) -> int:
        simple = [pid for pid, p in sorted(self.shop.products.items()) if not p["associations"].get("combinations")]
        return simple[1] if second else simple[0]

    def change_price(self) -> tuple[str, str | None]:
        with self.shop.lock:
            pid = self._simple()
            product = self.shop.products[pid]
            product["price"] = f"{Decimal(product['price']) + Decimal('8.130081'):.6f}"
            product["date_upd"] = self.shop.tick()
        return str(pid), None

    def change_stock(self) -> tuple[str, str | None]:
        with self.shop.lock:
            combination = next(iter(sorted(self.shop.combinations.items())), None)
            if combination is None:
                pid, paid = self._simple(), 0
            else:
                pid, paid = int(combination[1]["id_product"]), combination[0]
            row = self.shop.stock_row(pid, paid)
            row["quantity"] = _s(int(row["quantity"]) + 5)  # stock writes do not touch date_upd
        return str(pid), (str(paid) if paid else None)

    def add_product(self) -> str:
        with self.shop.lock:
            return str(self.shop.add_product(images=1))

    def remove_product(self) -> str:
        with self.shop.lock:
            pid = self._simple(second=True)
            self.shop.remove(pid)
        return str(pid)

    @property
    def calls(self) -> Counter:
        return self.shop.calls

    # StockFake (step 2)
    def shop_stock(self, product_id: str, variant_id: str | None) -> int:
        with self.shop.lock:
            return int(self.shop.stock_row(int(product_id), int(variant_id or 0))["quantity"])

    def set_shop_stock(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        with self.shop.lock:
            self.shop.stock_row(int(product_id), int(variant_id or 0))["quantity"] = _s(quantity)

    def sell_after_next_read(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        with self.shop.lock:
            self.shop.sell_after_read[(product_id, variant_id or "0")] = quantity


def start_fake(port: int = 0) -> PrestaShopFake:
    """A running fake on 127.0.0.1:`port` (used by `python -m gwsync.testing.smoke prestashop`)."""
    return PrestaShopFake(port=port).start()
