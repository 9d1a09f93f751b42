"""Selly connector: settings, shop identity, check, and one whole-table read per run.

A run makes 2 handshake calls and one call per table (8 tables, `mapping.TABLES`) whatever
the catalog's size, plus one HEAD on the shop's site for the pictures' file extension. Selly has no modified-since filter: every run reads everything and the
engine's payload hashes decide what changed. Tables are parsed one at a time and only their
used columns are kept; a table that stays unreadable stops the run before anything is
written, so nothing is archived on a partial read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import ConfigError, SyncError, Unreachable
from gwsync.http import CallStats, RateLimiter
from gwsync.kit import Facts, WholeTable, shop_identity
from gwsync.models import Item

from . import mapping
from .client import DEFAULT_API_URL, SellyClient

log = logging.getLogger(__name__)

EXTENSIONS = ("jpg", "png", "jpeg", "webp", "gif")  # jpg as in 2020; the others only if it is absent
RATE_PER_SECOND = 4.0  # no published limit; calls go one at a time and a whole read is ~10 (selly.md §7)


class SellyConnector(Connector):
    platform = "selly"
    title = "Selly"
    no_stock_write = ("Selly's table API only reads and no source shows a call that sets stock; "
                      "'gateway-selly stock' still brings the shop's stock to the Gateway")
    facts = Facts(paging="whole-table", page_size=1, row_key="product_id", shift_guard="none",
                  cursor_field=None, full_every=None, rate_limit=RATE_PER_SECOND)
    settings = (
        Setting("api_id", "SELLY_API_ID", "Selly API id (a number, from the shop's panel)", credential=True),
        Setting("app_key", "SELLY_APP_KEY", "Selly application key (from the shop's panel)", secret=True,
                credential=True),
        Setting("shop_url", "SELLY_SHOP_URL", "The shop's public address, where product pictures are, "
                "e.g. https://www.example.pl", kind="url"),
        Setting("api_url", "SELLY_API_URL", "Selly table API address", required=False,
                default=DEFAULT_API_URL, kind="url"),
    )

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        super().__init__(config, stats)
        self.api_id = str(self.config.get("api_id") or "").strip()
        if not self.api_id.isdigit():
            raise ConfigError("SELLY_API_ID must be the numeric API id from the shop's panel")
        self.api_url = str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")
        self.shop_url = str(self.config["shop_url"]).rstrip("/")
        http = self.http(self.api_url, limiter=RateLimiter(RATE_PER_SECOND, 4))
        self.client = SellyClient(http, self.api_id, str(self.config.get("app_key") or ""))
        self._site = self.http(self.shop_url, retries=1)

    @property
    def shop(self) -> str:
        """The API id on its API host: the table API knows the shop by its credentials, and the
        shop's public domain may change without the catalog changing."""
        return shop_identity(self.api_url, setting="SELLY_API_URL", qualifier=self.api_id)

    def close(self) -> None:
        self.client.http.close()
        self._site.close()

    def check(self) -> str:
        token = self.client.authenticate()
        categories = self.client.table("kategorie")
        site = self._site.request("HEAD", "", retry=False, allow_redirects=True)
        if site.status_code in (404, 410) or site.status_code >= 500:
            raise Unreachable(f"Selly: SELLY_SHOP_URL {self.shop_url} answers HTTP {site.status_code}; "
                              "product pictures are read from there, set the shop's public address")
        return (f"Selly API id {self.api_id}: key accepted, token valid until "
                f"{token.expires:%Y-%m-%d %H:%M} UTC, {len(categories)} categories readable; "
                f"pictures from {self.shop_url}")

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        catalog = mapping.Catalog(shop_url=self.shop_url)
        for table in mapping.TABLES[:-1]:
            catalog.add(table, self._whole(table))
        catalog.extension = self.picture_extension(catalog, ctx)
        products = mapping.compact("produkty", self._whole("produkty"))
        unknown_stock = 0
        for record in products:
            unknown_stock += mapping.stock_unknown(record, catalog)
            yield from mapping.map_product(record, catalog)
        ctx.notes.append(f"Selly: read {len(products)} products and {sum(map(len, catalog.variants.values()))} "
                         f"variants in {len(mapping.TABLES)} table calls")
        if unknown_stock:
            ctx.notes.append(f"Selly: {unknown_stock} products without variants have no stock count "
                             "(liczba_egzemplarzy empty); they were sent with stock 0")
        repaired = {t: n for t, n in self.client.damaged.items() if n}
        if repaired:
            ctx.notes.append("Selly: damaged answers were repaired or read again: "
                             + ", ".join(f"{t} ({n})" for t, n in sorted(repaired.items())))


    def picture_extension(self, catalog: mapping.Catalog, ctx: ReadContext) -> str:
        """The picture files' extension, from one HEAD per run: `.jpg` unless the shop answers 404
        for it and 200 for another one. A failing check keeps `.jpg`: a passing fault must not
        rewrite every product's picture addresses."""
        picture = mapping.first_picture(catalog)
        if picture is None:
            return EXTENSIONS[0]
        for extension in EXTENSIONS:
            url = mapping.image_url(self.shop_url, *picture, extension)
            try:
                status = self._site.request("HEAD", url or "", retry=False, allow_redirects=True).status_code
            except SyncError:
                break
            if status == 200:
                if extension != EXTENSIONS[0]:
                    ctx.notes.append(f"Selly: pictures are .{extension} files (no .jpg at {url})")
                return extension
            if status != 404:
                break
        ctx.notes.append(f"Selly: the shop did not serve the picture {mapping.image_url(self.shop_url, *picture)}; "
                         "check SELLY_SHOP_URL (pictures are addressed as .jpg)")
        return EXTENSIONS[0]

    def _whole(self, table: str) -> list[dict[str, Any]]:
        """One table in one answer; rows repeated by id are kept once."""
        key = mapping.ROW_KEYS.get(table)
        paginator = WholeTable(lambda: self.client.table(table), what=f"Selly table {table}",
                               key=(lambda row: mapping.ident(row.get(key))) if key else None)
        return [row for page in paginator for row in page]


__all__ = ["SellyConnector"]
