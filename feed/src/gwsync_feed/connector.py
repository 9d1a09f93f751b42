"""`FeedConnector`: a vendor's catalog from one feed file (Google Merchant XML or CSV)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from io import BufferedReader
from typing import Any

import requests
from gwsync.connector import Connector, ReadContext
from gwsync.errors import ConfigError
from gwsync.http import CallStats, HttpClient
from gwsync.models import Item
from gwsync.redact import register_secret

from .config import SETTINGS, FeedConfig
from .context import MappingContext, utc_now
from .csv_feed import iter_rows
from .csv_mapping import bind, load_mapping, map_row
from .entries import Entry
from .google_mapping import map_item
from .google_xml import iter_records
from .pipeline import Notes, csv_products, google_products
from .source import FeedLocation, format_by_content, open_feed

log = logging.getLogger(__name__)

FORMAT_TITLES = {"google": "Google Merchant XML", "csv": "CSV"}


_warned: set[str] = set()


def _warn_path_identity(identity: str) -> None:
    """Once per process: a moved file would look like a new catalog (products created again)."""
    if identity not in _warned:
        _warned.add(identity)
        log.warning("FEED_SHOP_ID is not set, so this feed's identity is its path (%s); moving the file "
                    "would make it a new catalog. Set FEED_SHOP_ID to a stable name.", identity)


class FeedConnector(Connector):
    platform = "feed"
    title = "Product feed"
    summary = "Import a product feed (Google Merchant XML or CSV) into the Gateway."
    settings = SETTINGS

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(config, stats)
        self.feed = FeedConfig.from_mapping(self.config)
        self.location = FeedLocation(self.feed.source)
        for secret in (self.feed.password, *self.location.url_passwords()):
            register_secret(secret)
        self._client = self._make_client() if self.location.remote else None
        private = self.location.remote and self.feed.username is not None
        self.mapping = MappingContext(images=self.location.resolver(private), vat=self.feed.vat,
                                      default_stock=self.feed.default_stock, clock=clock)
        if not self.feed.shop_id and not self.location.remote:
            _warn_path_identity(self.location.default_shop())

    def _make_client(self) -> HttpClient:
        auth = (self.feed.username, self.feed.password or "") if self.feed.username else None
        return self.http(self.feed.source, auth=auth)

    @property
    def shop(self) -> str:
        return self.feed.shop_id or self.location.default_shop()

    def check(self) -> str:
        with self._entries() as (fmt, entries):
            first = next(entries, None)
        where = f"feed {self.location.display}: {FORMAT_TITLES[fmt]}"
        if first is None:
            return f"{where}, no items"
        return f"{where}, first item {first.name or first.item_id!r}"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        """A full read every run: a file has no change times; the engine's hashes skip what did not change."""
        notes = Notes()
        counts: Counter[str] = Counter()
        with self._entries() as (fmt, entries):
            products = google_products if fmt == "google" else csv_products
            for item in products(entries, notes):
                counts[type(item).__name__] += 1
                yield item
        ctx.notes.extend(notes.lines())
        log.info("feed %s: %d products, %d skipped", self.location.display, counts["Product"], counts["Skipped"])

    def fetch_image(self, url: str) -> requests.Response:
        """Images beside a protected HTTP feed, fetched with the feed's credentials."""
        if self._client is None or not self.mapping.images.same_origin(url):
            raise ConfigError(f"image {url}: credentials are only sent to the feed's own host")
        return self._client.get(url)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    @contextmanager
    def _entries(self) -> Iterator[tuple[str, Iterator[Entry]]]:
        with open_feed(self.location, self._client) as stream:
            fmt = self.feed.format or self.location.format_by_name() or format_by_content(stream)
            yield fmt, (self._google(stream) if fmt == "google" else self._csv(stream))

    def _google(self, stream: BufferedReader) -> Iterator[Entry]:
        for position, record in iter_records(stream, self.location.display):
            yield map_item(position, record, self.mapping)

    def _csv(self, stream: BufferedReader) -> Iterator[Entry]:
        where = self.location.display
        rows = iter_rows(stream, self.feed.csv_encoding, self.feed.csv_delimiter, where)
        _, header = next(rows)
        bound = bind(load_mapping(self.feed.csv_mapping), header, where)
        for line, cells in rows:
            yield map_row(line, cells, bound, self.mapping)
