"""The only module that speaks Shoper's REST WebAPI (`{shop}/webapi/rest/`).

Reads are whole pages of 50 rows, and pages are batched through
`POST /webapi/rest/bulk` (up to 25 sub-requests per call). The shop's leaky
bucket (`X-Shop-Api-Limit` calls, draining `X-Shop-Api-Bandwidth` per second,
current fill in `X-Shop-Api-Calls`) is respected by `watch_bucket`, which pauses
the shared `RateLimiter` before the bucket overflows; a 429 that still happens is
retried by `gwsync.http` after `Retry-After`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from gwsync.errors import AuthError, CannotRun, HttpError, SyncError
from gwsync.http import HttpClient, RateLimiter, excerpt, http_error, looks_like_firewall, wait_seconds
from gwsync.kit import Page, PageNumberPaginator, rows
from gwsync.redact import register_secret

log = logging.getLogger(__name__)

API_PATH = "webapi/rest/"
PAGE_SIZE = 50  # Shoper's maximum; anything larger silently becomes 10 (a short page then fails the read)
# A deletion during a read makes the paginator step back over the shifted pages once; a
# listing that changes again during the same read ends it (the next run reads it whole).
MAX_REWINDS = 1
BULK_MAX = 25
BULK_STALLS = 4  # bulk calls in a row that answer no pending sub-request before the read gives up
DEFAULT_LIMIT, DEFAULT_BANDWIDTH = 10.0, 2.0  # Shoper's bucket when a shop sends no headers
REFRESH_ERRORS = frozenset({"unauthorized_client", "invalid_token", "invalid_grant", "expired_token"})

RIGHTS_ERRORS = frozenset({"access_denied", "insufficient_scope"})  # a valid token without the right
RIGHTS_HINT = ("give the WebAPI user's group read access to Asortyment and Konfiguracja "
               "(Konfiguracja > Administracja, system > Administratorzy)")

WRITE_RIGHTS_HINT = ("give the WebAPI user's group write access to Asortyment (stock) "
                     "(Konfiguracja > Administracja, system > Administratorzy)")
WRITE_RESENDS = 4  # a write answered 429 was not processed: sent again after Retry-After


class ObjectLocked(SyncError):
    """Shoper refused a write because the object is open elsewhere: try again later."""


_AUTH_MESSAGES = {
    "auth_failure": "Shoper refused the login or password (auth_failure): check SHOPER_CLIENT_ID and "
                    "SHOPER_CLIENT_SECRET against the WebAPI user in Konfiguracja > Administracja, "
                    "system > Administratorzy",
    "auth_ip_not_allowed": "Shoper does not allow WebAPI logins from this IP address "
                           "(auth_ip_not_allowed): allow it for the WebAPI user in the shop's admin panel",
    "auth_webapi_access_denied": "the Shoper user has no WebAPI access (auth_webapi_access_denied): set its "
                                 "group's access type to 'panel + webapi' or 'webapi'",
}


@dataclass(frozen=True)
class Listing:
    """One paged read of a resource: `GET /webapi/rest/<resource>?<params>&limit=50&page=N`.

    Pages are 1-based and come back as `{"count": "<str>", "pages": <int>, "page": <int>,
    "list": [...]}`; the last one is the one that reaches `count` (the 2020 importer looped
    `range(2, pages)` and lost it). `id_field` names the rows for the kit's de-duplication
    and shift guard.
    """

    name: str
    resource: str
    params: dict[str, Any] = field(default_factory=dict)
    id_field: str | None = None

    def page_params(self, page: int) -> dict[str, Any]:
        return {**self.params, "limit": PAGE_SIZE, "page": page}


def parse_page(listing: Listing, requested: int, body: Any) -> Page:
    """A list answer as a kit `Page`; an empty table (or a 404 empty page) has no rows."""
    if body is None:
        return Page(rows=())
    if isinstance(body, list):  # a resource that answers with a bare array
        return Page(rows=body, total=len(body))
    if not isinstance(body, dict) or "list" not in body:
        raise HttpError(f"Shoper {listing.resource}: unexpected answer (no 'list'): {str(body)[:200]}")
    try:
        count = int(str(body.get("count") or "0"))  # a string in Shoper's answers
        number = int(body.get("page") or requested)
    except ValueError as exc:
        raise HttpError(f"Shoper {listing.resource}: unreadable page counters: {exc}") from None
    if number != requested:
        raise HttpError(f"Shoper {listing.resource}: asked for page {requested}, got page {number}")
    return Page(rows=list(body.get("list") or []), total=count)


def bucket_state(response: requests.Response) -> tuple[float, float, float] | None:
    """(calls in the bucket, its size, drained per second) from the `X-Shop-Api-*` headers."""
    headers = response.headers
    try:
        calls = float(headers["X-Shop-Api-Calls"])
        limit = float(headers["X-Shop-Api-Limit"])
        bandwidth = float(headers.get("X-Shop-Api-Bandwidth") or DEFAULT_BANDWIDTH) or DEFAULT_BANDWIDTH
    except (KeyError, ValueError):
        return None
    return calls, limit, bandwidth


def watch_bucket(limiter: RateLimiter, margin: int = 2) -> Callable[[requests.Response], None]:
    """An `on_response` hook: pause every caller when the shop's bucket is nearly full."""

    def hook(response: requests.Response) -> None:
        if response.status_code == 429:
            limiter.hold(wait_seconds(response, default=1.0, cap=60.0))
            return
        state = bucket_state(response)
        if state is None:
            return
        calls, limit, bandwidth = state
        free = limit - calls
        if free <= margin:  # let the bucket drain to `margin + 1` free calls before the next request
            limiter.hold((margin + 1 - free) / bandwidth)

    return hook


