"""Shoper connector: settings, shop identity, check, and a bulk read of the catalog.

One run reads, all through `POST /webapi/rest/bulk` (25 pages per HTTP call):
the lookups (languages, taxes, options, option values, categories,
categories-tree), the running special offers (`price = current`), every page of
`product-stocks` (variants and stock, re-read on every run because stock changes
and promotions do not move a product's `edit_date`), `product-images`, and
`products` (all of them, or on an incremental run only those with `edit_date` in
the kit's change window). Products not re-read are accounted for from their stock
rows as `StockUpdate`s, so nothing is archived by mistake and stock and promotion
prices still follow the shop.

Step 2: `read_stock` (the `stock` pass) reads only `product-stocks` and the offers;
`stock_writer` applies Gateway sales with `PUT product-stocks/{id}` (see `stock.py`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import ConfigError
from gwsync.http import CallStats, RateLimiter
from gwsync.kit import Facts, Page, first_image, shop_identity
from gwsync.models import Item, Present

from . import mapping
from .client import API_PATH, BULK_MAX, PAGE_SIZE, Listing, ShoperClient, watch_bucket
from .stock import ShoperStockWriter

log = logging.getLogger(__name__)

RATE_BURST = 8  # below the default bucket size of 10 (X-Shop-Api-Limit)
IMAGE_FILTER_CHUNK = 200  # product ids per `product_id in [...]` filter
IMAGE_FILTER_MAX = 500  # more changed products than this: read the whole image table instead


class ShoperConnector(Connector):
    platform = "shoper"
    title = "Shoper"
    # Listings page by number (1-based, 50 at most) with the row count in every page: the shift
    # guard steps back when it drops. `edit_date` is naive shop-local time (Europe/Warsaw: the
    # window moves back when the clocks go back in autumn); the margin covers saves in progress
    # and the one-second granularity. 2 calls/s is Shoper's default leak rate (X-Shop-Api-Bandwidth).
    facts = Facts(paging="page-number", page_size=PAGE_SIZE, row_key="product_id", shift_guard="count",
                  cursor_field="edit_date", time_zone="Europe/Warsaw", margin=timedelta(minutes=2),
                  rate_limit=2.0)
    settings = (
        Setting("url", "SHOPER_URL", "Shop address, e.g. https://sklep123456.shoparena.pl", kind="url"),
        Setting("client_id", "SHOPER_CLIENT_ID", "WebAPI user login (or application client id)",
                credential=True),
        Setting("client_secret", "SHOPER_CLIENT_SECRET", "WebAPI user password (or application secret)",
                secret=True, credential=True),
        Setting("language", "SHOPER_LANGUAGE", "Locale of names and option values, e.g. pl_PL",
                required=False, default=mapping.DEFAULT_LANGUAGE),
        Setting("price", "SHOPER_PRICE", "current (what a customer pays now, promotions included) or regular",
                required=False, default="current"),
    )

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        super().__init__(config, stats)
        self.base_url = str(self.config["url"]).strip().rstrip("/")
        for suffix in ("/webapi/rest", "/webapi"):
            if self.base_url.lower().endswith(suffix):  # tolerate a pasted API address
                self.base_url = self.base_url[: -len(suffix)]
        self.language = str(self.config.get("language") or mapping.DEFAULT_LANGUAGE).strip()
        self.price_mode = str(self.config.get("price") or "current").strip().lower()
        if self.price_mode not in mapping.PRICE_MODES:
            raise ConfigError(f"SHOPER_PRICE must be 'current' or 'regular' (got {self.price_mode!r})")
        self.limiter = RateLimiter(self.facts.rate_limit, RATE_BURST)
        http = self.http(f"{self.base_url}/{API_PATH}", limiter=self.limiter,
                         on_response=watch_bucket(self.limiter))
        self.client = ShoperClient(http, str(self.config["client_id"]), str(self.config["client_secret"]))

    @property
    def shop(self) -> str:
        return shop_identity(self.base_url, setting="SHOPER_URL")

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
        cursor = self.facts.cursor(ctx, what="Shoper")
        since = cursor.since_text()
        product_filter = {"filters": {"edit_date": {">=": since}}} if since else {}
        products = Listing("products", "products", {"order": "product_id ASC", **product_filter},
                           id_field="product_id")
        stocks = Listing("stocks", "product-stocks", {"order": "stock_id ASC"}, id_field="stock_id")
        images = Listing("images", "product-images", {"order": "gfx_id ASC"}, id_field="gfx_id")
        offers = Listing("offers", "specialoffers", id_field="promo_id")
        lookups = [Listing("taxes", "taxes", id_field="tax_id"),
                   Listing("options", "options", id_field="option_id"),
                   Listing("values", "option-values", id_field="ovalue_id"),
                   Listing("categories", "categories", id_field="category_id"),
                   Listing("languages", "languages", id_field="lang_id")]
        listings = [*lookups, products, stocks] + ([images] if since is None else []) + (
            [offers] if self.price_mode == "current" else [])

        first, extra = self.client.first_pages(listings, {"tree": ("categories-tree", {})}, optional=["offers"])
        rows = {lst.name: list(self.client.iter_rows(lst, first[lst.name])) for lst in lookups}
        self._check_language(rows["languages"])
        lookup = mapping.build_lookups(
            self.base_url, self.language, taxes=rows["taxes"], options=rows["options"],
            option_values=rows["values"], categories=rows["categories"], tree=extra["tree"],
            price_mode=self.price_mode, offers=self._offers(offers, first, ctx))

        stock_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.client.iter_rows(stocks, first["stocks"]):
            stock_rows[str(row.get("product_id"))].append(_compact_stock(row))
        image_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        whole_image_table = since is None or (first["products"].total or 0) > IMAGE_FILTER_MAX
        if whole_image_table:
            for row in self.client.iter_rows(images, first.get("images")):
                image_rows[str(row.get("product_id"))].append(_compact_image(row))

        yielded: set[str] = set()
        for page_rows in self._product_batches(products, first["products"]):
            if not whole_image_table:
                image_rows = self._images_for([str(p.get("product_id")) for p in page_rows])
            for record in page_rows:
                product_id = str(record.get("product_id"))
                yielded.add(product_id)
                cursor.saw(product_id, record.get("edit_date"))
                yield from mapping.map_product(record, stock_rows.get(product_id, ()),
                                               image_rows.get(product_id, ()), lookup)

        # Products not re-read (unchanged since the cursor, or shifted between pages by a
        # concurrent delete) still exist: their stock rows say so and carry stock and price.
        present: list[str] = []
        for product_id, rows_ in stock_rows.items():
            if product_id not in yielded:
                updates = mapping.stock_updates(product_id, rows_, lookup)
                yield from updates
                if not updates:
                    present.append(product_id)
        # every product is accounted for (read, stock rows, or present): a complete listing
        if present or not cursor.engine_full:
            yield Present(product_ids=tuple(present))

        if cursor.full:
            ctx.notes.append(f"read {len(yielded)} products and {sum(map(len, stock_rows.values()))} "
                             "stock rows")
        else:
            ctx.notes.append(f"{len(yielded)} products changed since {since}; "
                             f"{len(stock_rows) - len(yielded & stock_rows.keys())} checked for stock only")
        cursor.commit()

    # -- step 2 ---------------------------------------------------------------------------

    def read_stock(self, ctx: ReadContext) -> Iterator[Item]:
        """The `stock` pass: only the stock table and the running special offers.

        Shoper has no change filter for stock (a sale or a stock edit does not move the
        product's `edit_date`, and `product-stocks` has no modification date), so the cheapest
        complete read is the whole `product-stocks` table, 50 rows a page, 25 pages per bulk
        call. Every row carries its stock and its price; the offers give the promotion price
        (`SHOPER_PRICE=current`). The catalog read costs more: the lookups, the changed
        products and their images on top of the same table.
        """
        stocks = Listing("stocks", "product-stocks", {"order": "stock_id ASC"}, id_field="stock_id")
        offers = Listing("offers", "specialoffers", id_field="promo_id")
        listings = [stocks] + ([offers] if self.price_mode == "current" else [])
        first, _ = self.client.first_pages(listings, optional=["offers"])
        lookup = mapping.build_lookups(self.base_url, self.language, price_mode=self.price_mode,
                                       offers=self._offers(offers, first, ctx))
        stock_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.client.iter_rows(stocks, first["stocks"]):
            stock_rows[str(row.get("product_id"))].append(_compact_stock(row))
        present: list[str] = []  # products whose rows carry no usable price: still there
        for product_id, rows_ in stock_rows.items():
            updates = mapping.stock_updates(product_id, rows_, lookup)
            yield from updates
            if not updates:
                present.append(product_id)
        yield Present(product_ids=tuple(present))
        ctx.notes.append(f"stock pass: {sum(map(len, stock_rows.values()))} stock rows of {len(stock_rows)} "
                         "products read")

    def stock_writer(self) -> ShoperStockWriter:
        return ShoperStockWriter(self.client)

    def _offers(self, listing: Listing, first: Mapping[str, Page], ctx: ReadContext) -> dict[str, mapping.Offer]:
        """Special offers running now (shop time), read once per run: promotions start and end
        without touching the products, so every run re-evaluates them."""
        if self.price_mode != "current":
            return {}
        if listing.name not in first:
            ctx.notes.append("Shoper: special offers (specialoffers) could not be read (no right, or not in "
                             "this shop); regular prices are sent. Give the WebAPI user's group read access "
                             "to promotions.")
            return {}
        now = datetime.now(ZoneInfo(self.facts.time_zone)).replace(tzinfo=None)
        return mapping.active_offers(self.client.iter_rows(listing, first[listing.name]), now)

    def fetch_image(self, url: str) -> requests.Response:
        """An image row without `extension`: the first candidate file whose bytes are an image
        (or `BrokenImage` naming the files tried: the report lists it)."""
        return first_image(lambda candidate: self.client.http.get(candidate, stream=True),
                           mapping.image_candidates(url))

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


_STOCK_FIELDS = ("stock_id", "product_id", "extended", "price", "price_type", "comp_price", "comp_promo_price", "stock",
                 "code", "ean", "active", "options", "gfx_id")
_IMAGE_FIELDS = ("gfx_id", "product_id", "unic_name", "extension", "name", "main", "order", "hidden")


def _compact_stock(row: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields the mapping uses: the whole stock table is held for the run."""
    return {k: row.get(k) for k in _STOCK_FIELDS if k in row}


def _compact_image(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in _IMAGE_FIELDS if k in row}


__all__ = ["ShoperConnector"]
