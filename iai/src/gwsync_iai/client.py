"""The only module that knows IdoSell's Admin API over HTTP.

Reads in bulk: `POST products/products/search` in pages of 100 with a limited
`returnElements`, `GET sizes/sizes` for size names. Step 2 adds one product's stock
(`GET products/stocks`) and the relative stock change (`PUT products/stocks`). Every
answer goes through `_decode`, which turns IdoSell's ways of failing into one line
saying what to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import requests

from gwsync.errors import AuthError, CannotRun, HttpError
from gwsync.http import HttpClient, excerpt, http_error, looks_like_firewall
from gwsync.kit import Page, PageNumberPaginator


log = logging.getLogger(__name__)

SEARCH = "products/products/search"
PAGE_LIMIT = 100  # the Admin API maximum for resultsLimit
SIZES = "sizes/sizes"
STOCKS = "products/stocks"  # GET: stock per warehouse and size; PUT: set/add/substract

# What the mapping reads, and nothing else. Names from the Admin API's returnElements
# enum (README, quirks): `vat` does not bring `productVatFree` (that is `vat_free`), nor
# does `visible` bring `productIsDeleted` (`deleted`); `category_name` brings the id too.
PRODUCT_ELEMENTS = (
    "lang_data", "code", "vat", "vat_free", "retail_price", "currency", "visible", "deleted",
    "shops", "category_id", "category_name", "pictures", "size_group_id", "size_group_name",
    "sizes_attributes", "quantities", "version_data", "modification_time", "quantity_changed_time",
)
# Per-shop prices, requested only when IAI_SHOP_ID is set.
SHOP_ELEMENTS = ("shops_attributes",)
# For the removed-products check: who was removed, and which group they were in.
REMOVED_ELEMENTS = ("version_data", "modification_time")
# For the stock pass: what identifies a sellable item, its stock, its price and the change times.
STOCK_ELEMENTS = ("retail_price", "visible", "deleted", "shops", "sizes_attributes", "quantities",
                  "version_data", "quantity_changed_time", "price_changed_time")

FAULT_OK, FAULT_AUTH, FAULT_EMPTY, FAULT_BLOCKED = 0, 1, 2, 5

KEY_HELP = ("create one in the IdoSell panel under Administracja > API > "
            "Klucze dostępowe do Admin API and set IAI_API_KEY")


@dataclass(frozen=True)
class DateWindow:
    """`productDate` filter: IdoSell compares whole days (a time part is dropped)."""

    begin: date
    end: date
    mode: str = "modified_and_quantity_changed"

    def with_mode(self, mode: str) -> DateWindow:
        return replace(self, mode=mode)

    def as_param(self) -> dict[str, str]:
        return {"productDateMode": self.mode, "productDateBegin": self.begin.isoformat(),
                "productDateEnd": self.end.isoformat()}


class IaiClient:
    def __init__(self, http: HttpClient, *, language: str = "pol", extra_elements: Iterable[str] = ()) -> None:
        self.http = http
        self.language = language
        self.elements = (*PRODUCT_ELEMENTS, *extra_elements)
        self.pages_read = 0

    # -- products ---------------------------------------------------------

    def search_page(self, params: dict[str, Any], page: int, limit: int = PAGE_LIMIT) -> dict | None:
        """One page of `products/products/search`; None when IdoSell says "empty result"."""
        body = {"params": {**params, "resultsPage": page, "resultsLimit": limit}}
        response = self.http.post(SEARCH, json=body, idempotent=True)
        return self._decode(response, f"IdoSell {SEARCH} page {page}")

    def iter_pages(self, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        paginator = search_paginator(lambda page, size: self.search_page(params, page, size))
        try:
            yield from paginator
        finally:
            self.pages_read += paginator.calls

    def iter_products(self, *, status: str = "active", window: DateWindow | None = None,
                      ids: Iterable[int] | None = None,
                      elements: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every product matching the filters, page by page, in id order."""
        params: dict[str, Any] = {
            "returnProducts": status,
            "returnElements": list(self.elements if elements is None else elements),
            "productSearchingLangId": self.language,
            "alwaysReturnProductShopSizesAttributes": True,
            "skipDefaultProduct": "y",
            "ordersBy": [{"elementName": "id", "sortDirection": "ASC"}],
        }
        if window is not None:
            params["productDate"] = window.as_param()
        if ids is not None:
            # A list of objects: the dict form is silently ignored by the real API.
            params["productParams"] = [{"productId": int(i)} for i in ids]
        for page in self.iter_pages(params):
            yield from page

    def products_by_ids(self, ids: Iterable[int], elements: Iterable[str] | None = None
                        ) -> Iterator[dict[str, Any]]:
        """Products by id, 100 ids per search (ids that do not exist are simply absent)."""
        pending = sorted({int(i) for i in ids})
        for start in range(0, len(pending), PAGE_LIMIT):
            yield from self.iter_products(ids=pending[start:start + PAGE_LIMIT], elements=elements)

    def count_products(self) -> int:
        body = self.search_page({"returnProducts": "active", "returnElements": ["code"],
                                 "skipDefaultProduct": "y"}, 0, limit=1)
        if body is None:
            return 0
        try:
            return int(body.get("resultsNumberAll") or 0)
        except (TypeError, ValueError):
            return len(body.get("results") or [])

    # -- lookups ----------------------------------------------------------

    def size_groups(self) -> list[dict[str, Any]]:
        """Size groups with their sizes (for the size group's name and the shop's size names).

        A key without rights for this gate still imports (size names then come from the
        product records), so a 403 here is logged and answered with an empty list.
        """
        response = self.http.get(SIZES, params={"languages": self.language})
        if response.status_code == 403 and not looks_like_firewall(response):
            log.warning("IdoSell %s: no rights for the sizes gate; using size names from products", SIZES)
            return []
        body = self._decode(response, f"IdoSell {SIZES}")
        if body is None:
            return []
        for key in ("size_groups", "sizesGroups", "results"):
            groups = body.get(key)
            if isinstance(groups, list):
                return groups
        return []

    # -- stock (step 2) -----------------------------------------------------

    def product_stocks(self, product: int) -> dict | None:
        """`GET products/stocks` for one product; None when IdoSell does not know it.

        Unverified which way a missing product is told: a per-item `error` (left to the
        caller), "empty result" (faultCode 2) or a JSON 404; the last two mean None here.
        """
        response = self.http.get(STOCKS, params={"identType": "id", "products": str(product)})
        if response.status_code == 404 and _is_json(response):
            return None
        return self._decode(response, f"IdoSell {STOCKS} of product {product}")

    def change_stock(self, body: dict[str, Any], what: str) -> dict:
        """`PUT products/stocks`, sent once: a relative change must never be resent blindly."""
        response = self.http.put(STOCKS, json=body, idempotent=False)
        if response.status_code == 403 and not looks_like_firewall(response):
            raise AuthError(f"The IdoSell API key may not change stock (HTTP 403{_fault_text(response)}): "
                            "give the key write access (read and write) to the PIM gateway in Administracja > API")
        answer = self._decode(response, f"IdoSell {STOCKS} ({what})")
        if answer is None:
            raise HttpError(f"IdoSell {STOCKS} ({what}): an empty answer to a stock change", status=200)
        return answer

    # -- errors -----------------------------------------------------------

    def _decode(self, response: requests.Response, what: str) -> dict | None:
        status = response.status_code
        reason = _fault_text(response)
        if status == 401:
            raise AuthError(f"IdoSell refused the API key (HTTP 401{reason}): {KEY_HELP}")
        if status == 403:
            if looks_like_firewall(response):
                raise CannotRun(f"{what}: HTTP 403 with an HTML page: a firewall or the key's IP "
                                "restriction blocks this machine; allow its IP for the API key in the panel")
            raise AuthError(f"The IdoSell API key lacks rights (HTTP 403{reason}): give the key read "
                            "access to the PIM (products) gateway in Administracja > API")
        # A shop front, a redirect to a login page or a 404/405 page: not the Admin API.
        if status in (404, 405) or (status < 500 and status != 429 and not _is_json(response)):
            raise CannotRun(f"{what}: {self._base()} does not answer as an IdoSell Admin API "
                            f"(HTTP {status}): set IAI_URL to the shop panel's address, "
                            "e.g. https://clientNNNN.idosell.com")
        if status >= 400:
            raise http_error(response, what)
        try:
            body = response.json()
        except ValueError:
            raise CannotRun(f"{what}: the answer is not JSON: check IAI_URL") from None
        if not isinstance(body, dict):
            raise HttpError(f"{what}: unexpected answer: {excerpt(response)}", status=status)
        fault = _fault(body)
        if fault is None or fault[0] == FAULT_OK:
            return body
        code, text = fault
        if code == FAULT_EMPTY:
            return None
        if code == FAULT_AUTH:
            raise AuthError(f"IdoSell refused the API key (faultCode 1: {text}): {KEY_HELP}")
        if code == FAULT_BLOCKED:
            raise CannotRun(f"IdoSell: the shop's API is blocked (faultCode 5: {text}); "
                            "settle the shop's invoices with IdoSell")
        if body.get("results"):
            log.warning("%s: faultCode %s (%s) with results; using the results", what, code, text)
            return body
        raise HttpError(f"{what}: IdoSell error faultCode {code}: {text}", status=status,
                        body=excerpt(response))

    def _base(self) -> str:
        parts = urlsplit(self.http.base_url)
        return f"{parts.scheme}://{parts.netloc}"