def _refusal(status: int, code: str, what: str) -> AuthError:
    """A 401/403 on a read: missing rights (403, `access_denied`) or a token Shoper no longer takes."""
    if status == 403 or code in RIGHTS_ERRORS:
        return AuthError(f"the WebAPI user may not read {what} ({code or f'HTTP {status}'}): {RIGHTS_HINT}")
    return AuthError(f"Shoper refused the WebAPI token on {what} ({code or 'HTTP 401'}): "
                     "check SHOPER_CLIENT_ID and SHOPER_CLIENT_SECRET")


def _error_code(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if isinstance(body, dict):
        return str(body.get("error") or ""), str(body.get("error_description") or "")
    return "", ""


REFUSED = object()  # an optional read the WebAPI user has no right to


class ShoperClient:
    """Authenticated access to one shop's WebAPI."""

    def __init__(self, http: HttpClient, login: str, password: str, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.http = http
        self._login = login
        self._password = password
        self._token: str | None = None
        self._sleep = sleep
        self.bulk_calls = 0
        self.refreshes = 0
        # sub-request paths are absolute: "/webapi/rest/products" (or below a shop's sub-path)
        self._api_prefix = urlsplit(http.base_url).path
        self._shop = http.base_url[: -len(API_PATH)] if http.base_url.endswith(API_PATH) else http.base_url

    # -- authentication -------------------------------------------------------------------

    def authenticate(self) -> None:
        """`POST /webapi/rest/auth` with HTTP Basic login:password -> bearer token (30 days)."""
        response = self.http.post("auth", auth=(self._login, self._password), idempotent=True)
        if response.status_code in (401, 403):
            code, _ = _error_code(response)
            if code in _AUTH_MESSAGES:
                raise AuthError(_AUTH_MESSAGES[code])
            if looks_like_firewall(response):
                raise AuthError("a firewall in front of the shop refused the WebAPI login (HTML 403): "
                                "ask the hosting to let this machine through")
            raise AuthError(f"Shoper refused the WebAPI login (HTTP {response.status_code} {code or ''}): "
                            "check SHOPER_CLIENT_ID and SHOPER_CLIENT_SECRET")
        if response.status_code in (400, 404, 405):
            raise CannotRun(f"{self._shop} has no Shoper WebAPI (HTTP {response.status_code} "
                            "on /webapi/rest/auth): check SHOPER_URL (the shop's address, e.g. "
                            "https://sklep123456.shoparena.pl)")
        if response.status_code != 200:
            raise http_error(response, "Shoper login (POST /webapi/rest/auth)")
        body = self._json(response, "POST /webapi/rest/auth")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise CannotRun(f"{self._shop} answered the WebAPI login without a token: "
                            "check SHOPER_URL")
        register_secret(token)
        self._token = str(token)
        self.http.set_header("Authorization", f"Bearer {self._token}")

    def _json(self, response: requests.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CannotRun(f"Shoper {what}: the answer is not JSON ({excerpt(response, 80)!r}): "
                            "check SHOPER_URL points at the shop itself") from None

    # -- requests -------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One call with the token; an expired token (401 unauthorized_client) is renewed once."""
        if self._token is None:
            self.authenticate()
        response = self.http.request(method, path, **kwargs)
        if response.status_code == 401 and _error_code(response)[0] in REFRESH_ERRORS:
            log.info("Shoper token refused (%s); logging in again", _error_code(response)[0])
            self.refreshes += 1
            self.authenticate()
            response = self.http.request(method, path, **kwargs)
        return response

    def _check(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 403 and looks_like_firewall(response):
            raise AuthError(f"a firewall in front of the shop refused {what} (HTML 403): "
                            "ask the hosting to let this machine through")
        if status in (401, 403):
            raise _refusal(status, _error_code(response)[0], what)
        if status == 429:
            raise http_error(response, f"Shoper {what}: still rate limited after retries; run again later")
        raise http_error(response, f"Shoper {what}")

    def get(self, resource: str, params: dict[str, Any] | None = None) -> Any:
        response = self._send("GET", resource, params=_flat(params or {}))
        if response.status_code == 404 and resource.rstrip("/") in ("application-config",):
            raise CannotRun(f"{self._shop} has no Shoper WebAPI (404 on {resource}): "
                            "check SHOPER_URL")
        self._check(response, f"GET {resource}")
        return self._json(response, f"GET {resource}")

    def find(self, resource: str, object_id: str) -> dict[str, Any] | None:
        """`GET /webapi/rest/<resource>/<id>`: the object, or None when Shoper answers 404 (gone)."""
        what = f"GET {resource}/{{id}}"
        response = self._send("GET", f"{resource}/{quote(object_id, safe='')}")
        if response.status_code == 404:
            return None
        self._check(response, what)
        body = self._json(response, what)
        if not isinstance(body, dict):
            raise HttpError(f"Shoper {what}: unexpected answer: {str(body)[:200]}")
        return body

    def update(self, resource: str, object_id: str, body: dict[str, Any]) -> bool:
        """`PUT /webapi/rest/<resource>/<id>` with only the fields to change (Shoper leaves the
        others as they are); False when the object is gone (404).

        Sent once (`retry=False`: the HTTP layer would resend a PUT after a 5xx or a timeout, and
        an absolute stock sent again after a sale in the shop would overwrite that sale; the stock
        service decides instead, from the intent it recorded): only a 429 (not processed) is
        sent again, after the bucket drained. An object
        open in the admin editor answers `temporarily_unavailable` "Object is locked": `ObjectLocked`,
        which the caller retries later. Success answers the integer 1 (the SDK also allows the
        object back, or nothing); a 0 or false is a refusal.
        """
        what = f"PUT {resource}/{{id}}"
        path = f"{resource}/{quote(object_id, safe='')}"
        for _ in range(WRITE_RESENDS):
            response = self._send("PUT", path, json=body, retry=False)
            if response.status_code != 429:  # `watch_bucket` made the limiter wait for Retry-After
                break
        if response.status_code == 404:
            return False
        if response.status_code == 429:
            self._check(response, what)  # still rate limited: raises
        code, description = _error_code(response)
        if code == "temporarily_unavailable" or "locked" in description.lower():
            raise ObjectLocked(f"Shoper {what}: the object is locked ({description or code}), e.g. open in "
                               "the shop's admin editor; tried again later")
        if response.status_code in (401, 403) and not looks_like_firewall(response):
            code = code or f"HTTP {response.status_code}"
            if response.status_code == 403 or code in RIGHTS_ERRORS:
                raise AuthError(f"the WebAPI user may not write stock ({code}): {WRITE_RIGHTS_HINT}")
        self._check(response, what)
        if not response.content.strip():
            return True  # the SDK reads an empty 2xx answer as done
        answer = self._json(response, what)
        if answer in (0, False, "0"):
            raise HttpError(f"Shoper {what}: the shop did not confirm the change (answered {answer!r})")
        return True

    def bulk(self, calls: list[dict[str, Any]]) -> dict[str, tuple[int, Any]]:
        """`POST /webapi/rest/bulk` with up to 25 GET sub-requests -> {id: (code, body)}.

        A bulk call only reads here, so it is marked idempotent (retried on 429/5xx).
        Sub-requests answered 429 or 5xx are sent again once the bucket has drained:
        whether Shoper charges a bulk as one call or per sub-request is unverified, and
        in the second case the sub-requests beyond the bucket's size answer 429.
        """
        results: dict[str, tuple[int, Any]] = {}
        pending = list(calls)
        stalls = 0
        while pending:
            response = self._send("POST", "bulk", json=pending, idempotent=True)
            self._check(response, "POST bulk")
            self.bulk_calls += 1
            answered, pending = _bulk_answers(pending, self._json(response, "POST bulk"))
            results.update(answered)
            stalls = 0 if answered else stalls + 1
            if pending and stalls >= BULK_STALLS:
                raise HttpError(f"Shoper bulk: {len(pending)} sub-requests still failing after "
                                f"{stalls} tries (e.g. {pending[0]['path']}); run again later")
            if pending:
                self._sleep(_drain_seconds(response, len(pending), stalls))
        return results

    def _sub(self, call_id: str, resource: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": call_id, "method": "GET", "path": self._api_prefix + resource, "params": _flat(params)}

    def _sub_result(self, code: int, body: Any, what: str) -> Any:
        if code == 200:
            return body
        if code == 404:
            return None  # an empty list page may answer 404
        error = body.get("error") if isinstance(body, dict) else None
        if code in (401, 403):
            raise _refusal(code, str(error or ""), what)
        raise HttpError(f"Shoper {what} (in bulk): HTTP {code}: {str(body)[:200]}", status=code)

    # -- paged reads ----------------------------------------------------------------------

    def get_many(self, requests_: dict[str, tuple[str, dict[str, Any]]],
                 optional: Iterable[str] = ()) -> dict[str, Any]:
        """Several single GETs (lookups, first pages) in as few bulk calls as possible.

        A name in `optional` that the WebAPI user may not read (or this shop does not have)
        answers `REFUSED` instead of failing.
        """
        optional = set(optional)
        out: dict[str, Any] = {}
        names = list(requests_)
        for start in range(0, len(names), BULK_MAX):
            chunk = names[start:start + BULK_MAX]
            calls = [self._sub(name, *requests_[name]) for name in chunk]
            answers = self.bulk(calls)
            for name in chunk:
                code, body = answers[name]
                if name in optional and code in (400, 401, 403):  # no right, or no such resource here
                    out[name] = REFUSED
                    continue
                out[name] = self._sub_result(code, body, f"GET {requests_[name][0]}")
        return out

    def first_pages(self, listings: Iterable[Listing], extra: dict[str, tuple[str, dict[str, Any]]] | None = None,
                    optional: Iterable[str] = ()) -> tuple[dict[str, Page], dict[str, Any]]:
        """Page 1 of every listing plus `extra` single GETs, batched together.

        A listing named in `optional` that the WebAPI user may not read is left out of the pages.
        """
        listings = list(listings)
        wanted = {f"page:{lst.name}": (lst.resource, lst.page_params(1)) for lst in listings}
        wanted.update(extra or {})
        answers = self.get_many(wanted, optional={f"page:{name}" for name in optional})
        pages = {lst.name: parse_page(lst, 1, answers[f"page:{lst.name}"]) for lst in listings
                 if answers[f"page:{lst.name}"] is not REFUSED}
        return pages, {key: answers[key] for key in (extra or {})}

    def paginator(self, listing: Listing, first: Page | None = None) -> PageNumberPaginator:
        """Every page of a listing: page 1 given (from `first_pages`) or read, the rest 25 per bulk call."""
        ahead = {1: first} if first is not None else {}

        def one(number: int, size: int) -> Page:
            if number in ahead:
                return ahead.pop(number)
            return self.first_pages([listing])[0][listing.name] if number == 1 else self._pages(listing, [number])[0]

        field_name = listing.id_field
        return PageNumberPaginator(one, size=PAGE_SIZE, what=f"Shoper {listing.resource}",
                                   key=(lambda row: row.get(field_name)) if field_name else None,
                                   fetch_many=lambda numbers, size: self._pages(listing, numbers),
                                   batch=BULK_MAX, max_rewinds=MAX_REWINDS)

    def _pages(self, listing: Listing, numbers: list[int]) -> list[Page]:
        calls = [self._sub(f"{listing.name}:{n}", listing.resource, listing.page_params(n)) for n in numbers]
        answers = self.bulk(calls)
        return [parse_page(listing, n, self._sub_result(*answers[f"{listing.name}:{n}"], f"GET {listing.resource}"))
                for n in numbers]

    def iter_rows(self, listing: Listing, first: Page | None = None) -> Iterator[dict[str, Any]]:
        """Every row once, in the listing's order; a row deleted mid-read hides no other one."""
        return rows(self.paginator(listing, first))


def _bulk_answers(pending: list[dict[str, Any]], body: Any,
                  ) -> tuple[dict[str, tuple[int, Any]], list[dict[str, Any]]]:
    """A bulk answer `{"errors": bool, "items": [{"id", "code", "body"}]}` as (answered, to send again)."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise HttpError(f"Shoper bulk: unexpected answer: {str(body)[:200]}")
    by_id = {str(item["id"]): item for item in items if isinstance(item, dict) and item.get("id") is not None}
    if not by_id and len(items) == len(pending):  # items without ids answer in request order
        by_id = {call["id"]: item for call, item in zip(pending, items, strict=True) if isinstance(item, dict)}
    answered: dict[str, tuple[int, Any]] = {}
    again: list[dict[str, Any]] = []
    for call in pending:
        item = by_id.get(call["id"])
        code = _int(item.get("code")) if item else 0
        if item is None or code == 429 or code >= 500:
            again.append(call)
        else:
            answered[call["id"]] = (code, item.get("body"))
    return answered, again


def _drain_seconds(response: requests.Response, pending: int, stalls: int) -> float:
    """How long until the bucket has room for the sub-requests to send again (plus backoff when stuck)."""
    _, limit, bandwidth = bucket_state(response) or (0.0, DEFAULT_LIMIT, DEFAULT_BANDWIDTH)
    return min(pending, limit) / bandwidth + min(2.0 ** stalls - 1, 30.0)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _flat(params: dict[str, Any]) -> dict[str, Any]:
    """Query values as strings; `filters` (a dict) as JSON, the form Shoper documents."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, (dict, list)):
            out[key] = json.dumps(value, separators=(",", ":"))
        else:
            out[key] = value
    return out
