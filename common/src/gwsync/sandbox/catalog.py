"""Product and tag operations of the sandbox, on top of the store.

Every change of a product bumps its revision, so a rendered view can be
cached by (guid, revision): listing thousands of products per E4 page then
costs no JSON parsing. And every write bumps a generation counter, so the
sorted hits of a query can be reused while a client pages through them.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from typing import Any

from . import dsl
from .documents import children_by_parent, product_doc, product_view, tag_object
from .errors import ApiError
from .faults import Faults
from .store import ProductRow, Store, TagRow, now_iso
from .validation import ItemInput, Problem, ValidationFailed

HIT_CACHE_SIZE = 16  # distinct queries whose sorted hits are kept for paging


def variant_tag_guid(owner: str, tag_type: str, name: str) -> str:
    """B9: uuid5(owner guid, "<type>:<name>")."""
    return str(uuid.uuid5(uuid.UUID(owner), f"{tag_type}:{name}"))


class Catalog:
    def __init__(self, store: Store, faults: Faults | None = None) -> None:
        self.store = store
        self.faults = faults or Faults()
        # B16 index lag: guid -> (the view E4 still shows, or None for a new product; visible from)
        self._unindexed: dict[str, tuple[dict[str, Any] | None, float]] = {}
        self._views: dict[str, tuple[int, dict[str, Any]]] = {}
        self._hits: OrderedDict[tuple[str, int, str], list[dict[str, Any]]] = OrderedDict()
        self._generation = 0
        self._shop_views: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------

    def _tags_by_guid(self) -> dict[str, TagRow]:
        return {tag.guid: tag for tag in self.store.all_tags()}

    def _tags_of(self, row: ProductRow) -> dict[str, TagRow]:
        """Only the product's own tags: one product's view must not read every tag of the Gateway."""
        found = (self.store.get_tag(guid) for guid in row.doc.get("tag_guids") or ())
        return {tag.guid: tag for tag in found if tag is not None}

    def _view(self, row: ProductRow, tags: dict[str, TagRow] | None = None) -> dict[str, Any]:
        with self._lock:
            cached = self._views.get(row.guid)
        if cached and cached[0] == row.revision:
            return cached[1]
        view = product_view(row, tags if tags is not None else self._tags_of(row))
        with self._lock:
            self._views[row.guid] = (row.revision, view)
        return view

    def views(self, shop: str) -> list[dict[str, Any]]:
        """Every product view of a shop, oldest first. Views are shared: do not mutate."""
        generation = self._generation
        with self._lock:
            cached = self._shop_views.get(shop)
        if cached and cached[0] == generation:
            return cached[1]
        revisions = self.store.product_revisions(shop)
        with self._lock:
            stale = [g for g, rev in revisions if self._views.get(g, (None,))[0] != rev]
        if stale:
            tags = self._tags_by_guid()
            for row in self.store.products_by_guid(stale):
                self._view(row, tags)
        with self._lock:
            views = [self._views[g][1] for g, _ in revisions if g in self._views]
            self._shop_views[shop] = (generation, views)
        return views

    def query(self, shop: str, body: Any) -> tuple[list[dict[str, Any]], int]:
        """E4: the DSL over the token shop's products only (B5)."""
        if not isinstance(body, dict) or "dsl" not in body:
            raise dsl.QueryError('the body must be {"dsl": {...}}')
        search = dsl.parse_search(body["dsl"])
        lagging = self._lagging()
        if lagging:  # the index has not caught up with the latest writes: no cached hits
            return dsl.page_of(dsl.sorted_hits(self._indexed_views(shop, lagging), search), search)
        sort = [(key.path, key.descending) for key in search.sort]
        key = (shop, self._generation, json.dumps([search.query, sort], sort_keys=True))
        with self._lock:
            hits = self._hits.get(key)
        if hits is None:
            hits = dsl.sorted_hits(self.views(shop), search)
            with self._lock:
                self._hits[key] = hits
                while len(self._hits) > HIT_CACHE_SIZE:
                    self._hits.popitem(last=False)
        return dsl.page_of(hits, search)

    def _lagging(self) -> dict[str, dict[str, Any] | None]:
        """Writes E4 does not see yet: guid -> the view it still shows (None: not at all)."""
        if not self._unindexed:
            return {}
        now = self.faults.clock()
        with self._lock:
            for guid in [g for g, (_, due) in self._unindexed.items() if due <= now]:
                del self._unindexed[guid]
            return {guid: view for guid, (view, _) in self._unindexed.items()}

    def _indexed_views(self, shop: str, lagging: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
        views = []
        for view in self.views(shop):
            if view["guid"] not in lagging:
                views.append(view)
            elif lagging[view["guid"]] is not None:
                views.append(lagging[view["guid"]])
        return views

    def _not_indexed_yet(self, guid: str, previous: dict[str, Any] | None) -> None:
        lag = self.faults.index_lag()
        if not lag:
            return
        with self._lock:
            if guid in self._unindexed:  # the index still shows what it showed before
                previous = self._unindexed[guid][0]
            self._unindexed[guid] = (previous, self.faults.clock() + lag)

    def _changed(self) -> None:
        """Called after every write: cached query hits are stale from now on."""
        with self._lock:
            self._generation += 1
            self._hits.clear()
            self._shop_views.clear()

    def own_product(self, shop: str, guid: str) -> ProductRow:
        row = self.store.get_product(guid)
        if row is None or row.owner != shop:  # another shop's product is not even found
            raise ApiError(404, f"Product {guid} not found")
        return row

    def get_view(self, shop: str, guid: str) -> dict[str, Any]:
        return self._view(self.own_product(shop, guid))

    # -- product writes --------------------------------------------------

    def create_products(self, shop: str, items: list[ItemInput]) -> list[dict[str, Any]]:
        """E1: one new product per item, all in one transaction, views in request order."""
        rows = []
        for item in items:
            guid, stamp = str(uuid.uuid4()), now_iso()
            rows.append(ProductRow(
                guid=guid, owner=shop, doc=product_doc(item.product, guid, shop),
                stock_level=item.stock_level or 0,
                for_sale=True if item.for_sale is None else item.for_sale,
                archived=stamp if item.archived else None,
                revision=1, created=stamp, updated=stamp,
            ))
        self.store.insert_products(rows)
        for row in rows:
            self._not_indexed_yet(row.guid, None)
        self._changed()
        tags = self._tags_by_guid()
        return [self._view(row, tags) for row in rows]

    def update_product(self, shop: str, guid: str, item: ItemInput) -> dict[str, Any]:
        """B3.3: the product is replaced; left-out shop fields keep their value."""
        with self.store.transaction():
            row = self.own_product(shop, guid)
            row.doc = product_doc(item.product, row.guid, shop)
            if item.stock_level is not None:
                row.stock_level = item.stock_level
            if item.for_sale is not None:
                row.for_sale = item.for_sale
            if item.archived is not None:
                row.archived = (row.archived or now_iso()) if item.archived else None
            self._save(row)
        return self._view(row)

    def archive_product(self, shop: str, guid: str) -> None:
        """E5: sets `archived` once; archiving again changes nothing."""
        with self.store.transaction():
            row = self.own_product(shop, guid)
            if row.archived is None:
                row.archived = now_iso()
                self._save(row)

    def delete_product(self, shop: str, guid: str) -> None:
        """E6: gone for good."""
        with self.store.transaction():
            self.own_product(shop, guid)
            self.store.delete_product(guid)
        with self._lock:
            self._views.pop(guid, None)
        self._changed()

    def _save(self, row: ProductRow) -> None:
        if self.faults.index_lag():
            stored = self.store.get_product(row.guid)
            self._not_indexed_yet(row.guid, self._view(stored) if stored else None)
        row.revision += 1
        row.updated = now_iso()
        self.store.save_product(row)
        self._changed()

    # -- tags ------------------------------------------------------------

    def known_tag_guids(self, shop: str) -> set[str]:
        return {tag.guid for tag in self.store.visible_tags(shop)}

    def tag_objects(self, shop: str, tags: list[TagRow]) -> list[dict[str, Any]]:
        links = self.store.tag_links(shop)
        children = children_by_parent(self.store.visible_tags(shop))
        return [tag_object(tag, children.get(tag.guid, []), links.get(tag.guid, [])) for tag in tags]

    def visible_tag(self, shop: str, guid: str) -> TagRow:
        tag = self.store.get_tag(guid)
        if tag is None or (tag.type != "category" and tag.owner != shop):
            raise ApiError(404, f"Tag {guid} not found")
        return tag

    def create_tag(self, shop: str, name: str, tag_type: str) -> dict[str, Any]:
        """E9/E10; the store raises TagExists on a duplicate (owner, type, name)."""
        guid = variant_tag_guid(shop, tag_type, name)
        tag = TagRow(guid=guid, owner=shop, type=tag_type, name=name, parent_guid=guid)
        self.store.insert_tag(tag)
        return tag_object(tag, [], [])

    def delete_tag(self, shop: str, guid: str) -> None:
        """E11: the tag goes, and so does its guid from every product carrying it."""
        with self.store.transaction():
            tag = self.store.get_tag(guid)
            if tag is None or tag.type == "category" or tag.owner != shop:
                raise ApiError(404, f"Tag {guid} not found among the shop's tags")
            for product_guid in self.store.product_guids_with_tag(tag.guid):
                self._set_tag(self.own_product(shop, product_guid), tag.guid, present=False)
            self.store.delete_tag(tag.guid)

    def change_product_tags(self, shop: str, guid: str, add: list[str], delete: list[str]) -> dict[str, Any]:
        """E12: add the tag to `add`, remove it from `delete`; all or nothing."""
        with self.store.transaction():
            tag = self.visible_tag(shop, guid)
            rows = self._products_for_tagging(shop, {"add": add, "delete": delete})
            for product_guid in add:
                self._set_tag(rows[product_guid.lower()], tag.guid, present=True)
            for product_guid in delete:
                self._set_tag(rows[product_guid.lower()], tag.guid, present=False)
        return self.tag_objects(shop, [tag])[0]

    def _products_for_tagging(self, shop: str, lists: dict[str, list[str]]) -> dict[str, ProductRow]:
        wanted = {g.lower() for guids in lists.values() for g in guids}
        rows = {row.guid: row for row in self.store.products_by_guid(sorted(wanted)) if row.owner == shop}
        problems = [Problem(f"{name}[{i}]", f"unknown product {g}")
                    for name, guids in lists.items() for i, g in enumerate(guids) if g.lower() not in rows]
        if problems:
            raise ValidationFailed(problems)
        return rows

    def _set_tag(self, row: ProductRow, tag_guid: str, present: bool) -> None:
        guids = [g for g in row.doc.get("tag_guids") or [] if g != tag_guid]
        if present:
            guids.append(tag_guid)
        if guids != (row.doc.get("tag_guids") or []):
            row.doc = {**row.doc, "tag_guids": guids}
            self._save(row)
