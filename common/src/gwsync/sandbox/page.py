"""HTML pages (no token, a local tool): shops at `/`, a shop's products at `/shops/<guid>`.

The product page shows what a vendor checks after an import: name, gross
price, VAT, stock, SKU, variant groups with their options, images, category
paths, archived state, source identity and revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, render_template, request

from .context import sandbox
from .store import TagRow

page = Blueprint("page", __name__, template_folder="templates")
PAGE_SIZE = 200


@dataclass
class ProductRowView:
    """One product as the page shows it."""

    view: dict[str, Any]
    group_key: str
    group_name: str
    is_variant: bool
    category_paths: list[str]
    group_size: int = 1
    first_in_group: bool = False
    variants: dict[str, Any] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)  # http(s) only: no javascript: links
    source: dict[str, Any] | None = None


@page.get("/")
def index() -> str:
    return render_template("index.html", shops=sandbox().store.shops(), base_url=request.url_root)


@page.get("/shops/<guid>")
def shop(guid: str) -> str:
    store = sandbox().store
    if store.shop_key(guid) is None:
        abort(404, f"No shop {guid}")
    query = request.args.get("q", "").strip()
    show = request.args.get("show", "all")
    views = filter_views(sandbox().catalog.views(guid.lower()), query, show)
    rows = product_rows(views, {t.guid: t for t in store.all_tags()})
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    number = min(max(1, request.args.get("page", 1, type=int)), pages)
    shown = rows[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
    mark_group_starts(shown)
    return render_template("shop.html", shop=guid.lower(), rows=shown, total=len(rows), page=number,
                           pages=pages, query=query, show=show, page_size=PAGE_SIZE)


def filter_views(views: list[dict[str, Any]], query: str, show: str) -> list[dict[str, Any]]:
    """Keep live or archived products, and those whose name or SKU contains the query."""
    if show == "live":
        views = [v for v in views if "archived" not in v]
    elif show == "archived":
        views = [v for v in views if "archived" in v]
    needle = query.casefold()
    if needle:
        views = [v for v in views if needle in (v.get("name") or "").casefold()
                 or needle in (v.get("sku") or "").casefold()]
    return views


def product_rows(views: list[dict[str, Any]], tags: dict[str, TagRow]) -> list[ProductRowView]:
    """Rows ordered so that a variant group's members sit together, oldest first inside it."""
    rows = [_row(view, tags) for view in views]
    sizes: dict[str, int] = {}
    for row in rows:
        sizes[row.group_key] = sizes.get(row.group_key, 0) + 1
    for row in rows:
        row.group_size = sizes[row.group_key]
    rows.sort(key=lambda r: (r.group_name.casefold(), r.group_key, r.view["created"], r.view["guid"]))
    return rows


def mark_group_starts(rows: list[ProductRowView]) -> None:
    previous = None
    for row in rows:
        row.first_in_group = row.group_key != previous
        previous = row.group_key


def _row(view: dict[str, Any], tags: dict[str, TagRow]) -> ProductRowView:
    variant = next((t for t in view.get("tags", []) if t["type"] == "variant"), None)
    data = view.get("data") or {}
    return ProductRowView(
        view=view,
        group_key=variant["guid"] if variant else view["guid"],
        group_name=variant["name"] if variant else view["name"],
        is_variant=variant is not None,
        category_paths=category_paths(view.get("tag_guids") or [], tags),
        variants=data.get("variants") if isinstance(data.get("variants"), dict) else {},
        images=[u for u in view.get("images") or [] if u.startswith(("http://", "https://"))],
        source=data.get("source") if isinstance(data.get("source"), dict) else None,
    )


def category_paths(tag_guids: list[str], tags: dict[str, TagRow]) -> list[str]:
    """Full names of the product's deepest categories (ancestors are implied)."""
    paths = []
    for guid in tag_guids:
        tag = tags.get(guid)
        if tag is not None and tag.type == "category":
            paths.append(_path_names(tag, tags))
    return sorted(p for p in set(paths) if not any(o.startswith(p + " > ") for o in paths))


def _path_names(tag: TagRow, tags: dict[str, TagRow]) -> str:
    names = [tag.name]
    seen = {tag.guid}
    while tag.parent_guid != tag.guid and tag.parent_guid in tags and tag.parent_guid not in seen:
        tag = tags[tag.parent_guid]
        seen.add(tag.guid)
        names.append(tag.name)
    return " > ".join(reversed(names))
