"""State round trips per page of the read, not per product (issue 18).

Before a page of items is handled, everything the engine needs from the state about them
is read in a few bulk queries (`read_page`): their stored items, their groups' variant tags
and (through `ImageService.preload`) their images' hosted URLs. Item saves after updates
go through a `SaveBuffer`, written a batch at a time.

Creates never wait in a buffer: their intents are committed before the E1 call and their
items saved, one transaction per E1 batch, as soon as the Gateway answers (B16).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .models import Item, Product, StockUpdate
from .state import ItemRow, ItemState, StateStore


@dataclass(frozen=True)
class PageState:
    """What the state knew about one page of items when the page was read."""

    items: dict[str, list[ItemState]] = field(default_factory=dict)  # product id -> its stored items
    tags: dict[str, str] = field(default_factory=dict)  # variant group key -> tag guid

    def of_product(self, product_id: str) -> list[ItemState]:
        return self.items.get(product_id, [])

    def item(self, product_id: str, identity: str) -> ItemState | None:
        return next((i for i in self.of_product(product_id) if i.identity == identity), None)


def read_page(state: StateStore, page: Iterable[Item], group_key: Callable[[str], str] | None) -> PageState:
    """The stored items of every product on the page and the variant tags of its groups (none
    without `group_key`: the stock pass sends no tags): two queries.

    Reading ahead is safe: within a run each product is handled once (the engine drops a second
    listing), and nothing else writes a product's items before its own handler does."""
    product_ids = {i.product_id for i in page if isinstance(i, (Product, StockUpdate))}
    groups = {group_key(i.product_id) for i in page if isinstance(i, Product) and i.variants} if group_key else set()
    return PageState(items=state.items_of_products(product_ids) if product_ids else {},
                     tags=state.variant_tags(groups) if groups else {})


class SaveBuffer:
    """Item saves after updates, written `size` at a time in one transaction, and on `flush`.

    Only updates come here: an update is an idempotent PUT, so a crash that loses up to `size`
    buffered saves costs at most that many PUTs again on the next run, never a duplicate. The
    engine flushes before anything reads these items back (archiving, the run's end)."""

    def __init__(self, state: StateStore, size: int, before: Callable[[], None] = lambda: None) -> None:
        self.state, self.size = state, max(1, size)
        self._before = before  # what must be recorded before these items (their hosted images)
        self._rows: list[ItemRow] = []
        self._lock = threading.Lock()

    def add(self, row: ItemRow) -> None:
        with self._lock:
            self._rows.append(row)
            if len(self._rows) < self.size:
                return
            ready, self._rows = self._rows, []
        self._save(ready)

    def flush(self) -> None:
        with self._lock:
            ready, self._rows = self._rows, []
        self._save(ready)

    def _save(self, rows: list[ItemRow]) -> None:
        self._before()
        if rows:
            self.state.save_items(rows)
