"""The engine: source stream -> plan (create / update / unchanged / archive / skip) -> execute.

Exactly once (gateway-api.md B3): identity travels in every product
(`data.source`); a create is recorded as an intent before it is sent, and after an
ambiguous failure or a crash the products are looked up by identity and adopted
before anything is created again. A fresh state is rebuilt from the Gateway with
one scan. Writes happen only when the payload's hash changed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .categories import CategoryMap, CategoryResolver, CategoryTree, join_path
from .connector import Connector, ReadContext
from .errors import AuthError, ConfigError, HttpError, SyncError
from .gateway.client import AmbiguousWrite, BatchRejected, GatewayClient, split_batches
from .gateway.payload import Sellable, build_item, item_from_view, payload_hash, sellables, source_of, with_stock
from .images import BrokenImage, ImagePrefetcher, ImageService, uploaded_digest
from .models import Present, Product, Seen, Skipped, SourceId, StockUpdate
from .redact import redact
from .report import Report
from .state import StateStore

log = logging.getLogger(__name__)

CURSOR_KEY = "cursor"
REBUILT_KEY = "rebuilt_from_gateway"


@dataclass
class Options:
    dry_run: bool = False
    full: bool = False
    workers: int = 4
    archive_missing: bool = True
    category_map: CategoryMap | None = None
    batch_size: int = 100
    allow_mass_archive: bool = False  # the mass-archive guard's override (--allow-mass-archive)


@dataclass
class PendingCreate:
    sellable: Sellable
    item: dict[str, Any]
    hash: str

    @property
    def identity(self) -> str:
        return self.sellable.source.key


@dataclass
class _Batcher:
    """Collects creates from all workers into full calls of `size` items, across products (a
    group may span two calls: each item carries its own identity and intent)."""

    send: Callable[[list[PendingCreate]], None]
    size: int = 100
    pending: list[PendingCreate] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, group: list[PendingCreate]) -> None:
        ready: list[list[PendingCreate]] = []
        with self.lock:
            self.pending.extend(group)
            while len(self.pending) >= self.size:
                ready.append(self.pending[:self.size])
                self.pending = self.pending[self.size:]
        for batch in ready:
            self.send(batch)

    def flush(self) -> None:
        with self.lock:
            ready, self.pending = self.pending, []
        if ready:
            self.send(ready)


class Engine:
    def __init__(self, connector: Connector, gateway: GatewayClient, state: StateStore,
                 report: Report, options: Options,
                 progress: Callable[[Report], None] | None = None) -> None:
        self.connector, self.gateway, self.state = connector, gateway, state
        self.report, self.options = report, options
        self.platform, self.shop = connector.platform, connector.shop
        self.progress = progress or (lambda report: None)
        self.images = ImageService(state, gateway.upload_image, gateway.copy_public_image,
                                   connector.fetch_image, gateway.http.stats, dry_run=options.dry_run)
        self.batcher = _Batcher(self._send_creates, size=options.batch_size)
        self.prefetch = ImagePrefetcher(self.images, self.platform, self.shop)  # read-ahead images
        self._stop = threading.Event()
        # archiving waits for a complete read; skipped items are never archived
        self._retired: dict[str, tuple[str, str]] = {}
        self._skipped: set[str] = set()
        self._marks = threading.Lock()
        self._fatal: AuthError | None = None
        self._categories: CategoryResolver | None = None
        self._categories_lock = threading.Lock()

    def stop(self) -> None:
        """Finish the items in flight, save state, do not archive: the read was not complete."""
        self._stop.set()

    # -- the run ------------------------------------------------------------------

    def run(self) -> Report:
        self.gateway.count_products()  # fails fast on a bad token or unreachable Gateway
        if self.options.category_map is not None:
            self._resolver()
        self._recover()
        ctx = ReadContext(cursor=None if self.options.full else self.state.get_meta(CURSOR_KEY),
                          full=self.options.full or self.state.get_meta(CURSOR_KEY) is None,
                          known_product_ids=self.state.product_ids())
        try:
            seen = self._consume(ctx)
        finally:  # what was read before a stop is still written (and recorded in state)
            self.batcher.flush()
            self.prefetch.close()
        if self._fatal is not None:
            raise self._fatal
        if self._stop.is_set() and self.report.read_error is None:
            self.report.read_error = "stopped before the read finished (signal)"
        self.report.complete = self.report.read_error is None and not self._stop.is_set()
        if self.report.complete and self.options.archive_missing:
            self._archive_all(seen)
        if self.report.complete and not self.report.failures and ctx.new_cursor is not None:
            self.state.set_meta(CURSOR_KEY, ctx.new_cursor)
        self.report.notes.extend(ctx.notes)
        self.report.images = vars(self.images.counts).copy()
        return self.report

    def _consume(self, ctx: ReadContext) -> set[str]:
        seen: set[str] = set()
        products: set[str] = set()
        window = threading.BoundedSemaphore(self.options.workers * 4)  # bounded memory
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="gwsync") as pool:
            futures: set[Future] = set()
            try:
                for item in self.connector.read(ctx):
                    if self._stop.is_set():
                        break
                    if isinstance(item, Present):
                        seen.update(item.product_ids)
                        continue
                    if isinstance(item, Product):
                        if item.product_id in products:  # two workers must never create one product twice
                            self.report.notes.append(f"{self.connector.title} listed product "
                                                     f"{item.product_id} twice; the first one was used")
                            continue
                        products.add(item.product_id)
                    seen.add(item.product_id)
                    window.acquire()
                    self.prefetch.submit(item)
                    future = pool.submit(self._handle, item)
                    futures.add(future)
                    future.add_done_callback(lambda f: (window.release(), futures.discard(f)))
            except (AuthError, ConfigError):
                raise
            except SyncError as exc:
                self.report.read_error = f"reading {self.connector.title} stopped: {exc}"
        return seen

    def _handle(self, item: Product | Skipped | Seen | StockUpdate) -> None:
        try:
            if isinstance(item, Product):
                self._product(item)
            elif isinstance(item, Skipped):
                self._skip(self._source(item.product_id, item.variant_id).key, "", item.reason)
            elif isinstance(item, StockUpdate):
                self._stock(item)
        except AuthError as exc:  # the Gateway refused us: nothing else can land either
            self._fatal = exc
            self._stop.set()
        except Exception as exc:  # one bad item never stops the run
            source = self._source(item.product_id, getattr(item, "variant_id", None))
            self.report.fail(source.key, getattr(item, "name", ""), _reason(exc))
        finally:
            self.progress(self.report)

    def _skip(self, identity: str, name: str, reason: str) -> None:
        with self._marks:
            self._skipped.add(identity)
        self.report.skip(identity, name, reason)

    def _source(self, product_id: str, variant_id: str | None = None) -> SourceId:
        return SourceId(platform=self.platform, shop=self.shop, product_id=product_id, variant_id=variant_id)

    # -- one product (a group of sellables) ----------------------------------------------

    def _product(self, product: Product) -> None:
        items = sellables(product, self.platform, self.shop)
        current = {s.source.key for s in items if s.active}
        for old in self.state.items_of_product(product.product_id):
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
            tags = tags + [self._variant_tag(product)]
        creates = [c for c in (self._sellable(s, tags) for s in priced) if c is not None]
        if creates:
            self.batcher.add(creates)

    def _sellable(self, sellable: Sellable, tags: list[str]) -> PendingCreate | None:
        urls = self._image_urls(sellable)
        item = build_item(sellable, urls, tags)
        digest = payload_hash(item)
        known = self.state.item(sellable.source.key)
        if known is None or known.guid is None:
            self.report.planned(f"create  {sellable.source.key}  {sellable.name}")
            return PendingCreate(sellable, item, digest)
        if known.hash == digest and not known.archived:
            self.report.count("unchanged")
            return None
        self._update(sellable, known.guid, item, digest, unarchive=known.archived)
        return None

    def _update(self, sellable: Sellable, guid: str, item: dict, digest: str, unarchive: bool = False) -> None:
        self.report.planned(f"update  {sellable.source.key}  {sellable.name}")
        log.debug("update %s -> %s", sellable.source.key, guid)
        body = {**item, "archived": False} if unarchive else item
        if not self.options.dry_run:
            try:
                self.gateway.update_product(guid, body)
            except HttpError as exc:
                if exc.status != 404:
                    raise
                # deleted on the Gateway by someone else: create it again
                self.batcher.add([PendingCreate(sellable, item, digest)])
                return
            self._save(sellable.source, guid, item, digest)
        self.report.count("updated")

    def _stock(self, update: StockUpdate) -> None:
        source = self._source(update.product_id, update.variant_id)
        known = self.state.item(source.key)
        if known is None or known.guid is None or known.payload is None or known.archived:
            return  # never imported (or archived): nothing to adjust
        item = with_stock(known.payload, update.stock, update.price)
        digest = payload_hash(item)
        if digest == known.hash:
            self.report.count("unchanged")
            return
        self.report.planned(f"update  {source.key}  stock {update.stock}")
        if not self.options.dry_run:
            self.gateway.update_product(known.guid, item)
            self._save(source, known.guid, item, digest)
        self.report.count("updated")

    def _save(self, source: SourceId, guid: str, item: dict | None, digest: str | None,
              archived: bool = False) -> None:
        # a dry run works on a scratch copy of the state, so it may save freely
        self.state.save_item(source.key, source.product_id, source.variant_id, guid, item, digest, archived)

    # -- images, categories, variant tags --------------------------------------------------

    def _image_urls(self, sellable: Sellable) -> list[str]:
        urls: list[str] = []
        for image in sellable.images:
            try:
                url = self.images.hosted(image)
            except BrokenImage as exc:
                self.images.count("broken")
                self.report.broken_image(sellable.source.key, sellable.name,
                                         f"{redact(image.url)}: {exc}")
                continue
            if url not in urls:
                urls.append(url)
        return urls

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

    def _variant_tag(self, product: Product) -> str:
        group = self._source(product.product_id).key
        known = self.state.variant_tag(group)
        if known:
            return known
        if self.options.dry_run:
            return f"dry-run-tag:{group}"
        guid, created = self.gateway.create_variant_tag(product.name)
        name = product.name
        if not created:
            # the name belongs to another group (or a category): make ours unique (B9)
            name = f"{product.name} ({self.platform} {product.product_id})"
            guid, _ = self.gateway.create_variant_tag(name)
        self.state.save_variant_tag(group, guid, name)
        return guid

    # -- creates -------------------------------------------------------------------------

    def _send_creates(self, pending: list[PendingCreate]) -> None:
        if self.options.dry_run:
            self.report.count("created", len(pending))
            return
        for indexes in split_batches([p.item for p in pending]):
            try:
                self._create([pending[i] for i in indexes], retry=True)
            except AuthError:
                raise
            except Exception as exc:
                for p in (pending[i] for i in indexes):
                    self.report.fail(p.identity, p.sellable.name, _reason(exc))

    def _create(self, batch: list[PendingCreate], retry: bool) -> None:
        self.state.add_intents((p.identity, p.sellable.source.product_id) for p in batch)
        try:
            stored = self.gateway.create_products([p.item for p in batch])
        except BatchRejected as rejected:
            self._rejected(batch, rejected, retry)
            return
        except AmbiguousWrite as exc:
            missing = self._adopt_after_ambiguity(batch)
            if missing and retry:
                self._create(missing, retry=False)
            else:
                for p in missing:  # intents stay: the next run looks these up first
                    self.report.fail(p.identity, p.sellable.name,
                                     f"create outcome unknown ({exc}); checked again on the next run")
            return
        for p, doc in zip(batch, stored, strict=True):
            self._save(p.sellable.source, str(doc["guid"]), p.item, p.hash)
        log.debug("created %d products in one batch", len(batch))
        self.report.count("created", len(batch))

    def _rejected(self, batch: list[PendingCreate], rejected: BatchRejected, retry: bool) -> None:
        self.state.clear_intents(p.identity for p in batch)
        good = [p for i, p in enumerate(batch) if i not in rejected.errors]
        for index, reason in rejected.errors.items():
            p = batch[index]
            self.report.fail(p.identity, p.sellable.name, f"the Gateway rejected it: {reason}")
        if good and retry:
            self._create(good, retry=False)
        else:
            for p in good:
                self.report.fail(p.identity, p.sellable.name, "the Gateway rejected its batch")

    def _adopt_after_ambiguity(self, batch: list[PendingCreate]) -> list[PendingCreate]:
        """Look the batch up by identity; adopt what the Gateway stored, return what it did not."""
        by_identity = {p.identity: p for p in batch}
        product_ids = sorted({p.sellable.source.product_id for p in batch})
        found = self._adopt(self.gateway.products_of_source(self.platform, self.shop, product_ids),
                            wanted=set(by_identity))
        for identity in found:
            p = by_identity[identity]
            self.report.count("created")
            if self.state.item(identity).hash != p.hash:
                self._update(p.sellable, found[identity], p.item, p.hash)
        return [p for i, p in by_identity.items() if i not in found]

    # -- recovery --------------------------------------------------------------------------

    def _recover(self) -> None:
        """Fresh state: rebuild it from the Gateway in one scan. Leftover intents: adopt them."""
        if self.state.get_meta(REBUILT_KEY) is None:
            found = self._adopt(self.gateway.products_of_source(self.platform, self.shop))
            if found:
                self.report.notes.append(f"state rebuilt from the Gateway: {len(found)} products adopted")
            self.state.clear_intents(i for i, _ in self.state.intents())
            self.state.set_meta(REBUILT_KEY, "1")
            return
        intents = self.state.intents()
        if intents:
            product_ids = sorted({product_id for _, product_id in intents})
            found = self._adopt(self.gateway.products_of_source(self.platform, self.shop, product_ids),
                                wanted={i for i, _ in intents})
            self.report.notes.append(f"{len(found)} of {len(intents)} interrupted creates found "
                                     "on the Gateway and adopted")
            self.state.clear_intents(i for i, _ in intents)

    def _adopt(self, views: Iterable[dict], wanted: set[str] | None = None) -> dict[str, str]:
        """Record Gateway products carrying our identity; the first one found wins over duplicates."""
        found: dict[str, str] = {}
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
            self._save(source, str(view["guid"]), item, payload_hash(item), archived=archived)
            self._adopt_variant_tag(source, view)
            for url in view.get("images") or []:
                digest = uploaded_digest(str(url))
                if digest:  # so a re-fetched image finds its upload instead of making another
                    self.state.save_blob(digest, str(url))
        return found

    def _adopt_variant_tag(self, source: SourceId, view: dict) -> None:
        tag = _variant_tag_of(view)
        group = self._source(source.product_id).key
        if tag and source.variant_id and self.state.variant_tag(group) is None:
            self.state.save_variant_tag(group, tag, "")

    # -- archiving -------------------------------------------------------------------------

    def _archive_all(self, seen: set[str]) -> None:
        """After a complete read: what left the source, or went inactive, or lost a variant."""
        gone = {i.identity: (i.guid, "") for i in self.state.live_items() if i.product_id not in seen}
        gone.update(self._retired)
        with ThreadPoolExecutor(self.options.workers) as pool:
            for identity, (guid, name) in gone.items():
                if identity not in self._skipped and not _product_skipped(identity, self._skipped):
                    pool.submit(self._archive_safely, identity, guid, name)

    def _archive_safely(self, identity: str, guid: str | None, name: str) -> None:
        try:
            self._archive(identity, guid, name)
        except Exception as exc:
            self.report.fail(identity, "", f"archive failed: {_reason(exc)}")

    def _archive(self, identity: str, guid: str | None, name: str) -> None:
        self.report.planned(f"archive {identity}  {name}".rstrip())
        if guid and not self.options.dry_run:
            self.gateway.archive_product(guid)
        self.state.set_archived(identity, True)
        self.report.count("archived")


def _product_skipped(identity: str, skipped: set[str]) -> bool:
    """A `Skipped` for a whole product (no variant id) covers each of its variants."""
    return identity.rsplit("|", 1)[0] + "|" in skipped


def _variant_tag_of(view: dict) -> str | None:
    for tag in view.get("tags") or []:
        if isinstance(tag, dict) and tag.get("type") == "variant":
            return str(tag["guid"])
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SyncError):
        return redact(str(exc))
    return redact(f"internal error: {type(exc).__name__}: {exc}")
