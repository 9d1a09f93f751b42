"""The only module that knows Magento 2's REST API: URLs, auth, searchCriteria, paging, errors.

Every list is read whole pages at a time (`searchCriteria[pageSize]`, sorted by
`entity_id`), and paging stops on `total_count`: Magento answers a page past the
end with the last page again, so a short page alone proves nothing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from requests_oauthlib import OAuth1

from gwsync.errors import AuthError, ConfigError, HttpError, Unreachable
from gwsync.http import HttpClient, excerpt, http_error, looks_like_firewall, wait_seconds
from gwsync.kit import Page, PageNumberPaginator

log = logging.getLogger(__name__)

PAGE_SIZE = 300  # the most Magento 2.4.3+ accepts when its web API input limits are on
INTEGRATIONS = "System > Extensions > Integrations"
BEARER_SETTING = ("Stores > Configuration > Services > OAuth > Consumer Settings > Allow OAuth Access Tokens "
                  "to be used as standalone Bearer tokens")
# ACL resources the import reads, with where they are ticked in the integration's API tab
RESOURCE_LABELS = {
    "Magento_Catalog::products": "Catalog > Inventory > Products",
    "Magento_Catalog::categories": "Catalog > Inventory > Categories",
    "Magento_Catalog::attributes_attributes": "Stores > Attributes > Product",
    "Magento_Backend::store": "Stores > Settings > All Stores",
    "Magento_Backend::stores": "Stores",
    "Magento_Tax::manage_tax": "Stores > Taxes > Tax Zones and Rates / Tax Rules",
    "Magento_InventoryApi::source": "Stores > Inventory > Sources",
    "Magento_CatalogInventory::cataloginventory": "Stores > Settings > Configuration > Inventory Section",
}
_NO_ROUTE = "Request does not match any route"
_RETRIES = 4


def rest_base(url: str, store: str) -> str:
    """`https://shop.example[/index.php][/rest[/…]]` -> `https://shop.example[/index.php]/rest/<store>/V1/`."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("MAGENTO_URL must start with http:// or https://, e.g. https://shop.example.com")
    if "@" in parts.netloc:  # credentials never travel in the URL: the integration's values are separate
        raise ConfigError("MAGENTO_URL must not contain a user name or password; give only the shop's address")
    path = parts.path.rstrip("/")
    lowered = path.lower()
    cut = lowered.find("/rest")
    if cut >= 0 and (len(lowered) == cut + 5 or lowered[cut + 5] == "/"):
        path = path[:cut]
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/rest/{quote(store, safe='')}/V1/", "", ""))


def message_of(body: Any) -> str:
    """Magento's `{"message": "… %1 … %name …", "parameters": [...] | {...}}`, filled in."""
    if not isinstance(body, Mapping):
        return ""
    message = str(body.get("message") or "")
    parameters = body.get("parameters")
    if isinstance(parameters, Mapping):
        for name, value in sorted(parameters.items(), key=lambda kv: -len(str(kv[0]))):
            message = message.replace(f"%{name}", str(value))
    elif isinstance(parameters, list):
        for index in range(len(parameters), 0, -1):
            message = message.replace(f"%{index}", str(parameters[index - 1]))
    return message


def missing_resources(body: Any) -> list[str]:
    """ACL resources a 401 "The consumer isn't authorized to access %resources." names."""
    if not isinstance(body, Mapping) or "%resources" not in str(body.get("message") or ""):
        return []
    parameters = body.get("parameters")
    value = parameters.get("resources") if isinstance(parameters, Mapping) else (
        parameters[0] if isinstance(parameters, list) and parameters else "")
    names = value if isinstance(value, list) else str(value or "").split(",")
    return [str(n).strip() for n in names if str(n).strip()]


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def resource_hint(resources: Sequence[str]) -> str:
    return ", ".join(f"{r} ({RESOURCE_LABELS[r]})" if r in RESOURCE_LABELS else r for r in resources)


class Missing(HttpError):
    """A 404 naming an entity that does not exist (a product deleted in the shop), not a missing route."""


class Refused(AuthError):
    """A 401 naming the ACL resources the integration lacks."""

    def __init__(self, message: str, resources: Sequence[str]) -> None:
        super().__init__(message)
        self.resources = list(resources)


