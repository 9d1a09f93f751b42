"""`FeedConnector`: a vendor's catalog from one product feed (Google, Ceneo, IdoSell IOF, CSV, XLSX)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

import requests
from gwsync.config import Answers
from gwsync.connector import Connector, ReadContext
from gwsync.errors import ConfigError
from gwsync.http import CallStats, HttpClient
from gwsync.kit import DAILY
from gwsync.models import Item, Present, Product
from gwsync.redact import register_secret

from .ceneo import CeneoRules, iter_offers, map_offer
from .config import PASSWORD, SETTINGS, USERNAME, FeedConfig
from .context import MappingContext, utc_now
from .csv_feed import iter_rows
from .csv_mapping import bind, load_mapping, map_row
from .detect import TITLES
from .entries import Entry
from .google_mapping import map_item
from .google_xml import iter_records
from .iof import IofProduct, iter_products, map_product
from .location import FeedLocation
from .pipeline import Notes, csv_products, google_products, iof_products
from .source import (FileTransport, HttpTransport, NeedsCredentials, NotModified, OpenFeed, Transport,
                     Validators, open_feed)

log = logging.getLogger(__name__)


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
    no_stock_write = "a product feed is read-only; the `stock` pass still brings its stock to the Gateway"
    summary = "Import a product feed (Google Merchant, Ceneo, IdoSell IOF, CSV or XLSX) into the Gateway."
    settings = SETTINGS

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(config, stats)
        self.feed = FeedConfig.from_mapping(self.config)
        self.location = FeedLocation(self.feed.source)
        for secret in (self.feed.password, *self.location.url_passwords()):
            register_secret(secret)
        self._client: HttpClient | None = None
        self.transport = self._transport()
        private = self.location.web and self.feed.username is not None
        self.mapping = MappingContext(images=self.location.resolver(private), vat=self.feed.vat,
                                      default_stock=self.feed.default_stock, clock=clock)
        if not self.feed.shop_id and not self.location.remote:
            _warn_path_identity(self.location.default_shop())

    @property
    def shop(self) -> str:
        return self.feed.shop_id or self.location.default_shop()

    def check(self) -> str:
        with self._open(None) as feed:
            first = next(self._items(feed), None)
            where = f"feed {self.location.display}: {TITLES[feed.format]}"
        if first is None:
            return f"{where}, no items"
        entry = first.entries[0] if isinstance(first, IofProduct) else first
        return f"{where}, first item {entry.name or entry.item_id!r}"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        """A full read, unless the server says (HTTP 304) that the feed did not change since the last run."""
        notes, counts, inactive = Notes(), Counter[str](), []
        try:
            with self._open(self._validators(ctx)) as feed:
                ctx.new_cursor = feed.validators.dump() if feed.validators else None
                for item in self._products(feed, notes):
                    counts[type(item).__name__] += 1
                    if isinstance(item, Product):
                        inactive += inactive_ids(item)
                    yield item
            # The whole feed was read: every product in it was yielded above. An empty `Present`
            # tells the engine the listing is complete, so what is not in the feed is archived
            # (the engine takes a read with a stored cursor for an incremental one otherwise).
            yield Present(product_ids=())
        except NotModified:
            # Nothing is yielded: an incremental read that changed nothing, so nothing is archived,
            # and the engine still retries what failed last time (its retry list).
            ctx.new_cursor = ctx.cursor
            ctx.notes.append(f"feed {self.location.display} unchanged since the last run (HTTP 304): "
                             "nothing read, nothing written")
            return
        ctx.notes.extend(notes.lines())
        if inactive:
            ctx.notes.append(f"inactive in the feed: {len(inactive)} items, not imported (archived on the "
                             f"Gateway where they were live): {', '.join(inactive)}")
        log.info("feed %s: %d products, %d skipped, %d inactive items", self.location.display,
                 counts["Product"], counts["Skipped"], len(inactive))

    def _validators(self, ctx: ReadContext) -> Validators | None:
        """The last run's, unless the last whole download is a day old: then read it all again, so
        that anything changed on the Gateway's side since is put right at least daily."""
        validators = Validators.load(ctx.cursor)
        if validators is not None and validators.older_than(DAILY, time.time()):
            ctx.notes.append("the feed was last read whole over a day ago: read whole again (no conditional GET)")
            return None
        return validators

    def fetch_image(self, url: str) -> requests.Response:
        """Images beside a protected HTTP feed, fetched with the feed's credentials."""
        if self._client is None or not self.mapping.images.same_origin(url):
            raise ConfigError(f"image {url}: credentials are only sent to the feed's own host")
        return self._client.get(url, **self._tls())

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- the source ------------------------------------------------------------------

    def _transport(self) -> Transport:
        scheme, feed = self.location.scheme, self.feed
        if scheme == "file":
            return FileTransport(self.location)
        if self.location.web:
            if self._client is not None:
                self._client.close()
            auth = (feed.username, feed.password or "") if feed.username else None
            self._client = self.http(feed.source, auth=auth)
            return HttpTransport(self.location, self._client, self._tls())
        # paramiko (and openpyxl, below) are imported only by the feeds that need them: ~13 MB of RSS
        if scheme == "sftp":
            from .sftp import SftpCredentials, SftpTransport

            return SftpTransport(self.location, SftpCredentials(
                feed.username, feed.password, feed.sftp_key_file, feed.sftp_known_hosts, feed.sftp_host_key))
        from .ftp import FtpCredentials, FtpTransport

        return FtpTransport(self.location, FtpCredentials(feed.username, feed.password, feed.ca_file))

    def _tls(self) -> dict[str, Any]:
        return {"verify": self.feed.ca_file} if self.feed.ca_file else {}

    @contextmanager
    def _open(self, validators: Validators | None) -> Iterator[OpenFeed]:
        """Open the feed; when it wants credentials and stdin can answer, ask once and try again."""
        with ExitStack() as stack:
            try:
                feed = stack.enter_context(open_feed(self.transport, self.location, self.feed.format, validators))
            except NeedsCredentials:
                if not self._ask_credentials():
                    raise
                feed = stack.enter_context(open_feed(self.transport, self.location, self.feed.format, validators))
            yield feed

    def _ask_credentials(self) -> bool:
        """Interactive runs only (a terminal or `docker run -i`); under cron stdin cannot answer."""
        try:
            answers = Answers()
            username = answers.ask(USERNAME)
            password = answers.ask(PASSWORD) if username else None
        except (OSError, ValueError):  # a stdin that refuses reads (a test runner's)
            return False
        if not username:
            return False
        if password:
            register_secret(password)
        self.feed = replace(self.feed, username=username, password=password)
        self.transport = self._transport()
        return True

    # -- formats ---------------------------------------------------------------------------

    def _products(self, feed: OpenFeed, notes: Notes) -> Iterator[Item]:
        items = self._items(feed)
        if feed.format == "iof":
            return iof_products(items, notes)  # type: ignore[arg-type]
        if feed.format in ("csv", "xlsx"):
            return csv_products(items, notes)  # type: ignore[arg-type]
        return google_products(items, notes)  # type: ignore[arg-type]

    def _items(self, feed: OpenFeed) -> Iterator[Entry | IofProduct]:
        where, ctx = self.location.display, self.mapping
        if feed.format == "xlsx":
            from .xlsx_feed import iter_rows as iter_sheet_rows

            return self._table(iter_sheet_rows(feed.workbook, where))  # type: ignore[arg-type]
        stream = feed.stream
        assert stream is not None
        if feed.format == "csv":
            return self._table(iter_rows(stream, self.feed.csv_encoding, self.feed.csv_delimiter, where))
        if feed.format == "ceneo":
            rules = CeneoRules(self.feed.group_by, self.feed.options)
            return (map_offer(n, offer, ctx, rules) for n, offer in iter_offers(stream, where))
        if feed.format == "iof":
            return (map_product(n, product, ctx) for n, product in iter_products(stream, where))
        return (map_item(n, record, ctx) for n, record in iter_records(stream, where))

    def _table(self, rows: Iterator[tuple[int, list[str]]]) -> Iterator[Entry]:
        mapping = load_mapping(self.feed.csv_mapping)
        if self.feed.group_by:
            mapping = replace(mapping, columns={**mapping.columns, "parent_sku": self.feed.group_by})
        first = next(rows, None)
        if first is None:
            return
        bound = bind(mapping, first[1], self.location.display)
        for line, cells in rows:
            yield map_row(line, cells, bound, self.mapping)


def inactive_ids(product: Product) -> list[str]:
    """The sellable items of a product that the feed marks inactive (the engine archives them)."""
    if not product.variants:
        return [] if product.active else [product.product_id]
    return [v.variant_id for v in product.variants if not (product.active and v.active)]
