"""Every Gateway endpoint we use, in one place (gateway-api.md Part B is the contract)."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from urllib.parse import quote, urlsplit, urlunsplit

import requests

from ..errors import AuthError, HttpError, SyncError, Unreachable
from ..http import CallStats, HttpClient, http_error, wait_seconds
from ..ratecontrol import DEFAULT_CONCURRENCY, AdaptiveRate
from .auth import TokenSource

log = logging.getLogger(__name__)
PAGE_SIZE = 100
QUERY_WINDOW = 10_000  # from + size beyond this is refused (Elasticsearch's window)
MAX_BATCH_ITEMS = 100
MAX_BATCH_BYTES = 6 * 1024 * 1024 - 64 * 1024  # headroom under the 6 MB limit
PARTITIONS = [f"{i:02x}" for i in range(256)]
_TAG_IN_CONFLICT = re.compile(r"\(([0-9a-fA-F-]{36})\)")
# B12: 429 and 503 mean "not processed"; the same request (a create included) is sent again.
NOT_PROCESSED = frozenset({429, 503})
NOT_PROCESSED_TRIES = 8
NOT_PROCESSED_WAIT_MAX = 60.0


class AmbiguousWrite(SyncError):
    """A create was sent but its outcome is unknown (timeout, reset, 5xx after sending)."""


@dataclass
class BatchRejected(SyncError):
    """E1 answered 400: nothing was stored; `errors` maps item index to the reasons."""

    errors: dict[int, str]

    def __str__(self) -> str:
        return f"{len(self.errors)} item(s) rejected"


def partition_groups(total: int) -> list[list[str]]:
    """Split the 256 partitions into as few groups as keep each well inside the window."""
    wanted = math.ceil(total / (QUERY_WINDOW * 0.7))
    count = next(n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256) if n >= min(wanted, 256))
    width = len(PARTITIONS) // count
    return [PARTITIONS[i:i + width] for i in range(0, len(PARTITIONS), width)]


def dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def split_batches(items: Sequence[dict], max_items: int = MAX_BATCH_ITEMS,
                  max_bytes: int = MAX_BATCH_BYTES) -> Iterator[list[int]]:
    """Indexes of `items` grouped into calls of at most `max_items` and `max_bytes`."""
    batch: list[int] = []
    size = 0
    for index, item in enumerate(items):
        item_size = len(dumps(item).encode()) + 1
        if batch and (len(batch) >= max_items or size + item_size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += item_size
    if batch:
        yield batch


class GatewayClient:
    def __init__(self, base_url: str, shop_guid: str, key: bytes, *, stats: CallStats | None = None,
                 per_second: float | None = None, concurrency: int = DEFAULT_CONCURRENCY,
                 timeout: tuple[float, float] = (10.0, 60.0), pacer: AdaptiveRate | None = None) -> None:
        self.shop = shop_guid
        self.tokens = TokenSource(shop_guid, key)
        # B12: adaptive rate, at most `concurrency` in flight, `per_second` only as a hard ceiling
        self.pacer = pacer or AdaptiveRate(concurrency, ceiling=per_second)
        self.http = HttpClient(base_url, service="gateway", stats=stats, timeout=timeout, pool=concurrency,
                               pacer=self.pacer, resend_overload=True)
        self.http.stats.rate = self.pacer.figures
        # storage (S3 in production) has limits of its own: its own adaptive rate
        self.storage = HttpClient(base_url, service="gateway-storage", stats=self.http.stats, timeout=timeout,
                                  pool=concurrency, pacer=AdaptiveRate(concurrency), resend_overload=True)
        self.sleep = time.sleep  # tests replace it

    # -- plumbing -------------------------------------------------------------

    def _call(self, method: str, path: str, what: str, *, ok: Iterable[int] = (200, 201, 204),
              idempotent: bool | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": self.tokens.header()}
        if "json" in kwargs:
            kwargs["data"] = dumps(kwargs.pop("json")).encode()
            headers["Content-Type"] = "application/json"
        response = self._send(method, path, headers, idempotent, kwargs)
        if response.status_code in (401, 403):
            raise AuthError("the Gateway refused our token: check GATEWAY_SIGNING_KEY and "
                            f"GATEWAY_SHOP_GUID ({http_error(response, what)})")
        if response.status_code not in ok:
            raise http_error(response, f"Gateway {what}")
        return response

    def _send(self, method: str, path: str, headers: dict[str, str], idempotent: bool | None,
              kwargs: dict[str, Any]) -> requests.Response:
        """One request; a 429/503 answer (nothing was processed, B12) is waited out and sent again.

        Idempotent calls get this from the HTTP layer's retries already; this loop is for the
        POSTs sent once (E1, E9), and can go when the HTTP layer resends those itself.
        """
        resend = method == "POST" and not idempotent
        for attempt in range(NOT_PROCESSED_TRIES):
            response = self.http.request(method, path, headers=headers, idempotent=idempotent, **kwargs)
            if not resend or response.status_code not in NOT_PROCESSED or attempt == NOT_PROCESSED_TRIES - 1:
                return response
            wait = min(wait_seconds(response, default=min(2.0 ** attempt, 30.0)), NOT_PROCESSED_WAIT_MAX)
            log.debug("Gateway answered %s to %s %s: not processed, sent again in %.1f s",
                      response.status_code, method, path, wait)
            response.close()
            self.sleep(wait)
        raise AssertionError("unreachable")

    # -- products ---------------------------------------------------------------

    def create_products(self, items: list[dict]) -> list[dict]:
        """E1 once: never retried here (a create is not idempotent)."""
        path = f"dashboard/webshops/{self.shop}/products"
        try:
            response = self._call("POST", path, "create", ok=(200, 201, 400), idempotent=False,
                                  json={"products": items})
        except Unreachable as exc:
            raise AmbiguousWrite(str(exc)) from None
        except HttpError as exc:
            if exc.status is not None and exc.status >= 500:
                raise AmbiguousWrite(str(exc)) from None
            raise
        body = _json(response)
        if response.status_code == 400:
            raise BatchRejected(_item_errors(body, len(items)))
        stored = body.get("products") if isinstance(body, dict) else None
        if not isinstance(stored, list) or len(stored) != len(items):
            raise AmbiguousWrite("Gateway create answered without the stored products")
        return stored

    def update_product(self, guid: str, item: dict) -> dict:
        response = self._call("PUT", f"organizations/{self.shop}/products/{guid}/", "update", json=item)
        return _json(response)

    def archive_product(self, guid: str) -> None:
        self._call("DELETE", f"dashboard/webshops/{self.shop}/products/{guid}/", "archive", ok=(200, 204, 404))

    def delete_product(self, guid: str) -> None:
        """E6: deletes for good; cleanup commands and tests only."""
        self._call("DELETE", f"organizations/{self.shop}/products/{guid}/", "delete", ok=(200, 204, 404))

    # -- search ---------------------------------------------------------------------

    def query_page(self, must: list[dict], *, start: int = 0, size: int = PAGE_SIZE,
                   include_archived: bool = True) -> tuple[list[dict], int]:
        query: dict[str, Any] = {"bool": {"must": [{"match": {"owner_guid": self.shop}}, *must]}}
        if not include_archived:
            query["bool"]["must_not"] = [{"exists": {"field": "archived"}}]
        dsl = {"from": start, "size": size, "sort": [{"guid": "asc"}], "query": query}
        response = self._call("POST", "dashboard/webshop_products/_query", "query",
                              idempotent=True, json={"dsl": dsl})
        body = _json(response)
        products = body.get("products") or []
        return products, int(body.get("total", len(products)))

    def query(self, must: list[dict], include_archived: bool = True) -> Iterator[dict]:
        """Every match, partitioned by `data.partition` when beyond the query window."""
        first, total = self.query_page(must, include_archived=include_archived)
        if total <= QUERY_WINDOW:
            yield from self._pages(must, first, include_archived)
            return
        for group in partition_groups(total):
            clause = [*must, {"terms": {"data.partition": group}}]
            page, part_total = self.query_page(clause, include_archived=include_archived)
            if part_total > QUERY_WINDOW:  # never return a silently truncated scan
                raise SyncError(f"Gateway scan: a partition holds {part_total} products, "
                                f"more than the query window of {QUERY_WINDOW}")
            yield from self._pages(clause, page, include_archived)

    def _pages(self, must: list[dict], first: list[dict], include_archived: bool) -> Iterator[dict]:
        page, start = first, 0
        while True:
            yield from page
            if len(page) < PAGE_SIZE or start + 2 * PAGE_SIZE > QUERY_WINDOW:
                return
            start += PAGE_SIZE
            page, _ = self.query_page(must, start=start, include_archived=include_archived)

    def products_of_source(self, platform: str, shop: str, product_ids: Sequence[str] | None = None
                           ) -> Iterator[dict]:
        """Products that carry this source identity (all of them, or of these product ids)."""
        must: list[dict] = [{"term": {"data.source.platform": platform}},
                            {"term": {"data.source.shop": shop}}]
        if product_ids is None:
            yield from self.query(must)
            return
        for start in range(0, len(product_ids), 100):
            chunk = list(product_ids[start:start + 100])
            yield from self.query([*must, {"terms": {"data.source.product_id": chunk}}])

    def other_source_shops(self, platform: str, shop: str) -> dict[str, int]:
        """Live products of this platform under source shop ids other than `shop`: {shop id: count}.

        One query; a handful of products is enough to name the other shop (B5 terms on the
        partition would be overkill here)."""
        query = {"bool": {"must": [{"match": {"owner_guid": self.shop}},
                                   {"term": {"data.source.platform": platform}}],
                          "must_not": [{"term": {"data.source.shop": shop}}, {"exists": {"field": "archived"}}]}}
        dsl = {"from": 0, "size": PAGE_SIZE, "sort": [{"guid": "asc"}], "query": query}
        body = _json(self._call("POST", "dashboard/webshop_products/_query", "query", idempotent=True,
                                json={"dsl": dsl}))
        shops: dict[str, int] = {}
        for view in body.get("products") or []:
            other = ((view.get("data") or {}).get("source") or {}).get("shop")
            if isinstance(other, str) and other != shop:
                shops[other] = shops.get(other, 0) + 1
        if shops and int(body.get("total", 0)) > sum(shops.values()):  # say how many in all
            first = next(iter(shops))
            shops[first] += int(body["total"]) - sum(shops.values())
        return shops

    def count_products(self) -> int:
        _, total = self.query_page([], size=1, include_archived=False)
        return total

    # -- tags -------------------------------------------------------------------------

    def create_variant_tag(self, name: str) -> tuple[str, bool]:
        """E9 once: (guid, created). On 409 the guid is the existing tag's, named in the message.

        Raises AmbiguousWrite when the outcome is unknown (reset, timeout, 5xx after sending):
        the caller looks the tag up by name (E8) before creating anything again (B12).
        """
        try:
            response = self._call("POST", f"webshops/{self.shop}/tags/", "create tag", ok=(200, 201, 409),
                                  idempotent=False, json={"name": name, "type": "variant"})
        except Unreachable as exc:
            raise AmbiguousWrite(str(exc)) from None
        except HttpError as exc:
            if exc.status is not None and exc.status >= 500:
                raise AmbiguousWrite(str(exc)) from None
            raise
        body = _json(response)
        if response.status_code == 409:
            match = _TAG_IN_CONFLICT.search(str(body.get("message", "")))
            if not match:
                raise HttpError(f"Gateway create tag: 409 without a tag guid for {name!r}", status=409)
            return match.group(1), False
        return str(body["guid"]), True

    def shop_tags(self) -> list[dict]:
        """E8: the shop's own tags (variant tags included), each with its `product_guids`."""
        response = self._call("GET", f"webshops/{self.shop}/tags/", "shop tags")
        body = _json(response)
        return body if isinstance(body, list) else body.get("tags", [])

    def category_tags(self) -> list[dict]:
        response = self._call("GET", "tags/", "category tags", params={"type": "category"})
        body = _json(response)
        return body if isinstance(body, list) else body.get("tags", [])

    # -- images -----------------------------------------------------------------------

    def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        """E14 + E15: presigned POST to storage; the hosted URL is `url` + `fields.key`."""
        # an unused grant costs nothing, so E14 is retried like a read (B12)
        response = self._call("POST", "uploads/", "upload request", idempotent=True,
                              json={"filename": filename, "content_type": content_type})
        grant = _json(response)
        url, fields = grant["url"], grant["fields"]
        stored = self.storage.post(url, data=fields, files={"file": (filename, data, content_type)},
                                   idempotent=True)
        if stored.status_code not in (200, 201, 204):
            raise http_error(stored, "image storage upload")
        return url + fields["key"]

    def copy_public_image(self, url: str) -> str:
        """E16: the Gateway fetches a public URL itself and hosts a copy (retried: B12)."""
        response = self._call("POST", "downloads/", "image copy", idempotent=True, json={"url": encode_url(url)})
        return str(_json(response)["url"])

    def close(self) -> None:
        self.http.close()
        self.storage.close()