def classify(response: requests.Response, what: str, *, oauth: bool) -> Exception:
    """Turn an error answer into one line that says what to fix in the Magento admin."""
    body = _json_body(response)
    message = message_of(body)
    status = response.status_code
    if status == 401:
        resources = missing_resources(body)
        if resources:
            line = (f"Magento: the integration may not read {what}: in the admin open {INTEGRATIONS}, edit the "
                    f"integration, tab API, and tick {resource_hint(resources)}; then save and re-authorize it")
            if not oauth:
                line += (". If everything is ticked, the access token is wrong or the shop (2.4.4+) does not "
                         f"accept integration tokens as bearer tokens: set \"{BEARER_SETTING}\" to Yes, or give "
                         "the four OAuth values (MAGENTO_CONSUMER_KEY, MAGENTO_CONSUMER_SECRET, "
                         "MAGENTO_ACCESS_TOKEN_SECRET)")
            return Refused(line, resources)
        if oauth:
            return AuthError(f"Magento refused the OAuth 1.0a signature ({message or 'HTTP 401'}): check "
                             "MAGENTO_CONSUMER_KEY, MAGENTO_CONSUMER_SECRET, MAGENTO_ACCESS_TOKEN and "
                             f"MAGENTO_ACCESS_TOKEN_SECRET in {INTEGRATIONS} (the integration must be active), "
                             "and this machine's clock")
        return AuthError(f"Magento refused the access token ({message or 'HTTP 401'}): copy the integration's "
                         f"Access Token from {INTEGRATIONS} into MAGENTO_ACCESS_TOKEN")
    if looks_like_firewall(response):
        return AuthError(f"Magento: {what}: HTTP 403 with an HTML page, which usually comes from the host's "
                         "firewall or WAF, not from Magento; ask the host to allow this server's requests to /rest/")
    if "store that was requested wasn't found" in message or "requested store is not found" in message.lower():
        return ConfigError("Magento: no store view with this code; set MAGENTO_STORE to a store view code "
                           "(Stores > All Stores), e.g. default")
    if status == 404 and (_NO_ROUTE in message or body is None):
        return ConfigError(f"Magento: no REST API answers at {response.url.split('?')[0]} (HTTP 404); check "
                           "MAGENTO_URL (the tool adds /rest/<store>/V1/; a shop without URL rewrites needs "
                           "https://host/index.php)")
    return http_error(response, f"Magento {what}")


def criteria(*, page: int | None = None, size: int | None = None, sort: str | None = "entity_id",
             filters: Sequence[Sequence[tuple[str, str, str]]] = ()) -> dict[str, str]:
    """searchCriteria query parameters. `filters` is a list of groups (AND) of (field, condition, value)
    filters (OR within a group)."""
    params: dict[str, str] = {}
    for g, group in enumerate(filters):
        for f, (field, condition, value) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = value
            params[f"{prefix}[condition_type]"] = condition
    if sort:
        params["searchCriteria[sortOrders][0][field]"] = sort
        params["searchCriteria[sortOrders][0][direction]"] = "ASC"
    if size is not None:
        params["searchCriteria[pageSize]"] = str(size)
    if page is not None:
        params["searchCriteria[currentPage]"] = str(page)
    if not params:
        params["searchCriteria"] = ""  # lists without it answer "%fieldName is a required field"
    return params


def in_filter(field: str, values: Sequence[str]) -> list[tuple[str, str, str]]:
    """One OR group: `field in (a,b,…)`, with values that contain a comma as their own `eq`."""
    plain = [v for v in values if "," not in v]
    group = [(field, "in", ",".join(plain))] if plain else []
    return group + [(field, "eq", v) for v in values if "," in v]


