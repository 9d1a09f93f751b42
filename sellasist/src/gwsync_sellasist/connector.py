"""Sellasist connector (Sellingo shops): settings, shop identity, check, and a full read per run.

A run lists every product (`offset`/`limit`, 100 per page, the kit's `OffsetPaginator`,
duplicates dropped by id), then reads each product's details (`GET products/{id}`: the
API has no bulk read, so N detail calls are unavoidable) two at a time, and each distinct
variant group once. Sellasist has no modified-since filter: the engine's payload hashes
decide what changed.

The list carries no total, so a product deleted while the list is read could shift another
one out of view; after the details, the list is read once more and any product missed the
first time is read then. A product that answers 404 on its details (deleted since it was
listed) is reported as skipped, not archived, in this run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import ConfigError, HttpError
from gwsync.http import CallStats, RateLimiter
from gwsync.kit import Facts, OffsetPaginator, shop_identity
from gwsync.models import Item, Skipped

from . import mapping
from .client import API_PATH, SellasistClient

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # the documented 1..100 of other list endpoints (products: unverified)
DETAIL_WORKERS = 2  # "keep concurrency at 1-2" (sellingo-sellassist.md §7)
RATE_PER_SECOND = 20.0  # no published limit; two calls in flight at most (§7)


def price_mode(value: Any) -> mapping.PriceMode:
    mode = str(value or "current").strip().lower()
    if mode not in mapping.PRICE_MODES:
        raise ConfigError("SELLASIST_PRICE must be 'current' (the price customers pay now, promotion "
                          "included) or 'regular'")
    return mode  # type: ignore[return-value]


class SellasistConnector(Connector):
    platform = "sellasist"
    title = "Sellasist"
    # No total in the list: the shift guard is the key (repeats dropped) plus a second listing.
    facts = Facts(paging="offset", page_size=PAGE_SIZE, row_key="id", shift_guard="count",
                  cursor_field=None, full_every=None, rate_limit=RATE_PER_SECOND)
    # Why `stock_writer()` is None (sellingo-sellassist.md §6, searched again for issue 19): public
    # clients do call `PUT products/{id}` with partial bodies (`attributes`, `external_shops_mappings`),
    # but none writes `quantity`, none touches `variants`, and the API's docs are not on record. A
    # guessed body could zero a variant or replace the variant list: never sent to a real shop.
    no_stock_write = ("no source confirms a Sellasist API call that sets a product's or a variant's "
                      "quantity; 'gateway-sellasist stock' still brings the shop's stock to the Gateway")
    settings = (
        Setting("url", "SELLASIST_URL", "Sellasist panel address, e.g. https://account.sellasist.pl",
                kind="url"),
        Setting("api_key", "SELLASIST_API_KEY", "Sellasist API key (Integracje > Klucze API)", secret=True,
                credential=True),
        Setting("price", "SELLASIST_PRICE", "Price to send: current (promotion included) or regular",
                required=False, default="current"),
    )

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        super().__init__(config, stats)
        self.base_url = _panel(str(self.config["url"]))
        self.mode = price_mode(self.config.get("price"))
        key = str(self.config.get("api_key") or "").strip()
        http = self.http(f"{self.base_url}/{API_PATH}", limiter=RateLimiter(RATE_PER_SECOND, DETAIL_WORKERS * 2),
                         headers={"apiKey": key, "Accept": "application/json"}, pool=DETAIL_WORKERS)
        self.client = SellasistClient(http)

    @property
    def shop(self) -> str:
        return shop_identity(self.base_url, setting="SELLASIST_URL")

    def close(self) -> None:
        self.client.http.close()

    def check(self) -> str:
        listed = self.client.probe()
        seen = "products listed" if listed else "no products yet"
        return f"Sellasist {self.shop}: API key accepted, {seen}; prices sent: {self.mode}"

    # -- read -------------------------------------------------------------------------------

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        groups: dict[str, dict[str, Any] | None] = {}
        done: set[str] = set()
        first = self._listing()
        ids = self._ids(first)
        with ThreadPoolExecutor(DETAIL_WORKERS, thread_name_prefix="sellasist") as pool:
            yield from self._products(ids, pool, groups, done)
            # A second listing: products shifted out of view by a deletion during the first one,
            # and products added while the details were read.
            second = self._listing()
            missed = [pid for pid in self._ids(second) if pid not in done]
            yield from self._products(missed, pool, groups, done)
        duplicates = first.duplicates + second.duplicates
        ctx.notes.append(f"Sellasist: read {len(done)} products, {len(groups)} variant groups"
                         + (f"; {duplicates} repeated list rows ignored" if duplicates else "")
                         + (f"; {len(missed)} found only by the second listing" if missed else ""))

    def read_stock(self, ctx: ReadContext) -> Iterator[Item]:
        """The `stock` pass: the catalog read without its second listing.

        Sellasist has no change filter, and its only bulk stock read (`GET products_stock`) is
        unverified: its answer's shape is not on record, nor whether it carries variant
        quantities (a product's own `quantity` is not its variants' stock, §9). Guessing would
        push wrong stock to the Gateway, so the pass reads what `import` reads, minus the
        second listing: that one finds products missed or added meanwhile, which matters for
        archiving and creating (never done by this pass); the next pass picks them up."""
        groups: dict[str, dict[str, Any] | None] = {}
        done: set[str] = set()
        with ThreadPoolExecutor(DETAIL_WORKERS, thread_name_prefix="sellasist") as pool:
            yield from self._products(self._ids(self._listing()), pool, groups, done)
        ctx.notes.append(f"Sellasist stock pass: read {len(done)} products, {len(groups)} variant groups")

    def stock_writer(self) -> None:
        """None: `serve` refuses to start with one line (exit 2) that gives `no_stock_write`."""
        return None

    def _listing(self) -> OffsetPaginator[dict[str, Any]]:
        return OffsetPaginator(self.client.product_page, size=PAGE_SIZE, what="Sellasist products",
                               key=lambda row: mapping.ident(row.get("id")))

    @staticmethod
    def _ids(listing: OffsetPaginator[dict[str, Any]]) -> list[str]:
        return [pid for page in listing for row in page if (pid := mapping.ident(row.get("id")))]

    def _products(self, ids: list[str], pool: ThreadPoolExecutor, groups: dict[str, dict[str, Any] | None],
                  done: set[str]) -> Iterator[Item]:
        for start in range(0, len(ids), PAGE_SIZE):  # bounded: one page of details in memory
            chunk = ids[start:start + PAGE_SIZE]
            for pid, record in zip(chunk, pool.map(self._details, chunk), strict=True):
                done.add(pid)
                if isinstance(record, str):
                    yield Skipped(product_id=pid, reason=record)
                    continue
                yield from mapping.map_product(record, self._group(record, groups), self.mode)

    def _details(self, product_id: str) -> dict[str, Any] | str:
        """The product, or why it cannot be read: one product's odd answer does not stop the run
        (a refused key or an unreachable host does)."""
        try:
            record = self.client.product(product_id)
        except HttpError as exc:
            return f"its details could not be read: {exc}"
        return record if record is not None else "listed, but its details answer 404 (deleted since?)"

    def _group(self, record: Mapping[str, Any], groups: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
        group_id = mapping.ident(record.get("variants_group_id"))
        if not group_id or not record.get("variants"):
            return None
        if group_id not in groups:
            groups[group_id] = self.client.variant_group(group_id)
        return groups[group_id]


def _panel(url: str) -> str:
    """The account's origin: the API lives at its root, so a pasted `/admin/...` or `/api/v1`
    address works as well."""
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise ConfigError("SELLASIST_URL must be the panel address, e.g. https://account.sellasist.pl")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


__all__ = ["SellasistConnector"]
