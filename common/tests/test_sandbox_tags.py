"""Tags in the sandbox: E7-E13 (spec 6, B9, B10, Appendix A)."""

from __future__ import annotations

import json
import uuid

import pytest
from gwsync.sandbox.categories import APPENDIX_A_PATHS, CATEGORY_NAMESPACE, MARKETPLACE_ORG, category_guid
from gwsync.sandbox.testkit import new_test_shop, sample_item


def post_tag(client, shop, name, tag_type="variant", path=None):
    return client.post(path or f"/webshops/{shop.guid}/tags/", json={"name": name, "type": tag_type},
                       headers=shop.headers)


def test_create_variant_tag_answers_201_with_a_uuid5_guid(client, shop):
    response = post_tag(client, shop, "Linen shirt")
    assert response.status_code == 201
    tag = response.get_json()
    expected = str(uuid.uuid5(uuid.UUID(shop.guid), "variant:Linen shirt"))
    assert tag == {
        "guid": expected, "name": "Linen shirt", "type": "variant", "owner": shop.guid,
        "parent_guid": expected, "subtags": [], "product_guids": [], "item_count": 0,
        "active": False, "images": [], "data": None, "duration": None,
    }


def test_duplicate_tag_answers_the_exact_409_of_section_6_2(client, shop):
    guid = post_tag(client, shop, "Linen shirt").get_json()["guid"]
    response = post_tag(client, shop, "Linen shirt")
    assert response.status_code == 409
    expected = {"code": 409, "error": "409 Conflict", "message": f'"Tag ({guid}) already exists"'}
    assert response.get_json() == expected
    assert response.get_data(as_text=True) == json.dumps(expected)


def test_uniqueness_is_per_owner_type_and_case_sensitive_name(client, store, shop):
    assert post_tag(client, shop, "Shirt").status_code == 201
    assert post_tag(client, shop, "shirt").status_code == 201
    assert post_tag(client, shop, "Shirt", tag_type="collection").status_code == 201
    other = new_test_shop(store)
    assert post_tag(client, other, "Shirt").status_code == 201
    assert post_tag(client, shop, "Koszule").status_code == 201  # a category's name is no conflict


def test_post_tags_behaves_like_e9_for_the_token_shop(client, shop):
    first = post_tag(client, shop, "Phone S6", path="/tags/")
    assert first.status_code == 201 and first.get_json()["owner"] == shop.guid
    assert post_tag(client, shop, "Phone S6").status_code == 409


@pytest.mark.parametrize("body", [{"name": "", "type": "variant"}, {"name": "x"},
                                  {"name": "x", "type": "category"}, {"name": "x", "type": "variant", "z": 1}])
def test_bad_tag_bodies_are_400(client, shop, body):
    response = client.post(f"/webshops/{shop.guid}/tags/", json=body, headers=shop.headers)
    assert response.status_code == 400 and response.get_json()["code"] == 400


def test_category_tree_holds_every_appendix_path_with_fixed_guids(client, shop):
    tags = client.get("/tags/?type=category", headers=shop.headers).get_json()
    by_guid = {t["guid"]: t for t in tags}
    assert all(t["type"] == "category" and t["owner"] == str(MARKETPLACE_ORG) for t in tags)

    def path_of(tag):
        names = [tag["name"]]
        while tag["parent_guid"] != tag["guid"]:
            tag = by_guid[tag["parent_guid"]]
            names.append(tag["name"])
        return " > ".join(reversed(names))

    paths = {path_of(t) for t in tags}
    assert set(APPENDIX_A_PATHS) <= paths
    assert "Kobieta > Akcesoria" in paths  # intermediate node
    leaf = by_guid[category_guid("Kobieta > Akcesoria > Portfele i etui")]
    assert leaf["guid"] == str(uuid.uuid5(CATEGORY_NAMESPACE, "Kobieta > Akcesoria > Portfele i etui"))
    same_name = [t for t in tags if t["name"] == "Portfele i etui"]
    assert len(same_name) == 2 and len({t["parent_guid"] for t in same_name}) == 2
    root = by_guid[category_guid("Kobieta")]
    assert category_guid("Kobieta > Obuwie") in root["subtags"]


