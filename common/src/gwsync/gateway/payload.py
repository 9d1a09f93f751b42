"""Gateway payloads (B3, B7, B8, B9) built from the catalog model, and their hashes.

Only this module knows the product payload's shape. The same normal form is
built from what we are about to send and from a product the Gateway returns, so
that a rebuilt state compares equal to what is already there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ..models import Image, Product, SourceId, Variant

CURRENCY = "zł"
# What we own of a product; `base_price_type` is always "retail" and not echoed back.
PRODUCT_KEYS = ("name", "base_price", "vat", "images", "tag_guids", "desc", "brief", "sku", "data")
ITEM_KEYS = ("stock_level", "for_sale")


@dataclass(frozen=True)
class Sellable:
    """One Gateway product to be: a simple product, or one variant of a group."""

    source: SourceId
    name: str
    price: Decimal | None
    vat: int
    stock: int
    sku: str | None
    description: str | None
    brief: str | None
    images: tuple[Image, ...]
    options: Mapping[str, str] | None
    active: bool


_USERINFO = re.compile(r"(?i)\b(https?://)[^/\s\"'<>@]+@")


def without_userinfo(text: str) -> str:
    """Descriptions built from a shop URL given with user info (`https://KEY@shop/...`) must not
    carry the key to the Gateway: `https://KEY@shop/x.jpg` -> `https://shop/x.jpg`."""
    return _USERINFO.sub(r"\1", text)


def sellables(product: Product, platform: str, shop: str) -> list[Sellable]:
    base = SourceId(platform=platform, shop=shop, product_id=product.product_id)
    if not product.variants:
        return [Sellable(base, product.name, product.price, product.vat, product.stock, product.sku,
                         product.description, product.brief, product.images, None, product.active)]
    items = [_variant(product, variant, base) for variant in product.variants]
    if sum(1 for s in items if s.active) == 1:
        # a group with one live variant is a plain product: no variant tag, no data.variants
        # (one call less per group); its identity stays the variant's, so it joins a tag later
        items = [replace(s, options=None) if s.active else s for s in items]
    return items


def _variant(product: Product, variant: Variant, base: SourceId) -> Sellable:
    values = ", ".join(variant.options.values())
    return Sellable(
        source=base.model_copy(update={"variant_id": variant.variant_id}),
        name=f"{product.name} – {values}",
        price=variant.price if variant.price is not None else product.price,
        vat=product.vat,
        stock=variant.stock,
        sku=variant.sku,
        description=product.description,
        brief=product.brief,
        images=variant.images or product.images,
        options=dict(variant.options),
        active=product.active and variant.active,
    )


def partition_of(source: SourceId) -> str:
    """Two hex digits, stable per identity: lets full scans stay inside the query window."""
    return hashlib.sha1(source.key.encode()).hexdigest()[:2]


def build_item(item: Sellable, image_urls: list[str], tag_guids: list[str]) -> dict[str, Any]:
    """The E1 item / PUT body for one sellable (always the whole product: PUT replaces)."""
    assert item.price is not None
    data: dict[str, Any] = {"source": item.source.as_data(), "partition": partition_of(item.source)}
    if item.options:
        data["variants"] = dict(item.options)
    product: dict[str, Any] = {
        "name": item.name,
        "base_price_type": "retail",
        "base_price": {"currency": CURRENCY, "vat_percent": item.vat, "amount": float(item.price)},
        "vat": f"VAT{item.vat}",
        "images": image_urls,
        "tag_guids": tag_guids,
        "data": data,
    }
    for key, value in (("desc", item.description), ("brief", item.brief), ("sku", item.sku)):
        if value:
            product[key] = without_userinfo(value) if key != "sku" else value
    return {"product": product, "stock_level": item.stock, "for_sale": True}


def with_image_sources(item: dict[str, Any], sources: Mapping[str, str]) -> dict[str, Any]:
    """Record on the product which source image each hosted URL came from (`data.images_source`:
    hosted URL -> digest of the source image key), so that a state rebuilt from the Gateway knows
    its images and a re-run after state loss hosts none again."""
    if sources:
        item["product"]["data"]["images_source"] = dict(sources)
    return item


def rekeyed(view: Mapping[str, Any], shop: str) -> dict[str, Any] | None:
    """The PUT body moving a Gateway product to another source shop id (`migrate-source`)."""
    source = source_of(view)
    if source is None:
        return None
    moved = source.model_copy(update={"shop": shop})
    item = item_from_view(view)
    data = dict(item["product"].get("data") or {})
    data["source"] = moved.as_data()
    data["partition"] = partition_of(moved)
    item["product"]["data"] = data
    return item


def normal_form(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields we own of an item (built by `build_item` or rebuilt by `item_from_view`)."""
    product = item["product"]
    out: dict[str, Any] = {key: product.get(key) for key in PRODUCT_KEYS if product.get(key) not in (None, "")}
    price = out.get("base_price")
    if isinstance(price, Mapping):
        out["base_price"] = {"currency": price.get("currency"), "vat_percent": price.get("vat_percent"),
                             "amount": f"{Decimal(str(price.get('amount'))):.2f}"}
    data = out.get("data")
    if isinstance(data, Mapping) and "images_source" in data:
        # a recovery hint, not content: a feed moved to new paths (same images) costs no write
        out["data"] = {k: v for k, v in data.items() if k != "images_source"}
    for key in ITEM_KEYS:
        out[key] = item.get(key)
    return out


def payload_hash(item: Mapping[str, Any]) -> str:
    canonical = json.dumps(normal_form(item), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def with_stock(item: Mapping[str, Any], stock: int, price: Decimal | None) -> dict[str, Any]:
    """A copy of a stored payload with a new stock (and price)."""
    updated = json.loads(json.dumps(item))
    updated["stock_level"] = stock
    if price is not None:
        updated["product"]["base_price"]["amount"] = float(price)
    return updated


def item_from_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """A sendable item (PUT replaces the whole product) rebuilt from a Gateway product view."""
    product = {key: view[key] for key in PRODUCT_KEYS if view.get(key) not in (None, "")}
    product["base_price_type"] = "retail"
    price = product.get("base_price")
    if isinstance(price, Mapping):
        product["base_price"] = {"currency": price.get("currency", CURRENCY),
                                 "vat_percent": price.get("vat_percent"),
                                 "amount": float(Decimal(str(price.get("amount", 0))))}
    return {"product": product, "stock_level": int(view.get("stock_level") or 0),
            "for_sale": bool(view.get("for_sale", True))}


def source_of(view: Mapping[str, Any]) -> SourceId | None:
    data = view.get("data") or {}
    source = data.get("source") if isinstance(data, Mapping) else None
    if not isinstance(source, Mapping):
        return None
    try:
        return SourceId(**{k: source.get(k) for k in ("platform", "shop", "product_id", "variant_id")})
    except ValueError:
        return None