class MagentoClient:
    """Bulk reads from one store view's REST API; counts every call into the run's stats."""

    def __init__(self, http: HttpClient, *, oauth: bool) -> None:
        self.http = http
        self.oauth = oauth

    @classmethod
    def auth_for(cls, token: str, oauth_values: tuple[str, str, str] | None) -> tuple[Any, dict[str, str]]:
        """requests auth and headers: OAuth 1.0a HMAC-SHA256 with the four values, or a bearer token."""
        if oauth_values is not None:
            consumer_key, consumer_secret, token_secret = oauth_values
            return OAuth1(consumer_key, client_secret=consumer_secret, resource_owner_key=token,
                          resource_owner_secret=token_secret, signature_method=SIGNATURE_HMAC_SHA256), {}
        return None, {"Authorization": f"Bearer {token}"}

    # -- one call ---------------------------------------------------------------------

    def call(self, path: str, params: Mapping[str, str] | None = None, *, what: str | None = None,
             allow_404: bool = False) -> Any:
        """GET one resource; JSON body, or None for a 404 when `allow_404` (an absent module).
        Raises `Missing` for a 404 about an entity that does not exist."""
        response = self._get(path, params)
        if response.status_code == 404 and allow_404 and self._no_route(response):
            return None
        return self._answer(response, what or path)

    def send(self, method: str, path: str, body: Mapping[str, Any], *, what: str) -> Any:
        """One write (POST/PUT with a JSON body), sent once: an absolute stock write that failed
        is looked at again by the caller (the shop may have moved meanwhile), never resent blindly."""
        response = self.http.request(method, path, json=body, retry=False)
        return self._answer(response, what)

    def _answer(self, response: requests.Response, what: str) -> Any:
        if response.status_code >= 400:
            error = classify(response, what, oauth=self.oauth)
            if response.status_code == 404 and not isinstance(error, (AuthError, ConfigError)):
                raise Missing(f"Magento {what}: {message_of(_json_body(response)) or 'not found'}", status=404,
                              body=excerpt(response))
            raise error
        body = _json_body(response)
        if body is None and response.content.strip():
            raise HttpError(f"Magento {what}: the shop answered with something other than JSON "
                            f"({response.headers.get('Content-Type', '?')}): {excerpt(response, 160)}",
                            status=response.status_code, body=excerpt(response))
        return body

    @staticmethod
    def _no_route(response: requests.Response) -> bool:
        return _NO_ROUTE in message_of(_json_body(response))

    def _get(self, path: str, params: Mapping[str, str] | None) -> requests.Response:
        if not self.oauth:
            return self.http.get(path, params=params)
        # A signed request carries a nonce Magento accepts once ("The nonce is already being used"):
        # a retry must be signed again, so it is sent anew here rather than replayed by urllib3.
        for attempt in range(_RETRIES + 1):
            try:
                response = self.http.get(path, params=params, retry=False)
            except Unreachable:
                if attempt == _RETRIES:
                    raise
                time.sleep(min(30.0, 0.5 * 2 ** attempt) + random.uniform(0, 0.3))
                continue
            if response.status_code not in (429, 500, 502, 503, 504) or attempt == _RETRIES:
                return response
            time.sleep(wait_seconds(response, default=min(30.0, 0.5 * 2 ** attempt)))
        raise AssertionError("unreachable")

    # -- lists ------------------------------------------------------------------------

    def pages(self, path: str, *, what: str, filters: Sequence[Sequence[tuple[str, str, str]]] = (),
              fields: str | None = None, size: int = PAGE_SIZE, sort: str | None = "entity_id",
              key: Callable[[dict], Hashable] | None = lambda row: str(row.get("id")),
              extra: Mapping[str, str] | None = None, plain_paging: bool = False) -> Iterator[list[dict]]:
        """Whole pages of a searchCriteria list, in `sort` order, until `total_count` is reached.

        `plain_paging`: the list takes `currentPage` and `pageSize` as plain parameters
        (`stockItems/lowStock`) instead of `searchCriteria[...]`.
        """

        def fetch(number: int, page_size: int) -> Page[dict]:
            if plain_paging:
                params = {"currentPage": str(number), "pageSize": str(page_size)}
            else:
                params = criteria(page=number, size=page_size, sort=sort, filters=filters)
            if fields:
                params["fields"] = fields
            params.update(extra or {})
            body = self.call(path, params, what=what)
            if not isinstance(body, Mapping):
                raise HttpError(f"Magento {what}: expected a search result, got {type(body).__name__}")
            items = [row for row in body.get("items") or () if isinstance(row, dict)]
            total = body.get("total_count")
            return Page(rows=items, total=int(total) if isinstance(total, int) else None)

        yield from PageNumberPaginator(fetch, size=size, what=f"Magento {what}", key=key)

    def list_all(self, path: str, **kwargs: Any) -> list[dict]:
        return [row for page in self.pages(path, **kwargs) for row in page]

    def close(self) -> None:
        self.http.close()
