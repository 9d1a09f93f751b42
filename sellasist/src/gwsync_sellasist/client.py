"""The only module that speaks Sellasist's REST API v1 (`../shared/platforms/sellingo-sellassist.md`).

`https://{account}.sellasist.pl/api/v1/`, header `apiKey: <key>` on every call:
- `GET products?offset=&limit=`: the product list (`[{"id": "476", "name": ...}]`); an empty
  result is HTTP 404 "No records found", and one product can be listed twice;
- `GET products/{id}`: the whole product (variants, images, categories, descriptions);
- `GET variants_groups/{id}`: the option names of a product's variants.

A 404 that does not say "No records found" (an HTML page from a wrong address) is an error,
never an empty catalog: an empty catalog would archive every product.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from gwsync.errors import AuthError, HttpError
from gwsync.http import HttpClient, excerpt, http_error, looks_like_firewall
from gwsync.kit import Page

log = logging.getLogger(__name__)

API_PATH = "api/v1/"
NO_RECORDS = "no records found"
UNKNOWN_USER = "unknown user"


class SellasistClient:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def product_page(self, offset: int, limit: int) -> Page[dict[str, Any]] | None:
        """One page of the product list; None for an empty result (the documented 404).

        If the API ignores `limit` (the 2020 demo got every product in one answer), a page
        longer than asked for is the whole list: it is the last page."""
        response = self.http.get("products", params={"offset": offset, "limit": limit})
        if _no_records(response):
            return None
        rows = _rows(self._json(response, "the product list"))
        return Page(rows=rows, more=False if len(rows) > limit else None)

    def product(self, product_id: str) -> dict[str, Any] | None:
        """The whole product, or None when it is gone (deleted after it was listed)."""
        response = self.http.get(f"products/{product_id}")
        if response.status_code == 404:
            return None
        answer = self._json(response, f"product {product_id}")
        if not isinstance(answer, dict):
            raise HttpError(f"Sellasist: product {product_id}: expected an object, got {type(answer).__name__}")
        return answer

    def variant_group(self, group_id: str) -> dict[str, Any] | None:
        response = self.http.get(f"variants_groups/{group_id}")
        if response.status_code == 404:
            return None
        answer = self._json(response, f"variant group {group_id}")
        return answer if isinstance(answer, dict) else None

    def probe(self) -> int:
        """Products on the first page of one (0 or 1): proves the address and the key."""
        response = self.http.get("products", params={"offset": 0, "limit": 1}, retry=False)
        if _no_records(response):
            return 0
        return len(_rows(self._json(response, "the product list")))

    def _json(self, response: requests.Response, what: str) -> Any:
        if response.status_code >= 400 and UNKNOWN_USER in response.text.lower():
            # Seen in third-party clients for a key that is not one of this account's.
            raise AuthError("Sellasist: \"Unknown user\": the API key does not belong to this account; "
                            "check SELLASIST_API_KEY (Integracje > Klucze API) and the account in SELLASIST_URL")
        if response.status_code in (401, 403):
            if looks_like_firewall(response):
                raise AuthError("Sellasist: a firewall in front of the API refused the request (HTML 403); "
                                "ask Sellasist support to allow this machine's address")
            raise AuthError(f"Sellasist refused the API key (HTTP {response.status_code}); check "
                            "SELLASIST_API_KEY (admin: Integracje > Klucze API) and SELLASIST_URL")
        if response.status_code == 404:
            raise HttpError(f"Sellasist: {what}: HTTP 404 without \"No records found\"; is SELLASIST_URL the "
                            "panel address, e.g. https://account.sellasist.pl?", status=404,
                            body=excerpt(response))
        if response.status_code != 200:
            raise http_error(response, f"Sellasist: {what}")
        try:
            return response.json()
        except ValueError:
            raise HttpError(f"Sellasist: {what}: the answer is not JSON ({excerpt(response, 120)}); is "
                            "SELLASIST_URL the panel address, e.g. https://account.sellasist.pl?",
                            status=response.status_code) from None


def _no_records(response: requests.Response) -> bool:
    return response.status_code == 404 and NO_RECORDS in response.text.lower()


def _rows(answer: Any) -> list[dict[str, Any]]:
    if isinstance(answer, dict):  # tolerate a wrapped list ({"products": [...]})
        lists = [v for v in answer.values() if isinstance(v, list)]
        answer = lists[0] if len(lists) == 1 else None
    if not isinstance(answer, list):
        raise HttpError(f"Sellasist: the product list is not a list ({type(answer).__name__})")
    return [row if isinstance(row, dict) else {} for row in answer]  # length kept: it decides the last page
