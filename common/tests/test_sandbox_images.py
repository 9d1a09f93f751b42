"""Image hosting in the sandbox (B11): E14 + E15 round trip, E16 copies, storage GET."""

from __future__ import annotations

import hashlib

import pytest
import requests
from gwsync.sandbox import start_in_thread
from gwsync.sandbox.testkit import TestShop, new_test_shop
from gwsync.testing.fake import serve
from werkzeug.wrappers import Request, Response

JPEG = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"


@pytest.fixture
def gateway(tmp_path):
    with start_in_thread(tmp_path / "gw.db") as server:
        yield server


@pytest.fixture
def shop(gateway) -> TestShop:
    return new_test_shop(gateway.store)


def test_upload_round_trip(gateway, shop):
    form = requests.post(f"{gateway.url}/uploads/", json={"filename": "abc.jpeg", "content_type": "image/jpeg"},
                         headers=shop.headers, timeout=5)
    assert form.status_code == 200
    answer = form.json()
    assert answer["url"] == f"{gateway.url}/storage/"
    fields = answer["fields"]
    assert fields["key"].startswith(f"{shop.guid}/") and fields["key"].endswith("-abc.jpeg")
    assert {"policy", "x-amz-signature", "x-amz-algorithm"} <= set(fields)
    stored = requests.post(answer["url"], data=fields, files={"file": ("abc.jpeg", JPEG)}, timeout=5)
    assert stored.status_code == 204
    hosted = requests.get(answer["url"] + fields["key"], timeout=5)  # url + key (spec 7.1)
    assert hosted.status_code == 200
    assert hosted.content == JPEG
    assert hosted.headers["Content-Type"] == "image/jpeg"


def test_storage_refuses_a_form_that_was_not_passed_on_whole(gateway, shop):
    answer = requests.post(f"{gateway.url}/uploads/", json={"filename": "a.png", "content_type": "image/png"},
                           headers=shop.headers, timeout=5).json()
    fields = {"key": answer["fields"]["key"]}
    refused = requests.post(answer["url"], data=fields, files={"file": ("a.png", b"x")}, timeout=5)
    assert refused.status_code == 403 and refused.json()["code"] == 403
    forged = {**answer["fields"], "key": f"{shop.guid}/other.png"}
    assert requests.post(answer["url"], data=forged, files={"file": ("a.png", b"x")}, timeout=5).status_code == 403
    no_file = requests.post(answer["url"], data=answer["fields"], timeout=5)
    assert no_file.status_code == 400


def test_uploads_needs_a_token_and_a_body(gateway, shop):
    assert requests.post(f"{gateway.url}/uploads/", json={"filename": "a"}, timeout=5).status_code == 401
    bad = requests.post(f"{gateway.url}/uploads/", json={"filename": "a"}, headers=shop.headers, timeout=5)
    assert bad.status_code == 400


def image_app(environ, start_response):
    request = Request(environ)
    if request.path == "/img/zdj%C4%99cie.png" or request.path == "/img/zdjęcie.png":
        return Response(b"PNGDATA", mimetype="image/png")(environ, start_response)
    if request.path == "/away":
        return Response(status=302, headers={"Location": "https://example.com/x.png"})(environ, start_response)
    return Response(b"missing", status=404)(environ, start_response)


def test_downloads_copies_a_loopback_image_at_once(gateway, shop):
    with serve(image_app) as source:
        url = f"{source.url}/img/zdj%C4%99cie.png"
        answer = requests.post(f"{gateway.url}/downloads/", json={"url": url}, headers=shop.headers, timeout=10)
    assert answer.status_code == 200
    digest = hashlib.sha256(url.encode()).hexdigest()
    assert answer.json() == {"url": f"{gateway.url}/storage/{shop.guid}/{digest}"}
    hosted = requests.get(answer.json()["url"], timeout=5)
    assert hosted.content == b"PNGDATA" and hosted.headers["Content-Type"] == "image/png"


def test_downloads_does_not_follow_redirects_or_store_errors(gateway, shop):
    with serve(image_app) as source:
        for path in ("/away", "/nothing.png"):
            answer = requests.post(f"{gateway.url}/downloads/", json={"url": source.url + path},
                                   headers=shop.headers, timeout=10)
            assert answer.status_code == 200
            assert requests.get(answer.json()["url"], timeout=5).status_code == 404


def test_downloads_never_reaches_out_for_public_urls(gateway, shop, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the sandbox tried to reach the network")

    monkeypatch.setattr(requests.Session, "get", no_network)
    url = "https://shop.example/gfx/zdj%C4%99cie-1.jpg"
    answer = requests.post(f"{gateway.url}/downloads", json={"url": url}, headers=shop.headers, timeout=5)
    assert answer.status_code == 200
    digest = hashlib.sha256(url.encode()).hexdigest()
    assert answer.json()["url"] == f"{gateway.url}/storage/{shop.guid}/{digest}"
    placeholder = gateway.store.get_object(f"{shop.guid}/{digest}")
    assert placeholder is not None and placeholder[1] == "image/svg+xml"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "", None, "not a url"])
def test_downloads_refuses_other_schemes(gateway, shop, url):
    answer = requests.post(f"{gateway.url}/downloads/", json={"url": url}, headers=shop.headers, timeout=5)
    assert answer.status_code == 400 and answer.json()["code"] == 400


def test_storage_get_of_a_missing_key_is_404(gateway):
    response = requests.get(f"{gateway.url}/storage/nothing/here.jpg", timeout=5)
    assert response.status_code == 404 and response.json()["code"] == 404
