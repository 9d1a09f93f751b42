"""The only module that knows PrestaShop's webservice: URLs, auth, JSON lists, paging, errors.

Every read is a whole page of a list resource (`display=...`, `sort=[id_ASC]`, a
page of ids above the last one seen); nothing here reads one product or one
combination at a time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

import defusedxml.ElementTree as safe_xml
import requests
from defusedxml import DefusedXmlException

from gwsync.errors import AuthError, ConfigError, HttpError, SyncError
from gwsync.http import HttpClient, excerpt, http_error, looks_like_firewall
from gwsync.kit import KeysetPaginator, Page

from .mapping import stock_row_rank

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^[A-Za-z0-9]{32}$")
BACK_OFFICE = "Advanced Parameters > Webservice"
# Codes PrestaShop answers when no key reached PHP at all (16) or an empty one did (17).
_NO_KEY_CODES = frozenset({16, 17})
_XML_ERROR = re.compile(r"<code>\s*(?:<!\[CDATA\[)?\s*(\d+)\s*(?:\]\]>)?\s*</code>\s*"
                        r"<message>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</message>", re.S)
MIN_PAGE = 25
MAX_ID = 4294967295  # ids are INT UNSIGNED in PrestaShop's tables


def api_base(url: str) -> str:
    """The webservice root for what a vendor typed: `https://host[/folder][/api[/]]` -> `.../api/`."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"PRESTASHOP_URL must start with http:// or https:// (got {text!r})")
    path = parts.path.rstrip("/")
    if path.lower().endswith("/api"):
        path = path[:-4]
    return urlunsplit((parts.scheme, parts.netloc, path + "/api/", "", ""))