def search_paginator(fetch: Callable[[int, int], dict[str, Any] | None]) -> PageNumberPaginator:
    """Pages of one search, 0-based, in product id order.

    Paged by number, so a product deleted mid-read would shift another out of view:
    `resultsNumberAll` comes with every page, and when it drops the paginator steps
    back and reads the shifted pages again (products already read are dropped by id).
    """
    return PageNumberPaginator(lambda page, size: _page(fetch(page, size), page), size=PAGE_LIMIT, first=0,
                               what=f"IdoSell {SEARCH}", key=lambda record: record.get("productId"))


def _page(body: dict[str, Any] | None, number: int) -> Page | None:
    if body is None:  # "empty result" (faultCode 2)
        return None
    results = body.get("results") or []
    if not isinstance(results, list):
        raise HttpError(f"IdoSell {SEARCH}: page {number} has no results list")
    try:
        total = int(body.get("resultsNumberAll"))
    except (TypeError, ValueError):
        total = None  # no count: a short or empty page ends the read
    return Page(rows=results, total=total)


def _is_json(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    if "json" in content_type:
        return True
    text = response.text.lstrip()[:1]
    return text in ("{", "[")


def _fault(body: dict[str, Any]) -> tuple[int, str] | None:
    errors = body.get("errors")
    if isinstance(errors, list):
        errors = errors[0] if errors else None
    if not isinstance(errors, dict) or "faultCode" not in errors:
        return None
    try:
        code = int(errors.get("faultCode"))
    except (TypeError, ValueError):
        return None
    return code, str(errors.get("faultString") or "").strip()


def _fault_text(response: requests.Response) -> str:
    """`: <message>` from X-Error or the JSON fault, for one-line errors."""
    message = response.headers.get("X-Error", "").strip()
    if not message:
        try:
            data = response.json()
        except ValueError:
            data = None
        fault = _fault(data) if isinstance(data, dict) else None
        message = fault[1] if fault else ""
    return f": {message[:200]}" if message else ""
