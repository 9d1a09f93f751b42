"""JSON shapes the sandbox answers with: stored product (C6), product view (B5), tags (6.1)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .store import ProductRow, TagRow
from .validation import vat_rate

CENT = Decimal("0.01")


def json_number(value: Any) -> int | float:
    """Decimals become floats for JSON; ints stay ints (150 is sent back as 150)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return float(value)


def price_unit(amount: Any, rate: int) -> dict[str, Any]:
    """B7: amount is gross; vat = round(amount x rate / (100 + rate), 2) half up; vat0 = amount - vat."""
    gross = Decimal(str(amount))
    tax = (gross * rate / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return {"amount": json_number(amount), "vat": json_number(tax),
            "vat0": json_number(gross - tax), "vat_percent": rate}


def price_block(base_price: dict[str, Any], vat: str) -> dict[str, Any]:
    rate = vat_rate(vat)
    unit = price_unit(base_price["amount"], rate)
    return {"currency": base_price["currency"], "vat_class": rate,
            "base": {"unit": unit}, "final": {"unit": dict(unit)}}


def product_doc(clean: dict[str, Any], guid: str, owner: str) -> dict[str, Any]:
    """The stored product fields (C6) from a validated product; shop fields are columns."""
    base = clean["base_price"]
    base_price = {"currency": base["currency"], "vat_percent": json_number(base["vat_percent"]),
                  "amount": json_number(base["amount"])}
    return {
        "guid": guid,
        "owner_guid": owner,
        "type": "default",
        "name": clean["name"],
        "brief": clean["brief"],
        "desc": clean["desc"],
        "sku": clean["sku"],
        "images": clean["images"],
        "data": clean["data"],
        "tag_guids": clean["tag_guids"],
        "vat": clean["vat"],
        "base_price": base_price,
        "price": price_block(base, clean["vat"]),
    }


def product_view(row: ProductRow, tags: dict[str, TagRow]) -> dict[str, Any]:
    """The stored product as every endpoint answers it: C6 plus expanded tags and shop fields."""
    view = dict(row.doc)
    ordered: dict[str, Any] = {}
    for key, value in view.items():
        ordered[key] = value
        if key == "tag_guids":
            ordered["tags"] = [tag_summary(tags[g]) for g in value if g in tags]
    ordered.update({
        "stock_level": row.stock_level,
        "for_sale": row.for_sale,
        "revision": row.revision,
        "created": row.created,
        "updated": row.updated,
        "timestamps": {"created": row.created, "updated": row.updated},
    })
    if row.archived:
        ordered["archived"] = row.archived
    return ordered


def tag_summary(tag: TagRow) -> dict[str, Any]:
    """A tag inside a product: without its (possibly huge) product list."""
    return {"guid": tag.guid, "name": tag.name, "type": tag.type, "owner": tag.owner,
            "parent_guid": tag.parent_guid}


def tag_object(tag: TagRow, subtags: list[str], product_guids: list[str]) -> dict[str, Any]:
    """The full tag object of spec 6.1 / C1."""
    return {
        "guid": tag.guid,
        "name": tag.name,
        "type": tag.type,
        "owner": tag.owner,
        "parent_guid": tag.parent_guid,
        "subtags": subtags,
        "product_guids": product_guids,
        "item_count": len(product_guids),
        "active": tag.type == "category" or bool(product_guids),
        "images": [],
        "data": None,
        "duration": None,
    }


def children_by_parent(tags: list[TagRow]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for tag in tags:
        if tag.parent_guid != tag.guid:
            children.setdefault(tag.parent_guid, []).append(tag.guid)
    return children


def tag_hierarchy(categories: list[TagRow]) -> list[dict[str, Any]]:
    """`/bootstrap`'s nested tree of {guid, name, children}."""
    by_guid = {tag.guid: tag for tag in categories}
    children = children_by_parent(categories)

    def node(guid: str) -> dict[str, Any]:
        return {"guid": guid, "name": by_guid[guid].name,
                "children": [node(child) for child in children.get(guid, [])]}

    return [node(tag.guid) for tag in categories if tag.parent_guid == tag.guid]
