"""A local fake of Magento 2's REST API (`/rest/<store>/V1/...`), for tests and benchmarks.

It serves the shapes of the answers recorded from a Magento 2.3 Luma shop
(shared/fixtures/magento): `{"items", "search_criteria", "total_count"}` lists,
products with `custom_attributes`, `extension_attributes`
(`website_ids`, `category_links`, `configurable_product_options`,
`configurable_product_links`) and `media_gallery_entries`, store configs with
`base_media_url`, tax rules and rates, attribute options, and the category tree.
It implements what the connector relies on: `searchCriteria` filter groups
(OR inside a group, AND between groups), sort orders, page size and number with a
page past the end answered with the LAST page again (magento2#3787), the `fields`
filter (nested), bearer tokens (refused unless the shop allows them, as 2.4.4+ does
by default), OAuth 1.0a HMAC-SHA256 signatures with one-time nonces, ACL 401s
naming the missing resource, MSI source items (or a 404 route without MSI) and
the legacy `stockItems/lowStock` list. Product images are served as PNG bytes.

Stock writes (step 2) as Magento takes them, through any store code (`all` included):
`POST inventory/source-items {"sourceItems": [...]}` answered `[]`, saving source items
even for a SKU no product has (magento2#30274); `GET stockItems/{sku}` and
`PUT products/{sku}/stockItems/{itemId} {"stockItem": {...}}`, merged into the stored
item. Bodies are validated field by field; every write is kept in `stock_writes`.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature, utils
from werkzeug.wrappers import Request, Response

from gwsync.testing.fake import LoopbackFake
from gwsync.testing.images import png

logging.getLogger("werkzeug").setLevel(logging.WARNING)

# Made per process: no credential is written in code (32 lower-case characters, like Magento's)
TOKEN = secrets.token_hex(16)
CONSUMER_KEY = secrets.token_hex(16)
CONSUMER_SECRET = secrets.token_hex(16)
TOKEN_SECRET = secrets.token_hex(16)
WRONG_TOKEN = secrets.token_hex(16)

ACL = {  # path prefix -> the ACL resource Magento checks
    "store/storeConfigs": "Magento_Backend::store",
    "products/attributes": "Magento_Catalog::attributes_attributes",
    "products": "Magento_Catalog::products",
    "categories": "Magento_Catalog::categories",
    "taxRules": "Magento_Tax::manage_tax",
    "taxRates": "Magento_Tax::manage_tax",
    "inventory/source-items": "Magento_InventoryApi::source",
    "stockItems": "Magento_CatalogInventory::cataloginventory",
}
NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
NO_ROUTE = {"message": "Request does not match any route."}
SIZES = (("5593", "S"), ("5594", "M"), ("5595", "L"), ("5596", "XL"))
COLOURS = (("5476", "Czarny"), ("5477", "Niebieski"), ("5478", "Brązowy"))
TAX_CLASSES = ("2", "2", "6", "7")  # 23 %, 23 %, 8 %, a class without a rule (VAT 0)
SOURCES = ("default", "magazyn_2")


def parse_fields(text: str) -> dict[str, Any]:
    """`items[id,extension_attributes[a,b]],total_count` -> {"items": {"id": None, ...}, "total_count": None}."""
    pos = 0

    def level() -> dict[str, Any]:
        nonlocal pos
        out: dict[str, Any] = {}
        while pos < len(text):
            start = pos
            while pos < len(text) and text[pos] not in ",[]":
                pos += 1
            name, sub = text[start:pos].strip(), None
            if pos < len(text) and text[pos] == "[":
                pos += 1
                sub = level()
                pos += 1  # the closing bracket
            if name:
                out[name] = sub
            if pos < len(text) and text[pos] == ",":
                pos += 1
            elif pos < len(text) and text[pos] == "]":
                return out
        return out

    return level()


def apply_fields(value: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: apply_fields(value[k], sub) for k, sub in tree.items() if k in value}
    return value


def _criteria(args: Any) -> tuple[list[list[tuple[str, str, str]]], list[tuple[str, str]], int | None, int]:
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    for name, value in args.items(multi=True):
        parts = name.replace("]", "").split("[")
        if parts[0] != "searchCriteria":
            continue
        if parts[1:2] == ["filter_groups"] and len(parts) == 6:
            groups.setdefault(int(parts[2]), {}).setdefault(int(parts[4]), {})[parts[5]] = value
        elif parts[1:2] == ["sortOrders"] and len(parts) == 4:
            sorts.setdefault(int(parts[2]), {})[parts[3]] = value
    filters = [[(f.get("field", ""), f.get("condition_type", "eq"), f.get("value", ""))
                for _, f in sorted(g.items())] for _, g in sorted(groups.items())]
    sort = [(s.get("field", ""), s.get("direction", "ASC")) for _, s in sorted(sorts.items())]
    size = args.get("searchCriteria[pageSize]")
    page = args.get("searchCriteria[currentPage]")
    return filters, sort, int(size) if size else None, int(page) if page else 1


def _matches(value: Any, condition: str, wanted: str) -> bool:
    text = "" if value is None else str(value)
    if condition == "in":
        return text in wanted.split(",")
    if condition == "nin":
        return text not in wanted.split(",")
    if condition == "neq":
        return text != wanted
    if condition in ("gt", "gteq", "lt", "lteq", "from", "to"):
        a, b = (float(text), float(wanted)) if text.replace(".", "").isdigit() else (text, wanted)
        return {"gt": a > b, "gteq": a >= b, "from": a >= b, "lt": a < b, "lteq": a <= b, "to": a <= b}[condition]
    return text == wanted


def legacy_item(pid: int, qty: float, in_stock: bool) -> dict[str, Any]:
    """A legacy stock item in the shape `GET stockItems/{sku}` answers (shared/fixtures/magento/stock.json)."""
    return {"item_id": pid, "product_id": pid, "stock_id": 1, "qty": qty, "is_in_stock": in_stock,
            "is_qty_decimal": False, "show_default_notification_message": False, "use_config_min_qty": True,
            "min_qty": 0, "use_config_min_sale_qty": 1, "min_sale_qty": 1, "use_config_max_sale_qty": True,
            "max_sale_qty": 10000, "use_config_backorders": True, "backorders": 0,
            "use_config_notify_stock_qty": True, "notify_stock_qty": 1, "use_config_qty_increments": True,
            "qty_increments": 0, "use_config_enable_qty_inc": True, "enable_qty_increments": False,
            "use_config_manage_stock": True, "manage_stock": True, "low_stock_date": None,
            "is_decimal_divided": False, "stock_status_changed_auto": 0}


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or (
        isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit())


def _invalid(field: str, message: str = '"%field" should be numeric.') -> dict[str, Any]:
    return {"message": message, "parameters": {"field": field}}


def _source_item_errors(item: Any) -> list[dict[str, Any]]:
    """What Magento's source item validators (and its web API's type check) refuse."""
    if not isinstance(item, dict):
        return [_invalid("sourceItems", '"%field" must be a list of source items.')]
    unknown = sorted(set(item) - {"sku", "source_code", "quantity", "status", "extension_attributes"})
    errors = [_invalid(name, 'Property "%field" does not exist in a source item.') for name in unknown]
    for name in ("sku", "source_code"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            errors.append(_invalid(name, '"%field" can not be empty.'))
    if not _numeric(item.get("quantity")):
        errors.append(_invalid("quantity"))
    # Left out, status would be saved as 0 (out of stock): this fake insists on it
    if item.get("status") not in (0, 1) or isinstance(item.get("status"), bool):
        errors.append(_invalid("status", '"%field" should be 0 (out of stock) or 1 (in stock).'))
    return errors


class MagentoShop:
    """The shop's data and the WSGI app that serves it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url = "http://127.0.0.1"
        self.products: dict[int, dict[str, Any]] = {}
        self.source_items: dict[tuple[str, str], dict[str, Any]] = {}
        self.legacy: dict[int, dict[str, Any]] = {}  # entity id -> legacy stock item (shape of stock.json)
        self.stock_writes: list[tuple[str, str, str, Any]] = []  # (store code, method, route, body) of writes
        self.array_limit: int | None = None  # 20 with the 2.4.3+ web API input limits on
        self._sell_after_read: dict[str, int] = {}  # SKU -> units a shop sale takes right after its next read
        self.msi = True
        self.allow_bearer = False  # 2.4.4+ default: integration tokens are no bearer tokens
        self.granted = set(ACL.values())
        self.nonces: set[str] = set()
        self.calls: Counter = Counter()
        self.log: list[tuple[str, dict[str, str]]] = []  # (route, query) of every API call
        self._faults: list[tuple[int, dict[str, str]]] = []
        self._clock = datetime(2024, 5, 1, 10, 0, 0)
        self._next_id = 1
        self.stores = ["default"]
        self.attributes = {
            93: {"attribute_id": 93, "attribute_code": "color", "frontend_input": "select",
                 "default_frontend_label": "Color", "is_user_defined": True,
                 "options": [{"label": " ", "value": ""}] + [{"label": label, "value": value}
                                                            for value, label in COLOURS]},
            152: {"attribute_id": 152, "attribute_code": "size", "frontend_input": "select",
                  "default_frontend_label": "Size", "is_user_defined": True,
                  "options": [{"label": " ", "value": ""}] + [{"label": label, "value": value}
                                                             for value, label in SIZES]},
        }
        self.tax_rates = [
            {"id": 1, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 23,
             "code": "PL-23", "titles": []},
            {"id": 2, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 8,
             "code": "PL-8", "titles": []},
            {"id": 3, "tax_country_id": "DE", "tax_region_id": 0, "tax_postcode": "*", "rate": 19,
             "code": "DE-19", "titles": []},
        ]
        self.tax_rules = [
            {"id": 1, "code": "VAT 23", "priority": 0, "position": 0, "customer_tax_class_ids": [3],
             "product_tax_class_ids": [2], "tax_rate_ids": [1, 3], "calculate_subtotal": False},
            {"id": 2, "code": "VAT 8", "priority": 0, "position": 0, "customer_tax_class_ids": [3],
             "product_tax_class_ids": [6], "tax_rate_ids": [2], "calculate_subtotal": False},
        ]
        self.categories = {"id": 2, "parent_id": 1, "name": "Default Category", "is_active": True, "position": 1,
                           "level": 1, "product_count": 0, "children_data": [
                               {"id": 3, "parent_id": 2, "name": "Odzież", "is_active": True, "position": 1,
                                "level": 2, "product_count": 0, "children_data": [
                                    {"id": 4, "parent_id": 3, "name": "Bluzy", "is_active": True,
                                     "position": 1, "level": 3, "product_count": 0, "children_data": []}]},
                               {"id": 5, "parent_id": 2, "name": "Akcesoria", "is_active": True, "position": 2,
                                "level": 2, "product_count": 0, "children_data": []}]}

    # -- data ------------------------------------------------------------------------------

    def tick(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%d %H:%M:%S")

    def store_configs(self) -> list[dict[str, Any]]:
        return [{"id": i + 1, "code": code, "website_id": 1, "locale": "pl_PL", "base_currency_code": "PLN",
                 "default_display_currency_code": "PLN", "timezone": "Europe/Warsaw", "weight_unit": "kgs",
                 "base_url": f"{self.url}/", "base_link_url": f"{self.url}/",
                 "base_static_url": f"{self.url}/pub/static/version1/", "base_media_url": f"{self.url}/pub/media/",
                 "secure_base_url": f"{self.url}/", "secure_base_link_url": f"{self.url}/",
                 "secure_base_static_url": f"{self.url}/pub/static/version1/",
                 "secure_base_media_url": f"{self.url}/pub/media/"} for i, code in enumerate(self.stores)]

    def add(self, type_id: str, *, name: str, price: float, sku: str | None = None, status: int = 1,
            visibility: int = 4, tax_class: str = "2", attributes: dict[str, Any] | None = None,
            images: int = 1, category: str = "4", extension: dict[str, Any] | None = None,
            websites: tuple[int, ...] = (1,)) -> int:
        pid = self._next_id
        self._next_id += 1
        sku = sku or f"SKU-{pid:05d}"
        now = self.tick()
        custom = [{"attribute_code": "url_key", "value": sku.lower()},
                  {"attribute_code": "tax_class_id", "value": tax_class},
                  {"attribute_code": "category_ids", "value": [category]},
                  {"attribute_code": "description", "value": f"<p>{name}: opis produktu.</p>"}]
        gallery = [{"id": pid * 10 + i, "media_type": "image", "label": "", "position": i + 1, "disabled": False,
                    "types": ["image", "small_image", "thumbnail"] if i == 0 else [],
                    "file": f"/{sku[0].lower()}/{sku[1].lower()}/{sku.lower()}_{i}.png"} for i in range(images)]
        if gallery:
            custom.insert(0, {"attribute_code": "image", "value": gallery[0]["file"]})
        custom += [{"attribute_code": k, "value": v} for k, v in (attributes or {}).items()]
        self.products[pid] = {
            "id": pid, "sku": sku, "name": name, "attribute_set_id": 9, "price": price, "status": status,
            "visibility": visibility, "type_id": type_id, "created_at": now, "updated_at": now,
            **({"weight": 1} if type_id == "simple" else {}),
            "extension_attributes": {"website_ids": list(websites),
                                     "category_links": [{"position": 0, "category_id": category}],
                                     **(extension or {})},
            "product_links": [], "options": [], "media_gallery_entries": gallery, "tier_prices": [],
            "custom_attributes": custom,
        }
        return pid

    def set_stock(self, sku: str, quantities: dict[str, int], in_stock: bool = True) -> None:
        for source, quantity in quantities.items():
            self.source_items[(sku, source)] = {"sku": sku, "source_code": source, "quantity": quantity,
                                                "status": 1 if in_stock and quantity > 0 else 0}
        pid = next(p["id"] for p in self.products.values() if p["sku"] == sku)
        qty = sum(quantities.values())
        self.legacy[pid] = legacy_item(pid, qty, in_stock and qty > 0)

    def add_simple(self, name: str, price: float, stock: int = 5, **kwargs: Any) -> int:
        pid = self.add("simple", name=name, price=price, **kwargs)
        self.set_stock(self.products[pid]["sku"], {"default": stock})
        return pid

    def add_configurable(self, name: str, prices: list[float], *, tax_class: str = "2", status: int = 1,
                         stocks: list[dict[str, int]] | None = None, child_status: list[int] | None = None) -> int:
        children = []
        for i, price in enumerate(prices):
            size, colour = SIZES[i % len(SIZES)], COLOURS[(i // len(SIZES)) % len(COLOURS)]
            cid = self.add("simple", name=f"{name}-{size[1]}-{colour[1]}", price=price, visibility=1,
                           tax_class=tax_class, images=1 if i == 0 else 0,
                           status=(child_status or [1] * len(prices))[i],
                           attributes={"size": size[0], "color": colour[0]})
            self.set_stock(self.products[cid]["sku"], (stocks or [{"default": 3, "magazyn_2": 2}] * len(prices))[i])
            children.append(cid)
        options = [{"id": 1, "attribute_id": "93", "label": "Color", "position": 1,
                    "values": [{"value_index": int(v)} for v, _ in COLOURS]},
                   {"id": 2, "attribute_id": "152", "label": "Size", "position": 0,
                    "values": [{"value_index": int(v)} for v, _ in SIZES]}]
        return self.add("configurable", name=name, price=0, tax_class=tax_class, status=status, images=2,
                        extension={"configurable_product_options": options,
                                   "configurable_product_links": children})

    def touch(self, pid: int, **changes: Any) -> None:
        self.products[pid].update(changes, updated_at=self.tick())

    def remove(self, pid: int) -> None:
        record = self.products.pop(pid)
        for key in [k for k in self.source_items if k[0] == record["sku"]]:
            del self.source_items[key]
        for other in self.products.values():  # Magento drops the link rows, not the parent's updated_at
            links = other["extension_attributes"].get("configurable_product_links")
            if links and pid in links:
                links.remove(pid)

    def stock_of(self, sku: str) -> int:
        """The SKU's stock as the connector counts it (in-stock MSI rows, or the legacy item)."""
        if self.msi:
            return int(sum(r["quantity"] if r["status"] == 1 else min(r["quantity"], 0)
                           for (s, _), r in self.source_items.items() if s == sku))
        item = self.legacy[self.pid_of(sku)]
        return int(item["qty"] if item["is_in_stock"] else min(item["qty"], 0))

    def pid_of(self, sku: str) -> int:
        return next(p["id"] for p in self.products.values() if p["sku"] == sku)

    def sell(self, sku: str, units: int) -> None:
        """A sale in the shop: the first in-stock source (or the legacy item) loses `units`."""
        if self.msi:
            row = next(r for (s, _), r in sorted(self.source_items.items()) if s == sku and r["status"] == 1)
            row["quantity"] -= units
            row["status"] = 1 if row["quantity"] > 0 else 0
        else:
            item = self.legacy[self.pid_of(sku)]
            item["qty"] -= units
            item["is_in_stock"] = item["qty"] > 0

    def sell_after_next_read(self, sku: str, units: int) -> None:
        self._sell_after_read[sku] = units

    def _after_read(self, sku: str) -> None:
        units = self._sell_after_read.pop(sku, None)
        if units:
            self.sell(sku, units)

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self._faults.extend([(status, headers or {})] * times)

    # -- HTTP ------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/pub/media/catalog/product/"):
            self.calls["images"] += 1
            return Response(png((len(path) % 255, 80, 160)), content_type="image/png")
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[0] != "rest" or parts[2] != "V1":
            return self._json({"message": "Request does not match any route."}, 404)
        store, route = unquote(parts[1]), "/".join(parts[3:])
        self.calls[route.split("/")[0]] += 1
        self.log.append((route, dict(request.args.items())))
        if store not in self.stores and store != "all":  # `all`: the admin scope, always there
            return self._json({"message": "The store that was requested wasn't found. Verify the store and "
                                          "try again."}, 404)
        denied = self._authorize(request, route)
        if denied is not None:
            return denied
        with self.lock:  # after authorization: a signed request's nonce is spent even when PHP fails later
            if self._faults:
                status, headers = self._faults.pop(0)
                return Response(json.dumps({"message": "Internal Error."}), status=status, headers=headers,
                                content_type="application/json")
        with self.lock:
            if request.method in ("POST", "PUT"):
                body = self._write(store, route, request)
            else:
                body = self._route(route, request)
        if isinstance(body, Response):
            return body
        fields = request.args.get("fields")
        return self._json(apply_fields(body, parse_fields(fields)) if fields else body)

    def _authorize(self, request: Request, route: str) -> Response | None:
        header = request.headers.get("Authorization", "")
        authenticated = False
        if header.startswith("Bearer "):
            authenticated = self.allow_bearer and header[7:] == TOKEN
        elif header.startswith("OAuth "):
            problem = self._verify_oauth(request, header)
            if problem:
                return self._json({"message": problem}, 401)
            authenticated = True
        resource = ("Magento_CatalogInventory::cataloginventory" if "/stockItems/" in route
                    else next((r for prefix, r in ACL.items() if route.startswith(prefix)), None))
        if resource is None:
            return None
        if not authenticated or resource not in self.granted:
            return self._json({"message": NOT_AUTHORIZED, "parameters": {"resources": resource}}, 401)
        return None

    def _verify_oauth(self, request: Request, header: str) -> str | None:
        params = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
        if params.get("oauth_consumer_key") != CONSUMER_KEY or params.get("oauth_token") != TOKEN:
            return "The signature is invalid. Verify and try again."
        if params.get("oauth_signature_method") != "HMAC-SHA256":
            return f"Signature method {params.get('oauth_signature_method')} is not supported"
        collected = signature.collect_parameters(uri_query=request.query_string.decode(),
                                                 headers={"Authorization": header}, exclude_oauth_signature=True)
        base = signature.signature_base_string(request.method, signature.base_string_uri(request.base_url),
                                               signature.normalize_parameters(collected))
        secrets_of = Client(CONSUMER_KEY, client_secret=CONSUMER_SECRET, resource_owner_secret=TOKEN_SECRET)
        expected = signature.sign_hmac_sha256_with_client(base, secrets_of)
        if not signature.safe_string_equals(expected, params.get("oauth_signature", "")):
            return "The signature is invalid. Verify and try again."
        nonce = params.get("oauth_nonce", "")
        with self.lock:
            if nonce in self.nonces:
                return "The nonce is already being used by the consumer with ID 1"
            self.nonces.add(nonce)
        return None

    @staticmethod
    def _json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")

    def _route(self, route: str, request: Request) -> Any:
        if route == "store/storeConfigs":
            return self.store_configs()
        if route == "products":
            return self._search(list(self.products.values()), request, {"entity_id": "id"})
        if route == "products/attributes":
            return self._search(list(self.attributes.values()), request, {})
        if route.startswith("products/attributes/") and route.endswith("/options"):
            code = route.split("/")[2]
            found = next((a for a in self.attributes.values() if a["attribute_code"] == code), None)
            if found is None:
                return self._json({"message": 'The attribute with a "%1" attributeCode doesn\'t exist. Verify '
                                              "the attribute and try again.", "parameters": [code]}, 404)
            return found["options"]
        if route == "categories":
            return self.categories
        if route == "taxRules/search":
            return self._search(self.tax_rules, request, {})
        if route == "taxRates/search":
            return self._search(self.tax_rates, request, {})
        if route == "inventory/source-items":
            if not self.msi:
                return self._json(NO_ROUTE, 404)
            answer = self._search([dict(r) for r in self.source_items.values()], request, {})
            filters, _, _, _ = _criteria(request.args)
            for group in filters:  # a read of one SKU's stock (the guarded write's)
                for field, condition, value in group:
                    if field == "sku" and condition == "eq":
                        self._after_read(value)
            return answer
        if route == "stockItems/lowStock":
            return self._low_stock(request)
        if route.startswith("stockItems/") and route.count("/") == 1:
            return self._legacy_item(unquote(route.split("/", 1)[1]))
        return self._json(NO_ROUTE, 404)

    def _legacy_item(self, sku: str) -> Any:
        product = next((p for p in self.products.values() if p["sku"] == sku), None)
        if product is None or product["id"] not in self.legacy:
            return self._json({"message": 'The Product with the "%1" SKU doesn\'t exist.', "parameters": [sku]}, 404)
        answer = dict(self.legacy[product["id"]])
        self._after_read(sku)
        return answer

    # -- writes ----------------------------------------------------------------------------

    def _write(self, store: str, route: str, request: Request) -> Any:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            return self._json({"message": "Decoding error: \nSyntax error"}, 400)
        parts = route.split("/")
        if request.method == "POST" and route == "inventory/source-items" and self.msi:
            answer = self._save_source_items(body)
        elif (request.method == "PUT" and len(parts) == 4 and parts[0] == "products"
              and parts[2] == "stockItems"):
            answer = self._update_legacy(unquote(parts[1]), body)
        else:
            return self._json(NO_ROUTE, 404)
        if not isinstance(answer, Response):
            self.stock_writes.append((store, request.method, route, body))
        return answer

    def _save_source_items(self, body: Any) -> Any:
        """`SourceItemsSaveInterface::execute(SourceItemInterface[] $sourceItems): void`."""
        items = body.get("sourceItems") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return self._required("sourceItems")
        if self.array_limit is not None and len(items) > self.array_limit:
            return self._json({"message": "Maximum items of type \"%type\" is %max",
                               "parameters": {"type": "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface",
                                              "max": self.array_limit}}, 400)
        errors = [e for item in items for e in _source_item_errors(item)]
        if errors:
            return self._json({"message": "Validation Failed", "errors": errors}, 400)
        if any(item["source_code"] not in SOURCES for item in items):
            return self._json({"message": "Could not save Source Item"}, 400)
        for item in items:  # no product check: Magento saves rows for any SKU (magento2#30274)
            self.source_items[(item["sku"], item["source_code"])] = {
                "sku": item["sku"], "source_code": item["source_code"], "quantity": item["quantity"],
                "status": int(item["status"])}
        return []

    def _update_legacy(self, sku: str, body: Any) -> Any:
        """`StockRegistryInterface::updateStockItemBySku`: the sent fields merged into the stored item."""
        fields = body.get("stockItem") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return self._required("stockItem")
        stored = next((self.legacy.get(p["id"]) for p in self.products.values() if p["sku"] == sku), None)
        if stored is None:
            return self._json({"message": 'The Product with the "%1" SKU doesn\'t exist.', "parameters": [sku]}, 404)
        unknown = sorted(set(fields) - set(stored))
        if unknown:
            return self._json({"message": 'Property "%1" does not have accessor method "%2" in class "%3".',
                               "parameters": [unknown[0], "get" + unknown[0].title().replace("_", ""),
                                              "Magento\\CatalogInventory\\Api\\Data\\StockItemInterface"]}, 400)
        if "qty" in fields and not _numeric(fields["qty"]):
            return self._json({"message": "Validation Failed", "errors": [_invalid("qty")]}, 400)
        stored.update({k: v for k, v in fields.items() if k != "item_id"})
        return stored["item_id"]

    def _required(self, name: str) -> Response:
        return self._json({"message": '"%fieldName" is required. Enter and try again.',
                           "parameters": {"fieldName": name}}, 400)

    def _search(self, rows: list[dict[str, Any]], request: Request, aliases: dict[str, str]) -> Any:
        if not any(k.startswith("searchCriteria") for k in request.args):
            return self._json({"message": "%fieldName is a required field.",
                               "parameters": {"fieldName": "searchCriteria"}}, 400)
        filters, sort, size, page = _criteria(request.args)

        def value(row: dict[str, Any], name: str) -> Any:
            name = aliases.get(name, name)
            if name in row:
                return row[name]
            return next((c["value"] for c in row.get("custom_attributes", ()) if c["attribute_code"] == name), None)

        for group in filters:
            rows = [r for r in rows if any(_matches(value(r, f), c, v) for f, c, v in group)]
        for name, direction in reversed(sort):
            rows.sort(key=lambda r: (value(r, name) is None, value(r, name)), reverse=direction == "DESC")
        total = len(rows)
        if size:
            pages = max(1, math.ceil(total / size))
            page = min(max(page, 1), pages)  # a page past the end: Magento answers the last page again
            rows = rows[(page - 1) * size: page * size]
        criteria = {"filter_groups": [{"filters": [{"field": f, "value": v, "condition_type": c} for f, c, v in g]}
                                      for g in filters]}
        if size:
            criteria.update(page_size=size, current_page=page)
        return {"items": rows, "search_criteria": criteria, "total_count": total}

    def _low_stock(self, request: Request) -> Any:
        """`StockRegistry::getLowStockItems($scopeId, $qty, $currentPage, $pageSize)`: plain paging parameters."""
        threshold = float(request.args.get("qty", "0"))
        size = int(request.args.get("pageSize", "0") or 0)
        page = int(request.args.get("currentPage", "1") or 1)
        rows = [dict(item) for pid, item in sorted(self.legacy.items())
                if pid in self.products and item["qty"] <= threshold]
        total = len(rows)
        if size:
            page = min(max(page, 1), max(1, math.ceil(total / size)))
            rows = rows[(page - 1) * size: page * size]
        return {"items": rows, "search_criteria": {"filter_groups": [], "page_size": size, "current_page": page},
                "total_count": total}


class MagentoFake(LoopbackFake):
    """The standard suite's `FakePlatform` for Magento."""

    def __init__(self, latency: float = 0.0, *, oauth: bool = False, port: int = 0) -> None:
        self.shop = MagentoShop()
        super().__init__(self.shop, latency, port)
        self.shop.url = self.url
        self.use_oauth(oauth)

    def use_oauth(self, oauth: bool) -> None:
        """OAuth: the shop refuses bearer tokens (2.4.4+ default); bearer: the admin switched them on."""
        self.oauth = oauth
        self.shop.allow_bearer = not oauth

    def config(self) -> dict[str, str]:
        config = {"url": self.url, "access_token": TOKEN}
        if self.oauth:
            config.update(consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET,
                          access_token_secret=TOKEN_SECRET)
        return config

    def bad_config(self) -> dict[str, str]:
        config = self.config()
        if self.oauth:
            config["consumer_secret"] = WRONG_TOKEN
        else:
            config["access_token"] = WRONG_TOKEN
        return config

    def secrets(self) -> list[str]:
        return [TOKEN, CONSUMER_KEY, CONSUMER_SECRET, TOKEN_SECRET]

    def seed(self, products: int, *, children: int = 3) -> None:
        """`products` units: every third a configurable with `children` size/colour children, the rest simple."""
        shop = self.shop
        with shop.lock:
            for i in range(products):
                tax_class = TAX_CLASSES[i % len(TAX_CLASSES)]
                if i % 3 == 0:
                    prices = [round(40 + i % 7 + c * 2.5, 2) for c in range(children)]
                    shop.add_configurable(f"Bluza {i}", prices, tax_class=tax_class)
                else:
                    shop.add_simple(f"Produkt {i}", round(10 + (i % 13) * 1.37, 2), stock=i % 9,
                                    tax_class=tax_class, category="5")

    def seed_configurables(self, count: int, *, children: int = 3, images: int = 1) -> None:
        """Only configurables (the benchmark's catalog): `children` simple children each, MSI in two sources."""
        shop = self.shop
        with shop.lock:
            for i in range(count):
                prices = [round(40 + i % 7 + c * 2.5, 2) for c in range(children)]
                stocks = [{"default": (i + c) % 5, "magazyn_2": c} for c in range(children)]
                parent = shop.add_configurable(f"Bluza {i}", prices, tax_class=TAX_CLASSES[i % 3], stocks=stocks)
                record = shop.products[parent]
                record["media_gallery_entries"] = record["media_gallery_entries"][:images]
                for child in record["extension_attributes"]["configurable_product_links"]:
                    shop.products[child]["media_gallery_entries"] = []

    def expected_items(self) -> int:
        products = self.shop.products.values()
        child = {c for p in products for c in p["extension_attributes"].get("configurable_product_links", ())}
        count = 0
        for p in products:
            if p["type_id"] == "configurable" and p["status"] == 1:
                count += sum(1 for c in p["extension_attributes"]["configurable_product_links"]
                             if c in self.shop.products and self.shop.products[c]["status"] == 1)
            elif p["type_id"] == "simple" and p["id"] not in child and p["status"] == 1:
                count += 1
        return count

    def _first(self, *, child: bool) -> dict[str, Any]:
        links = {c for p in self.shop.products.values()
                 for c in p["extension_attributes"].get("configurable_product_links", ())}
        return next(p for p in self.shop.products.values()
                    if p["type_id"] == "simple" and (p["id"] in links) == child and p["status"] == 1)

    def _parent_of(self, child_id: int) -> str:
        return next(str(p["id"]) for p in self.shop.products.values()
                    if child_id in p["extension_attributes"].get("configurable_product_links", ()))

    def change_price(self) -> tuple[str, str | None]:
        with self.shop.lock:
            child = self._first(child=True)
            self.shop.touch(child["id"], price=round(child["price"] + 10, 2))
            return self._parent_of(child["id"]), str(child["id"])

    def change_stock(self) -> tuple[str, str | None]:
        with self.shop.lock:  # an MSI write: updated_at does not move
            product = self._first(child=False)
            self.shop.set_stock(product["sku"], {"default": 77})
            return str(product["id"]), None

    # -- StockFake (step 2): an item is its own SKU, the variant's when it has one ----------

    def _sku(self, product_id: str, variant_id: str | None) -> str:
        return self.shop.products[int(variant_id or product_id)]["sku"]

    def shop_stock(self, product_id: str, variant_id: str | None) -> int:
        with self.shop.lock:
            return self.shop.stock_of(self._sku(product_id, variant_id))

    def set_shop_stock(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        """All of it in the `default` source; the other sources of the SKU emptied."""
        with self.shop.lock:
            sku = self._sku(product_id, variant_id)
            sources = {source: 0 for (s, source) in self.shop.source_items if s == sku}
            self.shop.set_stock(sku, {**sources, "default": quantity})

    def sell_after_next_read(self, product_id: str, variant_id: str | None, quantity: int) -> None:
        with self.shop.lock:
            self.shop.sell_after_next_read(self._sku(product_id, variant_id), quantity)

    def add_product(self) -> str:
        with self.shop.lock:
            return str(self.shop.add_simple("Nowy produkt", 19.99, stock=4, category="5"))

    def remove_product(self) -> str:
        with self.shop.lock:
            product = list(p for p in self.shop.products.values() if p["type_id"] == "simple")[-2]
            links = {c for p in self.shop.products.values()
                     for c in p["extension_attributes"].get("configurable_product_links", ())}
            if product["id"] in links:
                product = self._first(child=False)
            self.shop.remove(product["id"])
            return str(product["id"])

    @property
    def calls(self) -> Counter:
        return self.shop.calls


def start_fake(port: int = 0) -> MagentoFake:
    """A seeded, running fake for the Docker smoke test (bearer tokens allowed)."""
    return MagentoFake(port=port).start()