def test_tags_lists_categories_and_own_tags_but_never_another_shops(client, store, shop):
    other = new_test_shop(store)
    post_tag(client, other, "Foreign")
    mine = post_tag(client, shop, "Mine").get_json()["guid"]
    everything = client.get("/tags/", headers=shop.headers).get_json()
    assert mine in {t["guid"] for t in everything}
    assert "Foreign" not in {t["name"] for t in everything}
    variants = client.get("/tags?type=variant", headers=shop.headers).get_json()
    assert [t["guid"] for t in variants] == [mine]
    own = client.get(f"/webshops/{shop.guid}/tags/", headers=shop.headers).get_json()
    assert [t["guid"] for t in own] == [mine]


def test_bootstrap_serves_the_same_tree(client, shop):
    tree = client.get("/bootstrap", headers=shop.headers).get_json()["tag_hierarchy"]
    men = next(node for node in tree if node["name"] == "Mężczyzna")
    assert men["guid"] == category_guid("Mężczyzna")
    clothes = next(node for node in men["children"] if node["name"] == "Odzież")
    assert {"guid": category_guid("Mężczyzna > Odzież > Koszule"), "name": "Koszule", "children": []} \
        in clothes["children"]


def test_tag_objects_count_the_shops_products(client, shop):
    tag = post_tag(client, shop, "Shirt").get_json()["guid"]
    items = [sample_item("Shirt S", tag_guids=[tag]), sample_item("Shirt M", tag_guids=[tag])]
    guids = [p["guid"] for p in client.post(f"/dashboard/webshops/{shop.guid}/products",
                                            json={"products": items}, headers=shop.headers).get_json()["products"]]
    listed = client.get(f"/webshops/{shop.guid}/tags/", headers=shop.headers).get_json()[0]
    assert listed["product_guids"] == guids and listed["item_count"] == 2 and listed["active"] is True


def test_product_tags_adds_and_removes(client, store, shop):
    tag = post_tag(client, shop, "Set").get_json()["guid"]
    guids = [p["guid"] for p in client.post(f"/dashboard/webshops/{shop.guid}/products",
                                            json={"products": [sample_item("a"), sample_item("b")]},
                                            headers=shop.headers).get_json()["products"]]
    response = client.put(f"/product_tags/{tag}", json={"add": guids, "delete": []}, headers=shop.headers)
    assert response.status_code == 200 and response.get_json()["product_guids"] == guids
    response = client.put(f"/product_tags/{tag}/", json={"add": [], "delete": [guids[0]]}, headers=shop.headers)
    assert response.get_json()["product_guids"] == [guids[1]]
    product = client.get(f"/organizations/{shop.guid}/products/{guids[1]}/", headers=shop.headers).get_json()
    assert product["tag_guids"] == [tag] and product["revision"] == 2


def test_product_tags_rejects_unknown_or_foreign_products_and_missing_lists(client, store, shop):
    other = new_test_shop(store)
    foreign = client.post(f"/dashboard/webshops/{other.guid}/products", json={"products": [sample_item()]},
                          headers=other.headers).get_json()["products"][0]["guid"]
    tag = post_tag(client, shop, "Set").get_json()["guid"]
    response = client.put(f"/product_tags/{tag}", json={"add": [foreign, str(uuid.uuid4())], "delete": []},
                          headers=shop.headers)
    assert response.status_code == 400 and response.get_json()["errors"] == ["add[0]", "add[1]"]
    response = client.put(f"/product_tags/{tag}", json={"add": []}, headers=shop.headers)
    assert response.status_code == 400 and response.get_json()["errors"] == ["delete"]


def test_delete_tag_answers_204_and_detaches_it(client, store, shop):
    tag = post_tag(client, shop, "Gone").get_json()["guid"]
    guid = client.post(f"/dashboard/webshops/{shop.guid}/products",
                       json={"products": [sample_item(tag_guids=[tag])]},
                       headers=shop.headers).get_json()["products"][0]["guid"]
    assert client.delete(f"/webshops/{shop.guid}/tags/{tag}/", headers=shop.headers).status_code == 204
    product = client.get(f"/organizations/{shop.guid}/products/{guid}", headers=shop.headers).get_json()
    assert product["tag_guids"] == [] and product["tags"] == []
    assert client.delete(f"/webshops/{shop.guid}/tags/{tag}/", headers=shop.headers).status_code == 404
    assert client.delete(f"/webshops/{shop.guid}/tags/{category_guid('Ogólne')}/",
                         headers=shop.headers).status_code == 404
    assert post_tag(client, shop, "Gone").status_code == 201  # the name is free again
