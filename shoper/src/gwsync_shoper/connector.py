"""Shoper connector: settings, shop identity, check, and a bulk read of the catalog.

One run reads, all through `POST /webapi/rest/bulk` (25 pages per HTTP call):
the lookups (languages, taxes, options, option values, categories,
categories-tree), every page of `product-stocks` (variants and stock,
re-read on every run because stock changes do not move a product's `edit_date`),
`product-images`, and `products` (all of them, or on an incremental run only
those with `edit_date` at or after the cursor minus `LOOKBACK`; see `CursorTracker`).
Products not re-read are accounted for from their stock rows as `StockUpdate`s,
so nothing is archived by mistake and stock still follows the shop.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import ConfigError
from gwsync.http import CallStats, RateLimiter
from gwsync.models import Item

from . import mapping
from .client import API_PATH, BULK_MAX, ShoperClient, watch_bucket
from .pagination import PAGE_SIZE, Listing, Page

log = logging.getLogger(__name__)

RATE_PER_SECOND = 2.0  # Shoper's default leak rate (X-Shop-Api-Bandwidth)
RATE_BURST = 8  # below the default bucket size of 10 (X-Shop-Api-Limit)
# The incremental window starts this much before the cursor: `edit_date` is naive shop-local
# time, and when the clocks go back in autumn an hour of timestamps repeats.
LOOKBACK = timedelta(minutes=65)
IMAGE_FILTER_CHUNK = 200  # product ids per `product_id in [...]` filter
IMAGE_FILTER_MAX = 500  # more changed products than this: read the whole image table instead


class ShoperConnector(Connector):
    platform = "shoper"
    title = "Shoper"
    settings = (
        Setting("url", "SHOPER_URL", "Shop address, e.g. https://sklep123456.shoparena.pl", kind="url"),
        Setting("client_id", "SHOPER_CLIENT_ID", "WebAPI user login (or application client id)",
                credential=True),
        Setting("client_secret", "SHOPER_CLIENT_SECRET", "WebAPI user password (or application secret)",
                secret=True, credential=True),
        Setting("language", "SHOPER_LANGUAGE", "Locale of names and option values, e.g. pl_PL",
                required=False, default=mapping.DEFAULT_LANGUAGE),
    )

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        super().__init__(config, stats)
        self.base_url = str(self.config["url"]).strip().rstrip("/")
        for suffix in ("/webapi/rest", "/webapi"):
            if self.base_url.lower().endswith(suffix):  # tolerate a pasted API address
                self.base_url = self.base_url[: -len(suffix)]
        self.language = str(self.config.get("language") or mapping.DEFAULT_LANGUAGE).strip()
        self.limiter = RateLimiter(RATE_PER_SECOND, RATE_BURST)
        http = self.http(f"{self.base_url}/{API_PATH}", limiter=self.limiter,
                         on_response=watch_bucket(self.limiter))
        self.client = ShoperClient(http, str(self.config["client_id"]), str(self.config["client_secret"]))

    @property
    def shop(self) -> str:
        parts = urlsplit(self.base_url)
        return (parts.netloc.lower() + parts.path.rstrip("/")) or self.base_url

    def close(self) -> None:
        self.client.http.close()

    # -- check ----------------------------------------------------------------------------

    def check(self) -> str:
        self.client.authenticate()
        answers = self.client.get_many({
            "config": ("application-config", {}),
            "languages": ("languages", {"limit": PAGE_SIZE}),
            "products": ("products", {"limit": 1}),
        })
        config = answers["config"] or {}
        self._check_language(answers["languages"])
        products = (answers["products"] or {}).get("count", "0")
        name = config.get("shop_name") or self.shop
        return (f"Shoper shop {name}: {products} products visible to the WebAPI user, "
                f"names in {self.language}")

    def _check_language(self, languages: Any) -> None:
        rows = (languages or {}).get("list") if isinstance(languages, dict) else languages
        locales = sorted(str(r.get("locale") or r.get("code") or "") for r in rows or [] if isinstance(r, dict))
        locales = [loc for loc in locales if loc]
        if locales and self.language not in locales:
            raise ConfigError(f"SHOPER_LANGUAGE={self.language} is not a language of this shop "
                              f"(it has {', '.join(locales)})")

    # -- read -----------------------------------------------------------------------------

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        since = None
        if not ctx.full and ctx.cursor:
            since = mapping.edit_date_minus(ctx.cursor, LOOKBACK)
        product_filter = {"edit_date": {">=": since}} if since else None

        products = Listing("products", "products",
                           {"order": "product_id ASC", **({"filters": product_filter} if product_filter else {})},
                           id_field="product_id")
        stocks = Listing("stocks", "product-stocks", {"order": "stock_id ASC"}, id_field="stock_id")
        images = Listing("images", "product-images", {"order": "gfx_id ASC"}, id_field="gfx_id")
        lookups = [Listing("taxes", "taxes", id_field="tax_id"),
                   Listing("options", "options", id_field="option_id"),
                   Listing("values", "option-values", id_field="ovalue_id"),
                   Listing("categories", "categories", id_field="category_id"),
                   Listing("languages", "languages")]
        listings = [*lookups, products, stocks] + ([images] if since is None else [])

        first, extra = self.client.first_pages(listings, {"tree": ("categories-tree", {})})
        rows = {lst.name: list(self.client.iter_rows(lst, first[lst.name])) for lst in lookups}
        self._check_language(rows["languages"])
        lookup = mapping.build_lookups(
            self.base_url, self.language, taxes=rows["taxes"], options=rows["options"],
            option_values=rows["values"], categories=rows["categories"], tree=extra["tree"])

        stock_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.client.iter_rows(stocks, first["stocks"]):
            stock_rows[str(row.get("product_id"))].append(_compact_stock(row))
        image_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        whole_image_table = since is None or first["products"].count > IMAGE_FILTER_MAX
        if whole_image_table:
            for row in self.client.iter_rows(images, first.get("images")):
                image_rows[str(row.get("product_id"))].append(_compact_image(row))

        yielded: set[str] = set()
        cursor = CursorTracker(ctx.cursor if since else None)
        for page_rows in self._product_batches(products, first["products"]):
            if not whole_image_table:
                image_rows = self._images_for([str(p.get("product_id")) for p in page_rows])
            for record in page_rows:
                product_id = str(record.get("product_id"))
                yielded.add(product_id)
                cursor.saw(record.get("edit_date"))
                yield from mapping.map_product(record, stock_rows.get(product_id, ()),
                                               image_rows.get(product_id, ()), lookup)

        # Products not re-read (unchanged since the cursor, or shifted between pages by a
        # concurrent delete) still exist: their stock rows say so and carry stock and price.
        for product_id, rows_ in stock_rows.items():
            if product_id not in yielded:
                yield from mapping.stock_updates(product_id, rows_)

        if ctx.full or since is None:
            ctx.notes.append(f"read {len(yielded)} products and {sum(map(len, stock_rows.values()))} "
                             "stock rows")
        else:
            ctx.notes.append(f"{len(yielded)} products changed since {since}; "
                             f"{len(stock_rows) - len(yielded & stock_rows.keys())} checked for stock only")
        ctx.new_cursor = cursor.next_cursor()

    def _product_batches(self, listing: Listing, first: Page) -> Iterator[list[dict[str, Any]]]:
        """Product rows in groups of what one bulk call brings (25 pages), each product once."""
        batch: list[dict[str, Any]] = []
        for row in self.client.iter_rows(listing, first):
            batch.append(row)
            if len(batch) >= PAGE_SIZE * BULK_MAX:
                yield batch
                batch = []
        if batch:
            yield batch

    def _images_for(self, product_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Image rows of the given products (incremental runs): `product_id in [...]` filters."""
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if not product_ids:
            return out
        wanted = set(product_ids)
        listings = []
        for start in range(0, len(product_ids), IMAGE_FILTER_CHUNK):
            chunk = [int(p) if p.isdigit() else p for p in product_ids[start:start + IMAGE_FILTER_CHUNK]]
            listings.append(Listing(f"images{start}", "product-images",
                                    {"filters": {"product_id": {"in": chunk}}, "order": "gfx_id ASC"},
                                    id_field="gfx_id"))
        first, _ = self.client.first_pages(listings)
        for listing in listings:
            for row in self.client.iter_rows(listing, first[listing.name]):
                product_id = str(row.get("product_id"))
                if product_id in wanted:  # a filter Shoper ignored would bring foreign rows
                    out[product_id].append(_compact_image(row))
        return out