def ps_errors(response: requests.Response) -> list[tuple[int | None, str]]:
    """The (code, message) pairs of a webservice error answer, JSON or XML."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        out = []
        for error in body["errors"]:
            if isinstance(error, dict):
                try:
                    code = int(error.get("code"))
                except (TypeError, ValueError):
                    code = None
                out.append((code, str(error.get("message", ""))))
        return out
    text = response.text if body is None else ""
    return [(int(c), m.strip()) for c, m in _XML_ERROR.findall(text or "")]


def error_codes(response: requests.Response) -> set[int]:
    return {code for code, _ in ps_errors(response) if code is not None}


def _resource_of(path: str) -> str:
    return path.strip("/").split("/")[0] or "the API root"


class NotAllowed(AuthError):
    """The key works but may not GET this resource (401 code 26, 405 code 25)."""


def classify(response: requests.Response, what: str) -> Exception:
    """Turn an error answer into one line that says what to fix in the back office."""
    codes = error_codes(response)
    status = response.status_code
    resource = _resource_of(what)
    if status == 503 and 22 in codes:
        return AuthError(f"PrestaShop: the webservice is disabled; in the back office open {BACK_OFFICE} "
                         "and set \"Enable PrestaShop's webservice\" to Yes")
    if status == 401:
        if 18 in codes:
            return AuthError("PrestaShop: the webservice key has the wrong format; copy the 32-character key "
                             f"from {BACK_OFFICE} into PRESTASHOP_API_KEY")
        if codes & {19, 20, 21}:
            return AuthError("PrestaShop: the shop refuses this webservice key (unknown or disabled); in "
                             f"{BACK_OFFICE} check the key and set its Status to Enabled")
        if 26 in codes:
            return NotAllowed(f"PrestaShop: the webservice key may not read '{resource}'; in {BACK_OFFICE} "
                              f"edit the key and tick View (GET) for '{resource}'")
        if codes & _NO_KEY_CODES or not codes:
            return AuthError("PrestaShop: the shop saw no webservice key (401); check PRESTASHOP_API_KEY, and "
                             "that the web server passes the Authorization header to PHP")
        return AuthError(f"PrestaShop refused the webservice key (401, codes {sorted(codes)}); check the key "
                         f"in {BACK_OFFICE}")
    if status == 405 and 25 in codes:
        return NotAllowed(f"PrestaShop: the webservice key may not use this method on '{resource}'; in "
                          f"{BACK_OFFICE} edit the key and tick View (GET) for '{resource}'")
    if status == 403 and 132 in codes:
        return AuthError("PrestaShop: the webservice key is not enabled for this shop; in "
                         f"{BACK_OFFICE} edit the key and tick the shop (multistore), or check PRESTASHOP_SHOP_ID")
    if looks_like_firewall(response):
        return AuthError(f"PrestaShop: {what}: HTTP 403 with an HTML page, which usually comes from the host's "
                         "firewall or WAF, not from PrestaShop; ask the host to allow this server's requests to /api/")
    if status == 404 and not codes:
        return ConfigError(f"PrestaShop: no webservice at {response.url.split('?')[0]} (HTTP 404); check "
                           "PRESTASHOP_URL and that URL rewriting (.htaccess) is on for /api/")
    return http_error(response, f"PrestaShop {what}")


class PrestaShopClient:
    """Bulk reads from one shop's webservice; counts every call into the run's stats."""

    def __init__(self, http: HttpClient, key: str, *, shop_id: int | None = None,
                 key_in_url: bool = False) -> None:
        self.http = http
        self.shop_id = shop_id
        self.key_in_url = key_in_url
        self._key = key
        self._probed: dict[str, Any] | None = None

    # -- low level ---------------------------------------------------------

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"output_format": "JSON"}
        if self.shop_id is not None:
            out["id_shop"] = str(self.shop_id)
        out.update(params or {})
        if self.key_in_url:
            out["ws_key"] = self._key
        return out

    def _check_key_format(self) -> None:
        if not KEY_PATTERN.match(self._key or ""):
            raise AuthError("PrestaShop: PRESTASHOP_API_KEY must be the 32-character webservice key (letters and "
                            f"digits) from {BACK_OFFICE}")

    def _json(self, response: requests.Response, what: str) -> Any:
        if response.status_code >= 400:
            raise classify(response, what)
        if response.status_code == 204 or not response.content.strip():
            return []
        try:
            return response.json()
        except ValueError:
            raise HttpError(f"PrestaShop {what}: the shop answered with something other than JSON "
                            f"({response.headers.get('Content-Type', '?')}); PHP notices in debug mode often "
                            f"cause this: turn debug mode off. Body: {excerpt(response, 160)}",
                            status=response.status_code, body=excerpt(response)) from None

    def fetch(self, url: str) -> requests.Response:
        """GET a binary (an image) with the shop's credentials; the URL never carries the key."""
        self.probe()
        params = {"ws_key": self._key} if self.key_in_url else None
        return self.http.get(url, params=params)

    # -- the first call: connection check and FastCGI diagnosis ------------

    def probe(self) -> dict[str, Any]:
        """`GET /api/` once per run: resources the key may use, webservice version.

        When the shop says it saw no key although a well-formed one was sent, the
        host most likely strips the `Authorization` header (PHP as CGI/FastCGI).
        This first call then makes ONE diagnostic retry with `?ws_key=` to tell that
        apart from a bad key, and stops either way with a message saying which.
        """
        if self._probed is not None:
            return self._probed
        self._check_key_format()
        # sent once: a disabled webservice or a refused key is reported at once, not after backoff
        response = self.http.get("", params=self._params(None), retry=False)
        if response.status_code == 429 or (response.status_code >= 500 and 22 not in error_codes(response)):
            response = self.http.get("", params=self._params(None))  # transient: retried with backoff
        if response.status_code == 401 and not self.key_in_url and self._no_key_seen(response):
            self._diagnose_stripped_header()
        self._probed = {
            "resources": resources_of(self._json(response, "/")),
            "version": response.headers.get("PSWS-Version"),
        }
        return self._probed

    def may_put(self, resource: str) -> bool | None:
        """Whether the key may modify (PUT) `resource`. The XML resource listing (`GET /api/`
        without output_format) names each resource the key has any permission for, flagged
        get/put/post/patch/delete/head="true" or "false"; the JSON one gives names only. None when
        the listing cannot be read or carries no flags: then the first write tells."""
        try:
            response = self.http.get("", params={**self._params(None), "output_format": None})  # None: left out
            if response.status_code >= 400:
                return None
            api = safe_xml.fromstring(response.content).find("api")
        except (SyncError, DefusedXmlException, ElementTree.ParseError):
            return None
        if api is None:
            return None
        entry = api.find(resource)
        if entry is None:
            return False if any(child.get("get") for child in api) else None
        flag = entry.get("put")
        return None if flag is None else flag == "true"

    @staticmethod
    def _no_key_seen(response: requests.Response) -> bool:
        codes = error_codes(response)
        return bool(codes & _NO_KEY_CODES) or (not codes and "WWW-Authenticate" in response.headers)

    def _diagnose_stripped_header(self) -> None:
        log.info("PrestaShop saw no key in the Authorization header; one diagnostic call with the key in the URL")
        params = self._params(None)
        params["ws_key"] = self._key
        retry = self.http.get("", params=params, retry=False)
        if retry.status_code < 400:
            raise AuthError(
                "PrestaShop: the web server drops the Authorization header before PHP sees it (PHP as "
                "CGI/FastCGI); the key itself works. Fix the host: Apache .htaccess `CGIPassAuth On` or "
                "`SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1`, nginx `fastcgi_param "
                "HTTP_AUTHORIZATION $http_authorization;`. Last resort: PRESTASHOP_KEY_IN_URL=yes sends the key "
                "as ?ws_key= (it then shows in the shop's access logs)")
        raise AuthError("PrestaShop: the web server drops the Authorization header (PHP as CGI/FastCGI), and "
                        "the key is refused even in the URL: " + str(classify(retry, "/")).removeprefix(
                            "PrestaShop: "))

    # -- lists ------------------------------------------------------------

    def iter_pages(self, resource: str, params: Mapping[str, Any] | None = None,
                   page_size: int = 100) -> Iterator[list[dict[str, Any]]]:
        """Whole pages of a list resource in id order, until a short page.

        Keyset paging (the kit's `KeysetPaginator`): each page asks for the ids above the
        last one seen (`filter[id]=[last+1,MAX]&limit=count`), so a row deleted or added
        during the read never shifts another row out of view (with `limit=offset,count` a
        product deleted mid-read hides the first row of the next page, which would then be
        archived). PrestaShop sends no total: a page with fewer rows than asked is the last.
        A 5xx on a big `display=full` page (PHP time or memory limit) halves the page size
        and asks again.
        """
        size = [page_size]

        def fetch(after: int | None, _: int) -> Page:
            while True:
                query = {"sort": "[id_ASC]", **(params or {}), "filter[id]": f"[{(after or 0) + 1},{MAX_ID}]",
                         "limit": str(size[0])}
                self.probe()
                response = self.http.get(resource, params=self._params(query))
                if response.status_code >= 500 and size[0] > MIN_PAGE and 22 not in error_codes(response):
                    size[0] = max(MIN_PAGE, size[0] // 2)
                    log.warning("PrestaShop %s: HTTP %s on a page of %s rows; asking for %s rows",
                                resource, response.status_code, size[0] * 2, size[0])
                    continue
                return Page(rows=rows_of(self._json(response, resource), resource), size=size[0])

        return iter(KeysetPaginator(fetch, size=page_size, what=f"PrestaShop {resource}", key=_int_id))

    def list_all(self, resource: str, params: Mapping[str, Any] | None = None,
                 page_size: int = 1000) -> list[dict[str, Any]]:
        return [row for page in self.iter_pages(resource, params, page_size) for row in page]

    def list_if_allowed(self, resource: str, params: Mapping[str, Any] | None = None,
                        page_size: int = 1000) -> list[dict[str, Any]] | None:
        """`list_all`, or None when the key may not GET `resource` (401 code 26, 405 code 25)."""
        try:
            return self.list_all(resource, params, page_size)
        except NotAllowed:
            return None

    def may_read(self, resource: str) -> bool:
        """One row of `resource` (`display=[id]`): False when the key may not GET it (401 code 26,
        405 code 25); any other error is raised as usual."""
        self.probe()
        response = self.http.get(resource, params=self._params({"display": "[id]", "limit": "1"}))
        if response.status_code in (401, 405) and error_codes(response) & {25, 26}:
            return False
        self._json(response, resource)
        return True

    def list_by_ids(self, resource: str, ids: Sequence[str], params: Mapping[str, Any] | None = None,
                    ) -> list[dict[str, Any]]:
        """The rows of up to ~100 given ids in one call (`filter[id]=[a|b|c]`)."""
        if not ids:
            return []
        self.probe()
        query = {**(params or {}), "filter[id]": "[" + "|".join(ids) + "]", "limit": str(len(ids))}
        return rows_of(self._json(self.http.get(resource, params=self._params(query)), resource), resource)


def _int_id(row: Mapping[str, Any]) -> int:
    try:
        return int(str(row.get("id")).strip())
    except ValueError:
        raise HttpError(f"PrestaShop answered a row without a numeric id: {str(row.get('id'))[:40]!r}") from None


def rows_of(body: Any, resource: str) -> list[dict[str, Any]]:
    """Rows of a list answer: `[]` (empty, many versions), `{"<resource>": [...]}` or `{}`."""
    if isinstance(body, list):
        return [row for row in body if isinstance(row, dict)]
    if isinstance(body, dict):
        value = body.get(resource)
        if value is None and len(body) == 1:
            value = next(iter(body.values()))
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return [row for row in value if isinstance(row, dict)]
    return []


def resources_of(body: Any) -> set[str]:
    """Resource names the key may use, from `GET /api/?output_format=JSON`.

    PrestaShop's JSON writer turns the XML resource listing into a flat list of
    names (`["addresses", "carriers", ...]`, `WebserviceOutputJSON::renderNodeHeader`).
    An `{"api": {name: {...}}}` object is accepted too, in case a version or a
    module renders it that way.
    """
    if isinstance(body, list):
        return {name for name in body if isinstance(name, str)}
    if isinstance(body, dict):
        api = body.get("api", body)
        if isinstance(api, dict):
            return {name for name in api if not name.startswith("@")}
    return set()


class StockRows:
    """Step 2: one item's `stock_availables` row, read and written whole (PrestaShop NULLs left-out fields)."""

    def __init__(self, client: PrestaShopClient) -> None:
        self.client = client

    def row(self, product_id: str, attribute_id: str) -> dict[str, Any] | None:
        client = self.client
        client.probe()
        query = {"display": "full", "filter[id_product]": f"[{product_id}]",
                 "filter[id_product_attribute]": f"[{attribute_id}]", "limit": "100"}
        rows = rows_of(client._json(client.http.get("stock_availables", params=client._params(query)),
                                    "stock_availables"), "stock_availables")
        # multistore: one row per shop (or one shared per group); the same row the import counts
        shop = str(client.shop_id) if client.shop_id is not None else None
        return max(rows, key=lambda row: stock_row_rank(row, shop), default=None)

    def put(self, row: Mapping[str, Any]) -> None:
        """The complete row as XML, the only body PUT takes on every 1.6-8.x webservice."""
        client = self.client
        root = ElementTree.Element("prestashop", {"xmlns:xlink": "http://www.w3.org/1999/xlink"})
        node = ElementTree.SubElement(root, "stock_available")
        for name, value in row.items():
            if not isinstance(value, dict | list):
                ElementTree.SubElement(node, name).text = "" if value is None else str(value)
        body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
        # sent once: a blind resend of an absolute quantity could overwrite a sale made meanwhile;
        # the next attempt re-reads the row against the recorded intent instead (gwsync.stock.apply)
        response = client.http.put(f"stock_availables/{row['id']}", params=client._params(None), data=body,
                                   headers={"Content-Type": "application/xml"}, retry=False)
        client._json(response, "stock_availables")
