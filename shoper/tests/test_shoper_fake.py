"""The fake answers in Shoper's documented shapes (what the connector is tested against)."""

import requests

from gwsync_shoper.fake import LOGIN, PASSWORD, ShoperFake


def session_for(fake):
    session = requests.Session()
    token = session.post(fake.url + "/webapi/rest/auth", auth=(LOGIN, PASSWORD)).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def test_list_shape_count_string_pages_int_one_based():
    with ShoperFake.running(60, rate_limit=False) as fake:
        body = session_for(fake).get(fake.url + "/webapi/rest/products", params={"limit": 50, "page": 2}).json()
        assert body["count"] == "60" and body["pages"] == 2 and body["page"] == 2 and len(body["list"]) == 10
        assert isinstance(body["list"][0]["product_id"], str)
        assert "pl_PL" in body["list"][0]["translations"]


def test_limit_above_50_silently_becomes_10_and_a_page_past_the_end_is_404():
    with ShoperFake.running(60, rate_limit=False) as fake:
        session = session_for(fake)
        body = session.get(fake.url + "/webapi/rest/products", params={"limit": 100}).json()
        assert len(body["list"]) == 10 and body["pages"] == 6
        answer = session.get(fake.url + "/webapi/rest/products", params={"limit": 50, "page": 3})
        assert answer.status_code == 404 and answer.json()["error"] == "invalid_request"


def test_auth_failure_and_missing_token_bodies():
    with ShoperFake.running(rate_limit=False) as fake:
        wrong = requests.post(fake.url + "/webapi/rest/auth", auth=(LOGIN, "nope"))
        assert wrong.status_code == 401 and wrong.json()["error"] == "auth_failure"
        anonymous = requests.get(fake.url + "/webapi/rest/taxes")
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized_client"


def test_bucket_headers_on_every_answer_and_bulk_limit():
    with ShoperFake.running(5) as fake:
        session = session_for(fake)
        answer = session.get(fake.url + "/webapi/rest/taxes")
        assert {"X-Shop-Api-Limit", "X-Shop-Api-Bandwidth", "X-Shop-Api-Calls"} <= set(answer.headers)
        calls = [{"id": str(n), "method": "GET", "path": "/webapi/rest/taxes"} for n in range(26)]
        assert session.post(fake.url + "/webapi/rest/bulk", json=calls).status_code == 400
        bulk = session.post(fake.url + "/webapi/rest/bulk", json=calls[:2]).json()
        assert bulk["errors"] is False and [i["code"] for i in bulk["items"]] == [200, 200]


def test_images_are_served_with_their_extension():
    with ShoperFake.running(20, rate_limit=False) as fake:
        row = next(r for r in fake.shop.images.values() if r["extension"] == "png")
        png = requests.get(f"{fake.url}/userdata/public/gfx/{row['unic_name']}.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert requests.get(f"{fake.url}/userdata/public/gfx/{row['unic_name']}.jpg").status_code == 404
