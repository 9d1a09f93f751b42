"""Tag endpoints (B9, B10): E7, E8, E9, E10, E11, E12 and E13 /bootstrap."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .context import current_shop, json_body, route, sandbox
from .documents import tag_hierarchy
from .validation import Problem, ValidationFailed

tags = Blueprint("tags", __name__)


@route(tags, "/tags", "list_tags", ["GET"])
def list_tags() -> Response:
    """E7: marketplace categories plus the token shop's own tags, optionally of one type."""
    catalog = sandbox().catalog
    rows = catalog.store.visible_tags(current_shop(), request.args.get("type") or None)
    return jsonify(catalog.tag_objects(current_shop(), rows))


@route(tags, "/webshops/<shop>/tags", "list_shop_tags", ["GET"])
def list_shop_tags(shop: str) -> Response:
    """E8: the shop's own tags only."""
    catalog = sandbox().catalog
    return jsonify(catalog.tag_objects(current_shop(), catalog.store.shop_tags(current_shop())))


@route(tags, "/webshops/<shop>/tags", "create_shop_tag", ["POST"])
def create_shop_tag(shop: str) -> tuple[Response, int]:
    """E9: 201 with the tag; a duplicate (owner, type, name) answers the 409 of spec 6.2."""
    name, tag_type = _tag_fields(json_body())
    return jsonify(sandbox().catalog.create_tag(current_shop(), name, tag_type)), 201


@route(tags, "/tags", "create_tag", ["POST"])
def create_tag() -> tuple[Response, int]:
    """E10: behaves like E9 for the token's shop."""
    name, tag_type = _tag_fields(json_body())
    return jsonify(sandbox().catalog.create_tag(current_shop(), name, tag_type)), 201


@route(tags, "/webshops/<shop>/tags/<guid>", "delete_shop_tag", ["DELETE"])
def delete_shop_tag(shop: str, guid: str) -> Response:
    """E11."""
    sandbox().catalog.delete_tag(current_shop(), guid)
    return Response(status=204)


@route(tags, "/product_tags/<guid>", "product_tags", ["PUT"])
def product_tags(guid: str) -> Response:
    """E12: {"add": [...], "delete": [...]}, both required; the updated tag object."""
    body = json_body()
    lists = _guid_lists(body, ("add", "delete"))
    return jsonify(sandbox().catalog.change_product_tags(current_shop(), guid, lists["add"], lists["delete"]))


@route(tags, "/bootstrap", "bootstrap", ["GET"])
def bootstrap() -> Response:
    """E13: only `tag_hierarchy` is known of the real payload."""
    categories = sandbox().store.visible_tags(current_shop(), "category")
    return jsonify({"tag_hierarchy": tag_hierarchy(categories)})


def _tag_fields(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise ValidationFailed([Problem("body", 'must be {"name": ..., "type": ...}')])
    problems = [Problem(key, "unknown field") for key in set(body) - {"name", "type"}]
    name, tag_type = body.get("name"), body.get("type")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("name", "required: a non-empty string"))
    if not isinstance(tag_type, str) or not tag_type.strip():
        problems.append(Problem("type", "required: a non-empty string, e.g. variant"))
    elif tag_type == "category":
        problems.append(Problem("type", "category tags belong to the marketplace"))
    if problems:
        raise ValidationFailed(problems)
    return name, tag_type


def _guid_lists(body: Any, names: tuple[str, ...]) -> dict[str, list[str]]:
    if not isinstance(body, dict):
        raise ValidationFailed([Problem(name, "required: a list of product guids") for name in names])
    problems = [Problem(name, "required: a list of product guids") for name in names
                if not isinstance(body.get(name), list)
                or not all(isinstance(g, str) for g in body[name])]
    if problems:
        raise ValidationFailed(problems)
    return {name: body[name] for name in names}