def encode_url(url: str) -> str:
    """RFC 3986 form of a URL as feeds carry it (`zdjęcie główne.jpg`): non-ASCII and spaces
    percent-encoded, what is already encoded (`%20`) and the URL's delimiters left alone, no
    user info."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc.rpartition("@")[2]  # a public image needs no credentials; never send any
    if parts.hostname and not parts.hostname.isascii():
        host = parts.hostname.encode("idna").decode("ascii")
        netloc = netloc.replace(parts.hostname, host)
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=_PATH_SAFE),
                       quote(parts.query, safe=_QUERY_SAFE), quote(parts.fragment, safe=_QUERY_SAFE)))


_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def _json(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise http_error(response, "Gateway answered with something that is not JSON") from None


def _item_errors(body: Any, count: int) -> dict[int, str]:
    """`products[3].product.vat: ...` -> {3: "product.vat: ..."}; unattributed -> every item."""
    found: dict[int, list[str]] = {}
    entries = body.get("errors") if isinstance(body, dict) else None
    for entry in entries or []:
        text = entry if isinstance(entry, str) else dumps(entry)
        match = re.search(r"products\[(\d+)\]\.?([^\s\"':,]*)", text)
        if match and int(match.group(1)) < count:
            found.setdefault(int(match.group(1)), []).append(_error_text(entry))
    if not found:
        message = body.get("message", "rejected") if isinstance(body, dict) else "rejected"
        return {i: str(message) for i in range(count)}
    return {i: "; ".join(reasons) for i, reasons in found.items()}


def _error_text(entry: Any) -> str:
    if isinstance(entry, dict):
        where = entry.get("field") or entry.get("path") or entry.get("loc") or ""
        message = entry.get("message") or entry.get("msg") or dumps(entry)
        return f"{where}: {message}" if where else str(message)
    return str(entry)
