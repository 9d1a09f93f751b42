"""B1 authentication and the B2 error shape of the sandbox."""

from __future__ import annotations

import time

import pytest
from gwsync.sandbox.testkit import VECTOR_KEY, VECTOR_SHOP, VECTOR_TOKEN, new_test_shop, shop_token

def assert_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) >= {"code", "error", "message"}
    assert body["code"] == status
    assert body["error"].startswith(f"{status} ")
    assert body["message"]
    return body


def test_the_spec_test_vector_token_is_accepted_for_its_shop(store, client):
    store.add_shop(VECTOR_SHOP, VECTOR_KEY)
    response = client.get(f"/webshops/{VECTOR_SHOP}/tags/", headers={"Authorization": f"Bearer {VECTOR_TOKEN}"})
    assert response.status_code == 200
    assert response.get_json() == []


def test_missing_token_is_401(client):
    assert_error(client.get("/tags/"), 401)
    assert_error(client.get("/tags/", headers={"Authorization": "Basic abc"}), 401)


def test_badly_signed_token_is_401(store, client):
    shop = new_test_shop(store)
    other = new_test_shop(store)
    forged = shop_token(shop.guid, other.key)
    body = assert_error(client.get("/tags/", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert body["message"] == "Token signature is invalid"


def test_unknown_shop_and_garbage_tokens_are_401(store, client):
    shop = new_test_shop(store)
    stranger = shop_token("99999999-2222-4333-8444-555555555555", shop.key)
    assert_error(client.get("/tags/", headers={"Authorization": f"Bearer {stranger}"}), 401)
    assert_error(client.get("/tags/", headers={"Authorization": "Bearer not.a.jwt"}), 401)


@pytest.mark.parametrize("claims", [
    {"groups": ["customer"]},
    {"groups": "shopkeeper"},
    {"organization_guid": "99999999-2222-4333-8444-555555555555"},
])
def test_tokens_with_wrong_claims_are_401(store, client, claims):
    shop = new_test_shop(store)
    token = shop_token(shop.guid, shop.key, **claims)
    assert_error(client.get("/tags/", headers={"Authorization": f"Bearer {token}"}), 401)


def test_exp_is_accepted_but_an_expired_token_is_401(store, client):
    shop = new_test_shop(store)
    fresh = shop_token(shop.guid, shop.key, exp=int(time.time()) + 600, iat=int(time.time()))
    assert client.get("/tags/", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    expired = shop_token(shop.guid, shop.key, exp=int(time.time()) - 600)
    body = assert_error(client.get("/tags/", headers={"Authorization": f"Bearer {expired}"}), 401)
    assert "expired" in body["message"]


def test_path_of_another_shop_is_403(store, client):
    shop = new_test_shop(store)
    other = new_test_shop(store)
    assert_error(client.get(f"/webshops/{other.guid}/tags/", headers=shop.headers), 403)
    assert_error(client.post(f"/dashboard/webshops/{other.guid}/products", json={"products": []},
                             headers=shop.headers), 403)


def test_rotated_key_invalidates_old_tokens(store, client):
    shop = new_test_shop(store)
    old = shop.headers
    rotated = new_test_shop(store, shop.guid)  # same guid, new key: add_shop updates the key
    assert_error(client.get("/tags/", headers=old), 401)
    assert client.get("/tags/", headers=rotated.headers).status_code == 200


def test_404_and_405_have_the_error_shape(store, client):
    shop = new_test_shop(store)
    assert_error(client.get("/no/such/path", headers=shop.headers), 404)
    response = client.get(f"/dashboard/webshops/{shop.guid}/products", headers=shop.headers)
    assert_error(response, 405)
    assert "POST" in response.headers["Allow"]
    assert_error(client.delete("/tags", headers=shop.headers), 405)  # without the slash too


def test_every_path_works_with_and_without_trailing_slash(store, client):
    shop = new_test_shop(store)
    for path in ("/tags", "/tags/", f"/webshops/{shop.guid}/tags", f"/webshops/{shop.guid}/tags/",
                 "/bootstrap", "/bootstrap/"):
        assert client.get(path, headers=shop.headers).status_code == 200, path
    for path in ("/dashboard/webshop_products/_query", "/dashboard/webshop_products/_query/"):
        assert client.post(path, json={"dsl": {}}, headers=shop.headers).status_code == 200, path


def test_singular_webshop_spelling_is_not_accepted(store, client):
    shop = new_test_shop(store)
    assert_error(client.post(f"/dashboard/webshop/{shop.guid}/products", json={"products": []},
                             headers=shop.headers), 404)


def test_invalid_json_is_400(store, client):
    shop = new_test_shop(store)
    response = client.post(f"/dashboard/webshops/{shop.guid}/products", data="{not json",
                           headers={**shop.headers, "Content-Type": "application/json"})
    assert_error(response, 400)
