"""Product endpoints: E1 create, PUT update, read, E4 query, E5 archive, E6 delete."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .context import current_shop, json_body, route, sandbox
from .validation import validate_batch, validate_update

products = Blueprint("products", __name__)


@route(products, "/dashboard/webshops/<shop>/products", "create_products", ["POST"])
def create_products(shop: str) -> Response:
    """E1 (B3.1, B4): all-or-nothing batch; stored products in request order."""
    box = sandbox()
    items = validate_batch(json_body(decimals=True), box.catalog.known_tag_guids(current_shop()))
    return jsonify({"products": box.catalog.create_products(current_shop(), items)})


@route(products, "/organizations/<shop>/products/<guid>", "update_product", ["PUT"])
def update_product(shop: str, guid: str) -> Response:
    """B3.3: replace the product; left-out stock_level/for_sale/archived keep their value."""
    box = sandbox()
    item = validate_update(json_body(decimals=True), box.catalog.known_tag_guids(current_shop()))
    return jsonify(box.catalog.update_product(current_shop(), guid, item))


@route(products, "/organizations/<shop>/products/<guid>", "read_product", ["GET"])
def read_product(shop: str, guid: str) -> Response:
    return jsonify(sandbox().catalog.get_view(current_shop(), guid))


@route(products, "/organizations/<shop>/products/<guid>", "delete_product", ["DELETE"])
def delete_product(shop: str, guid: str) -> Response:
    """E6: delete for good (tests and explicit cleanup only, B6)."""
    sandbox().catalog.delete_product(current_shop(), guid)
    return Response(status=204)


@route(products, "/dashboard/webshops/<shop>/products/<guid>", "archive_product", ["DELETE"])
def archive_product(shop: str, guid: str) -> Response:
    """E5: archive (B6)."""
    sandbox().catalog.archive_product(current_shop(), guid)
    return Response(status=204)


@route(products, "/dashboard/webshop_products/_query", "query_products", ["POST"])
def query_products() -> Response:
    """E4 (B5): always limited to the token's shop, whatever the query says."""
    page, total = sandbox().catalog.query(current_shop(), json_body())
    return jsonify({"products": page, "total": total})
