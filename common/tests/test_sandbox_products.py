"""Products in the sandbox: E1 (B3, B4, B7, B8), PUT (B3.3), E4 (B5), E5/E6 (B6)."""

from __future__ import annotations

import uuid

import pytest
from gwsync.sandbox.categories import category_guid
from gwsync.sandbox.testkit import new_test_shop, sample_item, sample_product

QUERY = "/dashboard/webshop_products/_query"


def create(client, shop, items, status=200):
    response = client.post(f"/dashboard/webshops/{shop.guid}/products", json={"products": items},
                           headers=shop.headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def query(client, shop, dsl, status=200):
    response = client.post(QUERY, json={"dsl": dsl}, headers=shop.headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def product_url(shop, guid):
    return f"/organizations/{shop.guid}/products/{guid}/"


# -- E1 --------------------------------------------------------------------

def test_create_answers_stored_products_in_request_order_with_c6_shape(client, shop):
    source = {"platform": "prestashop", "shop": "nouveau.example", "product_id": "32", "variant_id": "246"}
    cats = [category_guid("Mężczyzna > Odzież > Koszule"), category_guid("Mężczyzna > Odzież")]
    items = [
        sample_item("First", stock_level=3, sku="10125154", desc="<p>Koszula</p>", tag_guids=cats,
                    images=["https://images.example/a.jpeg"],
                    data={"variants": {"size": "S"}, "source": source}),
        sample_item("Second", stock_level=0),
    ]
    stored = create(client, shop, items)["products"]
    assert [p["name"] for p in stored] == ["First", "Second"]
    first = stored[0]
    assert uuid.UUID(first["guid"]).version == 4
    assert first["owner_guid"] == shop.guid
    assert first["type"] == "default"
    assert first["sku"] == "10125154" and first["brief"] is None and stored[1]["sku"] is None
    assert first["data"]["source"] == source
    assert first["tag_guids"] == cats
    assert [t["name"] for t in first["tags"]] == ["Koszule", "Odzież"]
    assert first["base_price"] == {"currency": "zł", "vat_percent": 23, "amount": 150.0}
    unit = {"amount": 150.0, "vat": 28.05, "vat0": 121.95, "vat_percent": 23}
    assert first["price"] == {"currency": "zł", "vat_class": 23, "base": {"unit": unit}, "final": {"unit": unit}}
    assert first["stock_level"] == 3 and first["for_sale"] is True and first["revision"] == 1
    assert first["timestamps"] == {"created": first["created"], "updated": first["updated"]}
    assert "archived" not in first
    assert first["created"].endswith("+00:00")


@pytest.mark.parametrize("amount, rate, vat, vat0", [
    (1.00, 23, 0.19, 0.81),
    (10, 8, 0.74, 9.26),
    (0.05, 23, 0.01, 0.04),  # 0.00935 rounds half up to 0.01
    (100, 0, 0.0, 100.0),
])
def test_price_block_follows_b7(client, shop, amount, rate, vat, vat0):
    product = sample_product(vat=f"VAT{rate}", base_price={"currency": "zł", "vat_percent": rate, "amount": amount})
    unit = create(client, shop, [{"product": product, "stock_level": 1}])["products"][0]["price"]["final"]["unit"]
    assert (unit["amount"], unit["vat"], unit["vat0"], unit["vat_percent"]) == (amount, vat, vat0, rate)


def test_validation_is_all_or_nothing_and_names_every_bad_field(client, shop):
    items = [sample_item(f"ok {i}") for i in range(5)]
    items[1]["product"]["vat"] = "VAT23.0"
    items[3]["product"]["base_price"]["amount"] = "150.00"
    items[3]["product"]["desc"] = ""
    items[4]["stock_level"] = -1
    body = create(client, shop, items, status=400)
    assert body["code"] == 400 and body["error"] == "400 Bad Request"
    assert body["errors"] == ["products[1].product.vat", "products[3].product.desc",
                              "products[3].product.base_price.amount", "products[4].stock_level"]
    assert "products[1].product.vat" in body["message"]
    assert query(client, shop, {})["total"] == 0  # nothing was stored


@pytest.mark.parametrize("change, path", [
    ({"name": ""}, "product.name"),
    ({"name": None}, "product.name"),
    ({"vat": "23"}, "product.vat"),
    ({"vat": "VAT101"}, "product.vat"),
    ({"base_price": {"currency": "zł", "vat_percent": 23, "amount": -1}}, "product.base_price.amount"),
    ({"base_price": {"currency": "zł", "vat_percent": 123, "amount": 1}}, "product.base_price.vat_percent"),
    ({"base_price": {"currency": "zł", "vat_percent": "23", "amount": 1}}, "product.base_price.vat_percent"),
    ({"base_price": {"currency": "", "vat_percent": 23, "amount": 1}}, "product.base_price.currency"),
    ({"brief": ""}, "product.brief"),
    ({"sku": ""}, "product.sku"),
    ({"images": ["https://x.example/a.jpg", 7]}, "product.images[1]"),
    ({"images": "https://x.example/a.jpg"}, "product.images"),
    ({"tag_guids": [str(uuid.uuid4())]}, "product.tag_guids[0]"),
    ({"data": "variants"}, "product.data"),
    ({"colour": "red"}, "product.colour"),
])
def test_product_field_rules(client, shop, change, path):
    product = {**sample_product(), **change}
    body = create(client, shop, [sample_item("fine"), {"product": product, "stock_level": 1}], status=400)
    assert body["errors"] == [f"products[1].{path}"]


@pytest.mark.parametrize("item, path", [
    ({"stock_level": 1.5}, "stock_level"),
    ({"stock_level": True}, "stock_level"),
    ({"stock_level": 2**64}, "stock_level"),
    ({"for_sale": "yes"}, "for_sale"),
    ({"product_guid": str(uuid.uuid4())}, "product_guid"),
])
def test_item_field_rules(client, shop, item, path):
    body = create(client, shop, [{**sample_item(), **item}], status=400)
    assert f"products[0].{path}" in body["errors"]


def test_the_old_tags_key_is_refused(client, shop):
    product = sample_product(tags=[category_guid("Ogólne")])
    del product["tag_guids"]
    body = create(client, shop, [{"product": product}], status=400)
    assert body["errors"] == ["products[0].product.tags"]


def test_another_shops_variant_tag_is_unknown(client, store, shop):
    other = new_test_shop(store)
    tag = client.post(f"/webshops/{other.guid}/tags/", json={"name": "Shirt", "type": "variant"},
                      headers=other.headers).get_json()
    body = create(client, shop, [sample_item(tag_guids=[tag["guid"]])], status=400)
    assert body["errors"] == ["products[0].product.tag_guids[0]"]


def test_more_than_100_items_is_413(client, shop):
    body = create(client, shop, [sample_item() for _ in range(101)], status=413)
    assert body["code"] == 413
    create(client, shop, [sample_item() for _ in range(100)])


def test_body_over_6_mb_is_413(client, shop):
    item = sample_item(desc="x" * (6 * 1024 * 1024 + 10))
    assert create(client, shop, [item], status=413)["code"] == 413


def test_empty_batch_is_400(client, shop):
    assert create(client, shop, [], status=400)["errors"] == ["products"]


def test_amounts_keep_their_precision_for_the_computation(client, shop):
    # As a float this amount would be 0.125 and its tax would round up to 0.03.
    raw = ('{"products": [{"product": {"name": "n", "vat": "VAT25", '
           '"base_price": {"currency": "z", "vat_percent": 25, "amount": 0.12499999999999999999}}}]}')
    response = client.post(f"/dashboard/webshops/{shop.guid}/products", data=raw,
                           headers={**shop.headers, "Content-Type": "application/json"})
    assert response.get_json()["products"][0]["price"]["final"]["unit"]["vat"] == 0.02


# -- PUT -------------------------------------------------------------------

def test_put_replaces_the_product_and_keeps_left_out_shop_fields(client, shop):
    cat = category_guid("Ogólne")
    stored = create(client, shop, [sample_item(stock_level=5, tag_guids=[cat], sku="A-1",
                                               images=["https://i.example/1.jpg"])])["products"][0]
    new = sample_product(base_price={"currency": "zł", "vat_percent": 23, "amount": 99.99})
    response = client.put(product_url(shop, stored["guid"]), json={"product": new}, headers=shop.headers)
    assert response.status_code == 200
    updated = response.get_json()
    assert updated["guid"] == stored["guid"] and updated["revision"] == 2
    assert updated["tag_guids"] == [] and updated["images"] == [] and updated["sku"] is None  # replaced
    assert updated["stock_level"] == 5 and updated["for_sale"] is True  # kept
    assert updated["price"]["final"]["unit"]["amount"] == 99.99
    assert updated["created"] == stored["created"] and updated["updated"] > stored["updated"]
    again = client.get(product_url(shop, stored["guid"]), headers=shop.headers).get_json()
    assert again == updated


def test_put_answers_the_products_own_tags_expanded(client, shop):
    stored = create(client, shop, [sample_item(stock_level=5)])["products"][0]
    cats = [category_guid("Mężczyzna > Odzież > Koszule"), category_guid("Ogólne")]
    new = sample_product(tag_guids=cats)
    updated = client.put(product_url(shop, stored["guid"]), json={"product": new}, headers=shop.headers).get_json()
    assert updated["tag_guids"] == cats and [t["name"] for t in updated["tags"]] == ["Koszule", "Ogólne"]


def test_put_changes_shop_fields_and_accepts_a_bare_product(client, shop):
    guid = create(client, shop, [sample_item(stock_level=5)])["products"][0]["guid"]
    item = {"product": sample_product(), "stock_level": 0, "for_sale": False}
    assert client.put(product_url(shop, guid), json=item, headers=shop.headers).get_json()["stock_level"] == 0
    bare = {**sample_product("Renamed"), "stock_level": 2}
    updated = client.put(product_url(shop, guid).rstrip("/"), json=bare, headers=shop.headers).get_json()
    got = (updated["name"], updated["stock_level"], updated["for_sale"], updated["revision"])
    assert got == ("Renamed", 2, False, 3)


def test_put_accepts_a_stored_product_echoed_back(client, shop):
    stored = create(client, shop, [sample_item(tag_guids=[category_guid("Ogólne")])])["products"][0]
    response = client.put(product_url(shop, stored["guid"]), json=stored, headers=shop.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["tag_guids"] == stored["tag_guids"]


def test_put_validation_errors_name_the_field(client, shop):
    guid = create(client, shop, [sample_item()])["products"][0]["guid"]
    bad = {"product": sample_product(vat="VAT 23"), "stock_level": -2}
    body = client.put(product_url(shop, guid), json=bad, headers=shop.headers).get_json()
    assert body["code"] == 400 and body["errors"] == ["product.vat", "stock_level"]
    assert client.get(product_url(shop, guid), headers=shop.headers).get_json()["revision"] == 1


def test_products_of_another_shop_are_not_found(client, store, shop):
    other = new_test_shop(store)
    guid = create(client, other, [sample_item()])["products"][0]["guid"]
    assert client.get(product_url(shop, guid), headers=shop.headers).status_code == 404
    response = client.put(product_url(shop, guid), json={"product": sample_product()}, headers=shop.headers)
    assert response.status_code == 404
    assert client.delete(product_url(shop, guid), headers=shop.headers).status_code == 404


# -- E5 / E6 ---------------------------------------------------------------

LIVE = {"bool": {"must_not": [{"exists": {"field": "archived"}}]}}


def test_archive_hides_from_the_live_query_and_put_archived_false_brings_it_back(client, shop):
    guids = [p["guid"] for p in create(client, shop, [sample_item("a"), sample_item("b")])["products"]]
    response = client.delete(f"/dashboard/webshops/{shop.guid}/products/{guids[0]}/", headers=shop.headers)
    assert response.status_code == 204
    assert [p["guid"] for p in query(client, shop, {"query": LIVE})["products"]] == [guids[1]]
    archived = client.get(product_url(shop, guids[0]), headers=shop.headers).get_json()
    assert archived["archived"] and archived["revision"] == 2
    # archiving again changes nothing
    client.delete(f"/dashboard/webshops/{shop.guid}/products/{guids[0]}", headers=shop.headers)
    assert client.get(product_url(shop, guids[0]), headers=shop.headers).get_json()["revision"] == 2
    item = {"product": sample_product("a"), "archived": False}
    back = client.put(product_url(shop, guids[0]), json=item, headers=shop.headers).get_json()
    assert "archived" not in back
    assert query(client, shop, {"query": LIVE})["total"] == 2


def test_put_without_archived_keeps_the_product_archived(client, shop):
    guid = create(client, shop, [sample_item()])["products"][0]["guid"]
    client.delete(f"/dashboard/webshops/{shop.guid}/products/{guid}/", headers=shop.headers)
    updated = client.put(product_url(shop, guid), json={"product": sample_product()}, headers=shop.headers)
    assert "archived" in updated.get_json()


def test_delete_removes_for_good(client, shop):
    guid = create(client, shop, [sample_item()])["products"][0]["guid"]
    assert client.delete(product_url(shop, guid), headers=shop.headers).status_code == 204
    assert client.get(product_url(shop, guid), headers=shop.headers).status_code == 404
    assert client.delete(product_url(shop, guid), headers=shop.headers).status_code == 404
    assert client.delete(f"/dashboard/webshops/{shop.guid}/products/{guid}/",
                         headers=shop.headers).status_code == 404


# -- E4 --------------------------------------------------------------------

def test_query_pages_through_everything_with_from_and_size(client, shop):
    for batch in range(3):
        create(client, shop, [sample_item(f"p{batch}-{i}") for i in range(100)])
    seen, start = [], 0
    sort = [{"timestamps.created": "desc"}, {"guid": "asc"}]
    while True:
        page = query(client, shop, {"from": start, "size": 100, "sort": sort})
        assert page["total"] == 300
        seen += [p["guid"] for p in page["products"]]
        if len(page["products"]) < 100:
            break
        start += 100
    assert len(seen) == len(set(seen)) == 300


def test_query_view_has_shop_fields_and_finds_by_source_identity(client, shop):
    source = {"platform": "prestashop", "shop": "s", "product_id": "32", "variant_id": None}
    create(client, shop, [sample_item("a", data={"source": source}), sample_item("b")])
    dsl = {"query": {"bool": {"must": [
        {"match": {"owner_guid": shop.guid}},
        {"term": {"data.source.product_id": "32"}},
        {"term": {"data.source.platform": "prestashop"}},
    ], "must_not": [{"exists": {"field": "archived"}}]}}}
    page = query(client, shop, dsl)
    assert page["total"] == 1
    view = page["products"][0]
    assert view["name"] == "a" and view["stock_level"] == 3 and view["for_sale"] is True
    assert "archived" not in view


def test_query_is_scoped_to_the_token_shop(client, store, shop):
    other = new_test_shop(store)
    create(client, other, [sample_item("foreign")])
    create(client, shop, [sample_item("mine")])
    page = query(client, shop, {"query": {"match": {"owner_guid": other.guid}}})
    assert page == {"products": [], "total": 0}
    assert [p["name"] for p in query(client, shop, {})["products"]] == ["mine"]


def test_query_limits(client, shop):
    body = query(client, shop, {"from": 9950, "size": 100}, status=400)
    assert body["code"] == 400 and "10000" in body["message"]
    assert query(client, shop, {"size": 101}, status=400)["code"] == 400
    assert query(client, shop, {"query": {"wildcard": {"name": "x*"}}}, status=400)["code"] == 400
    response = client.post(QUERY, json={"query": {}}, headers=shop.headers)
    assert response.status_code == 400


def test_query_sees_changes_immediately(client, shop):
    guid = create(client, shop, [sample_item(stock_level=1)])["products"][0]["guid"]
    assert query(client, shop, {})["products"][0]["stock_level"] == 1
    client.put(product_url(shop, guid), json={"product": sample_product(), "stock_level": 9}, headers=shop.headers)
    assert query(client, shop, {"query": {"term": {"stock_level": 9}}})["total"] == 1