class CursorTracker:
    """The next run's `edit_date` cursor: the newest one read, minus how long this read took.

    Product pages are fetched while the Gateway writes go on, so a read can last many
    minutes. A product saved after its page was fetched is missed by this run, while a
    product saved later on a later page moves the newest `edit_date` past it. Subtracting
    the read's duration puts the cursor before the read started (in the shop's own clock,
    so the clock of this machine does not matter): the next run reads the missed one.
    """

    def __init__(self, previous: str | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.previous = previous
        self.newest: str | None = None
        self._clock = clock
        self._started = clock()

    def saw(self, edit_date: Any) -> None:
        self.newest = mapping.latest_edit_date(self.newest, edit_date)

    def next_cursor(self) -> str | None:
        if self.newest is None:
            return self.previous  # nothing changed: the window stays where it was
        took = timedelta(seconds=math.ceil(self._clock() - self._started))
        return mapping.edit_date_minus(self.newest, took)


_STOCK_FIELDS = ("stock_id", "product_id", "extended", "price", "price_type", "comp_price", "stock",
                 "code", "ean", "active", "options", "gfx_id")
_IMAGE_FIELDS = ("gfx_id", "product_id", "unic_name", "extension", "main", "order", "hidden")


def _compact_stock(row: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields the mapping uses: the whole stock table is held for the run."""
    return {k: row.get(k) for k in _STOCK_FIELDS if k in row}


def _compact_image(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in _IMAGE_FIELDS if k in row}


__all__ = ["ShoperConnector"]
