"""The engine: source stream -> plan (typed actions, `gwsync.plan`) -> execute.

Exactly once (gateway-api.md B3, B12, B16): identity travels in every product
(`data.source`); a create is recorded as an intent before it is sent; before each E1
batch its items are looked up on the Gateway in one E4 query (a stale or restored
state must never duplicate); after an ambiguous failure the search lag is waited out
before the lookup, and only what is still missing is created again. A fresh state is
rebuilt from the Gateway with one scan, image mappings included (`data.images_source`).
Writes happen only when the payload's hash changed. A dry run plans the same actions
against a state whose changes are rolled back, and sends nothing. Creates are carried
out by `gwsync.execute`, variant tags by `gwsync.variant_tags`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from .categories import CategoryMap, CategoryResolver, CategoryTree, join_path
from .connector import Connector, ReadContext
from .errors import AuthError, ConfigError, HttpError, MassArchiveRefused, SyncError
from .execute import CreateBatcher, CreateExecutor, PendingCreate
from .execute import reason_of as _reason
from .gateway.client import GatewayClient
from .gateway.payload import (
    Sellable,
    build_item,
    item_from_view,
    payload_hash,
    sellables,
    source_of,
    with_image_sources,
    with_stock,
)
from .images import BrokenImage, ImagePrefetcher, ImageService, images_of, uploaded_digest
from .models import Item, Present, Product, Seen, Skipped, SourceId, StockUpdate
from .pages import PageState, SaveBuffer, read_page
from .plan import Action, Change, Kind, diff, mass_archive_refusal
from .redact import redact
from .report import Report
from .state import ItemRow, ItemState, RetryEntry, StateStore, clean_shop_identity, image_key
from .variant_tags import VariantTags

log = logging.getLogger(__name__)

CURSOR_KEY = "cursor"
STOCK_CURSOR_KEY = "stock_cursor"  # the stock pass reads its own window: import's stays whole
REBUILT_KEY = "rebuilt_from_gateway"
ADOPT_BATCH = 500  # adopted items saved per transaction during a rebuild


class SourceMoved(ConfigError):
    """The Gateway shop holds live products of this platform under another source shop id."""


@dataclass
class Options:
    dry_run: bool = False
    full: bool = False
    workers: int = 4
    archive_missing: bool = True  # False: --no-archive, nothing is archived this run
    category_map: CategoryMap | None = None
    batch_size: int = 100
    allow_mass_archive: bool = False  # the mass-archive guard's override (--allow-mass-archive)
    allow_second_source: bool = False  # a second source shop of the same platform on purpose
    search_lag: float | None = None  # GATEWAY_SEARCH_LAG; None: SEARCH_LAG
    sleep: Callable[[float], None] = time.sleep  # tests pass a clock that does not wait
    # The stock pass (`stock`): only stock and price of items already on the Gateway are written;
    # nothing is created, archived or retried, and items with a Gateway sale still on its way
    # to the shop (`defer(guid)`) are left alone so the sale never reappears as stock.
    stock_only: bool = False
    defer: Callable[[str], bool] = lambda guid: False


class Engine(CreateExecutor):
    def __init__(self, connector: Connector, gateway: GatewayClient, state: StateStore,
                 report: Report, options: Options,
                 progress: Callable[[Report], None] | None = None) -> None:
        self.connector, self.gateway, self.state = connector, gateway, state
        self.report, self.options = report, options
        self.platform, self.shop = connector.platform, clean_shop_identity(connector.shop)
        self.progress = progress or (lambda report: None)
        self.images = ImageService(state, gateway.upload_image, gateway.copy_public_image,
                                   connector.fetch_image, gateway.http.stats, dry_run=options.dry_run,
                                   on_host=self._plan_image)
        self.batcher = CreateBatcher(self._send_creates, size=options.batch_size)
        # item saves after updates, a batch at a time, after the images and tags they name
        self.saves = SaveBuffer(state, options.batch_size, before=self.record_new)
        self.prefetch = ImagePrefetcher(self.images, self.platform, self.shop)  # read-ahead images
        self._stop = threading.Event()
        # archiving waits for a complete read; skipped items are never archived
        self._retired: dict[str, tuple[str, str]] = {}
        self._skipped: set[str] = set()
        self._marks = threading.Lock()
        self._fatal: AuthError | None = None
        self._categories: CategoryResolver | None = None
        self._categories_lock = threading.Lock()
        self.tags = VariantTags(gateway, state, self.platform)
        self._read_products: set[str] = set()  # products read (or retried) this run
        self._handled: set[str] = set()  # product ids of every item handled this run
        self._failed_products: set[str] = set()
        self._retry_list: list[RetryEntry] = []  # the retry list as the run began
        self._listing = False  # the read accounted for unchanged products (full, Present, Seen/StockUpdate)
        self._complete_listing = False  # ... with every product that exists (full or Present)

    def stop(self) -> None:
        """Finish the items in flight, save state, do not archive: the read was not complete."""
        self._stop.set()

    # -- the run ------------------------------------------------------------------

    def run(self) -> Report:
        self.gateway.count_products()  # fails fast on a bad token or unreachable Gateway
        if self.options.category_map is not None:
            self._resolver()
        self._recover()
        cursor_key = STOCK_CURSOR_KEY if self.options.stock_only else CURSOR_KEY
        cursor = None if self.options.full else self.state.get_meta(cursor_key)
        # known: what landed before, and what failed before and waits in the retry list (a connector
        # that builds its `Present` from known ids must not declare those gone)
        # read once: what this run adds to the list failed in this run, so it stays there anyway
        self._retry_list = self.state.retries()
        retrying = {entry.product_id.split("\x1f", 1)[0] for entry in self._retry_list}
        ctx = ReadContext(cursor=cursor, full=cursor is None,
                          known_product_ids=self.state.product_ids() | retrying)
        self._listing = self._complete_listing = ctx.full
        try:
            seen = self._consume(ctx)
        finally:  # what was read before a stop is still written (and recorded in state)
            self.batcher.flush()
            self.prefetch.close()
            self.saves.flush()
        if self._fatal is not None:
            raise self._fatal
        if self._stop.is_set() and self.report.read_error is None:
            self.report.read_error = "stopped before the read finished (signal)"
        self.report.complete = self.report.read_error is None and not self._stop.is_set()
        refused = None
        if self.report.complete and self.options.archive_missing and not self.options.stock_only:
            refused = self._archive_all(seen)
        if self.report.complete and refused is None and ctx.new_cursor is not None:
            # failed items are in the retry list, so one bad item never freezes incremental sync
            self.state.set_meta(cursor_key, ctx.new_cursor)
        if not self.options.stock_only:
            self._settle_retries(seen)
        self.report.notes.extend(ctx.notes)
        self.report.images = vars(self.images.counts).copy()
        if refused is not None:
            raise MassArchiveRefused(refused)
        return self.report

    def _consume(self, ctx: ReadContext) -> set[str]:
        seen: set[str] = set()
        window = threading.BoundedSemaphore(self.options.workers * 4)  # bounded memory
        page: list[Product | Skipped | Seen | StockUpdate] = []
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="gwsync") as pool:
            try:
                for item in self._items(ctx, seen):
                    if self._stop.is_set():
                        break
                    if isinstance(item, Present):
                        self._listing = self._complete_listing = True
                        seen.update(item.product_ids)
                        continue
                    if isinstance(item, (Seen, StockUpdate)):
                        # the older contract: each product not re-read accounted for as Seen or StockUpdate
                        self._listing = True
                    if isinstance(item, Product):
                        if item.product_id in self._read_products:  # never create one product twice
                            self.report.notes.append(f"{self.connector.title} listed product "
                                                     f"{item.product_id} twice; the first one was used")
                            continue
                        self._read_products.add(item.product_id)
                    seen.add(item.product_id)
                    page.append(item)
                    if len(page) >= self.options.batch_size:
                        self._submit_page(pool, window, page)
                        page = []
            except SyncError as exc:
                if not isinstance(exc, (AuthError, ConfigError)):
                    self.report.read_error = f"reading {self.connector.title} stopped: {exc}"
                self._submit_page(pool, window, page)  # what was read before the error is still written
                if isinstance(exc, (AuthError, ConfigError)):
                    raise
            else:
                self._submit_page(pool, window, page)
        return seen

    def _submit_page(self, pool: ThreadPoolExecutor, window: threading.BoundedSemaphore,
                     page: list[Product | Skipped | Seen | StockUpdate]) -> None:
        """A page's state in a few bulk reads, then its items to the workers (at most `window` in flight)."""
        if not page or self._stop.is_set():
            return
        group_key = None if self.options.stock_only else (lambda product_id: self._source(product_id).key)
        known = read_page(self.state, page, group_key)
        if not self.options.stock_only:
            self.images.preload(image for item in page if isinstance(item, Product)
                                for image in images_of(item, self.platform, self.shop))
        for item in page:
            if self._stop.is_set():
                return
            window.acquire()
            if not self.options.stock_only:
                self.prefetch.submit(item)
            future = pool.submit(self._handle, item, known)
            future.add_done_callback(lambda f: window.release())

    def _items(self, ctx: ReadContext, seen: set[str]) -> Iterator[Item]:
        """The read, then the retry list's items the read did not bring again."""
        if self.options.stock_only:
            yield from self.connector.read_stock(ctx)
            return
        yield from self.connector.read(ctx)
        if ctx.full:  # the connector decided on a full read (a daily one, an unreadable cursor)
            self._listing = self._complete_listing = True
        for entry in self._retry_list:
            item = _retry_item(entry.kind, entry.body)
            if item is None or item.product_id in self._read_products:
                continue
            if self._complete_listing and item.product_id not in seen:
                continue  # left the source: dropped from the list at the end of the run
            yield item

    def _handle(self, item: Product | Skipped | Seen | StockUpdate, known: PageState) -> None:
        with self._marks:
            self._handled.add(item.product_id)
        try:
            if isinstance(item, Product) and self.options.stock_only:
                self._stock_of_product(item, known)
            elif isinstance(item, Product):
                self._product(item, known)
            elif isinstance(item, Skipped):
                self._skip(self._source(item.product_id, item.variant_id).key, "", item.reason)
            elif isinstance(item, StockUpdate):
                self._stock(item, known)
        except AuthError as exc:  # the Gateway refused us: nothing else can land either
            self._fatal = exc
            self._stop.set()
        except Exception as exc:  # one bad item never stops the run
            source = self._source(item.product_id, getattr(item, "variant_id", None))
            self.report.fail(source.key, getattr(item, "name", ""), _reason(exc))
            if isinstance(item, (Product, StockUpdate)):
                self._retry_later(item, _reason(exc))
        finally:
            self.progress(self.report)

    def _skip(self, identity: str, name: str, reason: str) -> None:
        with self._marks:
            self._skipped.add(identity)
        self.report.skip(identity, name, reason)
        self.report.planned(Action(Kind.SKIP, identity, name, reason=reason))

    def _source(self, product_id: str, variant_id: str | None = None) -> SourceId:
        return SourceId(platform=self.platform, shop=self.shop, product_id=product_id, variant_id=variant_id)

    # -- retry list ------------------------------------------------------------------------

    def _retry_later(self, item: Product | StockUpdate, reason: str) -> None:
        with self._marks:
            self._failed_products.add(item.product_id)
        kind = "product" if isinstance(item, Product) else "stock"
        key = item.product_id if kind == "product" else f"{item.product_id}\x1f{item.variant_id or ''}"
        try:
            self.state.add_retry(key, kind, item.model_dump_json(), reason)
        except Exception as exc:  # the failure itself is reported already
            log.warning("could not keep %s for a retry: %s", item.product_id, exc)

    def _settle_retries(self, seen: set[str]) -> None:
        """Drop from the retry list what landed this run, and what left the source."""
        done = []
        for entry in self._retry_list:
            item = _retry_item(entry.kind, entry.body)
            product_id = item.product_id if item is not None else entry.product_id
            gone = self.report.complete and self._complete_listing and product_id not in seen
            landed = product_id in self._handled and product_id not in self._failed_products
            if item is None or gone or landed:
                done.append(entry.product_id)
        if done:
            self.state.clear_retries(done)

    # -- one product (a group of sellables): plan, then execute ------------------------------

    def _product(self, product: Product, known: PageState) -> None:
        items = sellables(product, self.platform, self.shop)
        current = {s.source.key for s in items if s.active}
        stored = {i.identity: i for i in known.of_product(product.product_id)}  # read with its page
        for old in stored.values():
            if old.identity not in current and not old.archived and old.guid:
                with self._marks:
                    self._retired[old.identity] = (old.guid, product.name)
        live = [s for s in items if s.active]
        self.report.count("inactive", len(items) - len(live))
        priced = []
        for sellable in live:
            if sellable.price is None or sellable.price <= 0:
                self._skip(sellable.source.key, sellable.name, "price is zero or missing")
            else:
                priced.append(sellable)
        if not priced:
            return
        tags = self._category_guids(product)
        if any(s.options for s in priced):  # not for a group of one live variant (a plain product)
            tags = tags + [self._variant_tag(product, known)]
        # every image first: an item lands whole or not at all (ImageHostFailed fails the product)
        built = [(s, self._build(s, tags)) for s in priced]
        creates = []
        for sellable, item in built:
            pending = self._plan_item(sellable, item, product, stored.get(sellable.source.key))
            if pending is not None:
                creates.append(pending)
        if creates:
            self.batcher.add(creates)

    def _build(self, sellable: Sellable, tags: list[str]) -> dict[str, Any]:
        urls, sources = self._image_urls(sellable)
        return with_image_sources(build_item(sellable, urls, tags), sources)

    def _plan_item(self, sellable: Sellable, item: dict, origin: Product | None,
                   known: ItemState | None) -> PendingCreate | None:
        digest = payload_hash(item)
        if known is None or known.guid is None:
            return PendingCreate(sellable, item, digest, origin)
        if known.hash == digest and not known.archived:
            self.report.count("unchanged")
            return None
        self._update(sellable, known, item, digest, origin)
        return None

    def _update(self, sellable: Sellable, known: ItemState, item: dict, digest: str,
                origin: Product | None, kind: Kind = Kind.UPDATE) -> None:
        assert known.guid is not None
        changes = diff(known.payload, item, unarchive=known.archived)
        if changes and all(c.field == "stock" for c in changes):
            kind = Kind.STOCK
        self.report.planned(Action(kind, sellable.source.key, sellable.name, changes))
        body = {**item, "archived": False} if known.archived else item
        if not self.options.dry_run:
            self.tags.flush()  # a tag made for this item is recorded before the item names it
            try:
                self.gateway.update_product(known.guid, body)
            except HttpError as exc:
                if exc.status != 404:
                    raise
                # deleted on the Gateway by someone else: create it again
                self.batcher.add([PendingCreate(sellable, item, digest, origin)])
                return
        self._save(sellable.source, known.guid, item, digest)
        self.report.count("updated")

    def _stock_of_product(self, product: Product, page: PageState) -> None:
        """The stock pass: a whole product read counts only for its items' stock and price."""
        for sellable in sellables(product, self.platform, self.shop):
            if sellable.active and sellable.price is not None and sellable.price > 0:
                self._stock(StockUpdate(product_id=product.product_id, variant_id=sellable.source.variant_id,
                                        stock=sellable.stock, price=sellable.price), page)

    def _stock(self, update: StockUpdate, page: PageState) -> None:
        source = self._source(update.product_id, update.variant_id)
        known = page.item(update.product_id, source.key)
        if known is None or known.guid is None or known.payload is None or known.archived:
            if self.options.stock_only:
                self.report.count("unimported")
            return  # never imported (or archived): nothing to adjust; the next import creates it
        if self.options.defer(known.guid):
            self.report.count("deferred")
            return
        item = with_stock(known.payload, update.stock, update.price)
        digest = payload_hash(item)
        if digest == known.hash:
            self.report.count("unchanged")
            return
        self.report.planned(Action(Kind.STOCK, source.key, "", diff(known.payload, item)))
        if not self.options.dry_run:
            self.gateway.update_product(known.guid, item)
        self._save(source, known.guid, item, digest)
        self.report.count("updated")

    def _save(self, source: SourceId, guid: str, item: dict | None, digest: str | None) -> None:
        """An update's save: buffered, a batch at a time (a dry run's state is dropped at the end,
        so the plan may keep its bookkeeping)."""
        self.saves.add((source.key, source.product_id, source.variant_id, guid, item, digest, False))

    # -- images, categories, variant tags --------------------------------------------------

    def _image_urls(self, sellable: Sellable) -> tuple[list[str], dict[str, str]]:
        urls: list[str] = []
        sources: dict[str, str] = {}
        for image in sellable.images:
            try:
                url = self.images.hosted(image)
            except BrokenImage as exc:  # broken at the source: reported, the product goes on
                self.images.count("broken")
                self.report.broken_image(sellable.source.key, sellable.name,
                                         f"{redact(image.url)}: {exc}")
                continue
            if url not in urls:
                urls.append(url)
                sources[url] = image_key(image.cache_key)
        return urls, sources

    def _plan_image(self, how: str, url: str) -> None:
        self.report.planned(Action(Kind.IMAGE, redact(_without_userinfo(url)), reason=how))

    def _resolver(self) -> CategoryResolver:
        with self._categories_lock:
            if self._categories is None:
                tree = CategoryTree(self.gateway.category_tags())
                if self.options.category_map is not None:
                    self.options.category_map.validate(tree)
                self._categories = CategoryResolver(tree, self.options.category_map)
            return self._categories

    def _category_guids(self, product: Product) -> list[str]:
        if not product.category_path:
            return []
        guids = self._resolver().tag_guids(product.category_path)
        if guids is None:
            self.report.uncategorised_path(join_path(product.category_path))
            return []
        return guids

    def _variant_tag(self, product: Product, known: PageState) -> str:
        group = self._source(product.product_id).key
        if group in known.tags:
            return known.tags[group]
        if self.options.dry_run:
            return f"dry-run-tag:{group}"
        return self.tags.guid_for(group, product.name, product.product_id, stored=False)  # none with its page

    # -- recovery --------------------------------------------------------------------------

    def _recover(self) -> None:
        """Fresh state: rebuild it from the Gateway in one scan. Leftover intents: adopt them."""
        moved = getattr(self.state, "recovered_from", None)
        if moved is not None:
            self.report.notes.append(f"the state file was unreadable; moved aside to {moved}, "
                                     "rebuilt from the Gateway")
        if self.state.get_meta(REBUILT_KEY) is None:
            found = self._adopt(self.gateway.products_of_source(self.platform, self.shop))
            if found:
                self.report.notes.append(f"state rebuilt from the Gateway: {len(found)} products adopted")
            else:
                self._check_source_identity()
            self.state.clear_intents(i for i, _ in self.state.intents())
            self.state.set_meta(REBUILT_KEY, "1")
            return
        intents = self.state.intents()
        if intents:
            self.wait_for_interrupted_creates()
            product_ids = sorted({product_id for _, product_id in intents})
            found = self._adopt(self.gateway.products_of_source(self.platform, self.shop, product_ids),
                                wanted={i for i, _ in intents})
            self.report.notes.append(f"{len(found)} of {len(intents)} interrupted creates found "
                                     "on the Gateway and adopted")
            self.state.clear_intents(i for i, _ in intents)

    def _check_source_identity(self) -> None:
        """Nothing of ours on the Gateway yet, but live products of this platform under another
        source shop id: the shop's URL most likely changed. Stop before a second catalog appears."""
        if self.options.allow_second_source:
            return
        others = self.gateway.other_source_shops(self.platform, self.shop)
        if not others:
            return
        old, count = max(others.items(), key=lambda kv: kv[1])
        raise SourceMoved(
            f"the Gateway shop already holds {count} live {self.connector.title} products from source "
            f"shop {old!r}, none from {self.shop!r}; if the shop's address changed, move them to the new "
            f"identity with `gateway-{self.platform} migrate-source --from {old}` and import again; if both "
            "shops are meant to feed this Gateway shop, import with --allow-second-source")

    def _adopt(self, views: Iterable[dict], wanted: set[str] | None = None) -> dict[str, str]:
        """Record Gateway products carrying our identity; the first one found wins over duplicates."""
        found: dict[str, str] = {}
        rows: list[ItemRow] = []
        for view in views:
            source = source_of(view)
            if source is None or source.platform != self.platform or source.shop != self.shop:
                continue
            if wanted is not None and source.key not in wanted:
                continue
            if source.key in found:
                self.report.notes.append(f"duplicate on the Gateway for {source.key}: {view.get('guid')}")
                continue
            found[source.key] = str(view["guid"])
            item = item_from_view(view)
            archived = view.get("archived") not in (None, False)
            rows.append((source.key, source.product_id, source.variant_id, str(view["guid"]), item,
                         payload_hash(item), archived))
            if len(rows) >= ADOPT_BATCH:  # a rebuild scans the whole catalog: memory stays bounded
                self.state.save_items(rows)
                rows = []
            self._adopt_variant_tag(source, view)
            self._adopt_images(view)
        self.state.save_items(rows)  # adopted items are in the state before anyone reads them back
        return found

    def _adopt_images(self, view: dict) -> None:
        data = view.get("data") if isinstance(view.get("data"), dict) else {}
        sources = data.get("images_source") if isinstance(data, dict) else None
        if isinstance(sources, dict):  # hosted URL -> source image key digest
            for url, key in sources.items():
                if isinstance(url, str) and isinstance(key, str):
                    self.state.save_image_digest(key, url)
        for url in view.get("images") or []:
            digest = uploaded_digest(str(url))
            if digest:  # so a re-fetched image finds its upload instead of making another
                self.state.save_blob(digest, str(url))

    def _adopt_variant_tag(self, source: SourceId, view: dict) -> None:
        tag = _variant_tag_of(view)
        group = self._source(source.product_id).key
        if tag and source.variant_id and self.state.variant_tag(group) is None:
            self.state.save_variant_tag(group, tag, "")

    # -- archiving -------------------------------------------------------------------------

    def _archive_all(self, seen: set[str]) -> str | None:
        """After a complete read: what left the source (only when the read listed what exists),
        what went inactive, what lost a variant. Returns the guard's refusal, or None."""
        gone: dict[str, tuple[str | None, str]] = {}
        if self._listing:
            gone = {i.identity: (i.guid, "") for i in self.state.live_items() if i.product_id not in seen}
        gone.update(self._retired)
        todo = {identity: entry for identity, entry in gone.items()
                if identity not in self._skipped and not _product_skipped(identity, self._skipped)}
        refusal = self._mass_archive_refusal(len(todo), read_nothing=not seen)
        if refusal is not None:
            return refusal
        with ThreadPoolExecutor(self.options.workers) as pool:
            for identity, (guid, name) in todo.items():
                pool.submit(self._archive_safely, identity, guid, name)
        return None

    def _mass_archive_refusal(self, count: int, read_nothing: bool) -> str | None:
        if count == 0 or self.options.allow_mass_archive:
            return None
        return mass_archive_refusal(count, self.state.count_live(), read_nothing)

    def _archive_safely(self, identity: str, guid: str | None, name: str) -> None:
        try:
            self._archive(identity, guid, name)
        except Exception as exc:
            self.report.fail(identity, "", f"archive failed: {_reason(exc)}")

    def _archive(self, identity: str, guid: str | None, name: str) -> None:
        self.report.planned(Action(Kind.ARCHIVE, identity, name, (Change("archived", False, True),)))
        if guid and not self.options.dry_run:
            self.gateway.archive_product(guid)
        self.state.set_archived(identity, True)
        self.report.count("archived")


def _retry_item(kind: str, body: str) -> Product | StockUpdate | None:
    try:
        return Product.model_validate_json(body) if kind == "product" else StockUpdate.model_validate_json(body)
    except (ValidationError, ValueError, json.JSONDecodeError):
        return None  # written by an older model: the next read brings the product again


def _product_skipped(identity: str, skipped: set[str]) -> bool:
    """A `Skipped` for a whole product (no variant id) covers each of its variants."""
    return identity.rsplit("|", 1)[0] + "|" in skipped


def _variant_tag_of(view: dict) -> str | None:
    for tag in view.get("tags") or []:
        if isinstance(tag, dict) and tag.get("type") == "variant":
            return str(tag["guid"])
    return None


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if parts.netloc else url
