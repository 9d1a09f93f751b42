"""Carrying out create actions (B3, B4, B12, B16): batches, intents, lookups, adoption.

Before each E1 batch its items are looked up on the Gateway in one E4 query (a stale or
restored state must never duplicate); a create is recorded as an intent before it is sent;
after an ambiguous failure the search lag is waited out before the lookup, and only what is
still missing is created again. The engine (`gwsync.sync`) mixes this in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import AuthError, SyncError
from .gateway.client import AmbiguousWrite, BatchRejected, split_batches
from .gateway.payload import Sellable
from .models import Product
from .plan import Action, Kind
from .redact import redact

if TYPE_CHECKING:
    from .gateway.client import GatewayClient
    from .images import ImageService
    from .report import Report
    from .state import ItemState, StateStore
    from .variant_tags import VariantTags

log = logging.getLogger(__name__)
SEARCH_LAG = 2.0  # B16: seconds the Gateway's search may lag behind its writes


@dataclass
class PendingCreate:
    sellable: Sellable
    item: dict[str, Any]
    hash: str
    origin: Product | None = None  # what goes to the retry list when the create fails

    @property
    def identity(self) -> str:
        return self.sellable.source.key


@dataclass
class CreateBatcher:
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


class CreateExecutor:
    """The create half of the executor; the engine provides the attributes declared here."""

    gateway: GatewayClient
    images: ImageService
    tags: VariantTags
    state: StateStore
    report: Report
    options: Any
    platform: str
    shop: str

    def _adopt(self, views: Iterable[dict], wanted: set[str] | None = None) -> dict[str, str]:
        raise NotImplementedError

    def _update(self, sellable: Sellable, known: ItemState, item: dict, digest: str,
                origin: Product | None, kind: Kind = Kind.UPDATE) -> None:
        raise NotImplementedError

    def _retry_later(self, item: Any, reason: str) -> None:
        raise NotImplementedError

    def record_new(self) -> None:
        """Write what this run hosted or made and has kept in memory (images, variant tags)."""
        self.images.flush()
        self.tags.flush()

    @property
    def search_lag(self) -> float:
        return SEARCH_LAG if self.options.search_lag is None else self.options.search_lag

    def wait_for_interrupted_creates(self) -> None:
        """B16 for a crashed run's creates: their outcome is unknown, so the lookup waits until the
        newest of them is older than the search lag (a restart seconds after a crash would miss them)."""
        age = self.state.intent_age()
        if age is not None and age < self.search_lag:
            self.options.sleep(self.search_lag - age)

    def _send_creates(self, pending: list[PendingCreate]) -> None:
        for indexes in split_batches([p.item for p in pending]):
            batch = [pending[i] for i in indexes]
            try:
                self._create(batch, retry=True)
            except AuthError:
                raise
            except Exception as exc:
                for p in batch:
                    self._create_failed(p, reason_of(exc))

    def _create_failed(self, p: PendingCreate, reason: str) -> None:
        self.report.fail(p.identity, p.sellable.name, reason)
        if p.origin is not None:
            self._retry_later(p.origin, reason)

    def _create(self, batch: list[PendingCreate], retry: bool) -> None:
        # B16: one E4 lookup of the batch first; what exists is adopted, not created again
        batch = self._not_on_gateway(batch)
        if not batch:
            return
        for p in batch:
            self.report.planned(Action(Kind.CREATE, p.identity, p.sellable.name))
        if self.options.dry_run:
            self.report.count("created", len(batch))
            return
        self.record_new()  # the images and variant tags these items name are recorded before they go out
        self.state.add_intents((p.identity, p.sellable.source.product_id) for p in batch)
        try:
            stored = self.gateway.create_products([p.item for p in batch])
        except BatchRejected as rejected:
            self._rejected(batch, rejected, retry)
            return
        except AmbiguousWrite as exc:
            self.options.sleep(self.search_lag)  # B16: the search may not show it yet
            missing = self._adopt_after_ambiguity(batch)
            if missing and retry:
                self._create(missing, retry=False)
            else:
                for p in missing:  # intents stay: the next run looks these up first
                    self._create_failed(p, f"create outcome unknown ({exc}); checked again on the next run")
            return
        # the whole batch in one transaction, its intents cleared with it
        self.state.save_items([(p.identity, p.sellable.source.product_id, p.sellable.source.variant_id,
                                str(doc["guid"]), p.item, p.hash, False) for p, doc in zip(batch, stored, strict=True)])
        log.debug("created %d products in one batch", len(batch))
        self.report.count("created", len(batch))

    def _not_on_gateway(self, batch: list[PendingCreate]) -> list[PendingCreate]:
        """Adopt the batch's items the Gateway already holds (a stale state); the rest to create."""
        by_identity = {p.identity: p for p in batch}
        product_ids = sorted({p.sellable.source.product_id for p in batch})
        found = self._adopt(self.gateway.products_of_source(self.platform, self.shop, product_ids),
                            wanted=set(by_identity))
        if found:
            self.report.notes.append(f"{len(found)} products to create were already on the Gateway "
                                     "(the state was behind it); adopted, not created again")
        adopted = self.state.items(found) if found else {}  # one query for the batch
        for identity in found:
            p = by_identity[identity]
            known = adopted.get(identity)
            if known is not None and known.hash == p.hash and not known.archived:
                self.report.count("unchanged")
            elif known is not None:
                self._update(p.sellable, known, p.item, p.hash, p.origin)
        return [p for i, p in by_identity.items() if i not in found]

    def _rejected(self, batch: list[PendingCreate], rejected: BatchRejected, retry: bool) -> None:
        self.state.clear_intents(p.identity for p in batch)
        good = [p for i, p in enumerate(batch) if i not in rejected.errors]
        for index, reason in rejected.errors.items():
            self._create_failed(batch[index], f"the Gateway rejected it: {reason}")
        if good and retry:
            self._create(good, retry=False)
        else:
            for p in good:
                self._create_failed(p, "the Gateway rejected its batch")

    def _adopt_after_ambiguity(self, batch: list[PendingCreate]) -> list[PendingCreate]:
        """Look the batch up by identity; adopt what the Gateway stored, return what it did not."""
        by_identity = {p.identity: p for p in batch}
        product_ids = sorted({p.sellable.source.product_id for p in batch})
        found = self._adopt(self.gateway.products_of_source(self.platform, self.shop, product_ids),
                            wanted=set(by_identity))
        adopted = self.state.items(found) if found else {}  # one query for the batch
        for identity in found:
            p = by_identity[identity]
            self.report.count("created")
            known = adopted.get(identity)
            if known is not None and known.hash != p.hash:
                self._update(p.sellable, known, p.item, p.hash, p.origin)
        return [p for i, p in by_identity.items() if i not in found]


def reason_of(exc: BaseException) -> str:
    """The one line a failed item is reported with."""
    if isinstance(exc, SyncError):
        return redact(str(exc))
    return redact(f"internal error: {type(exc).__name__}: {exc}")
