"""Fault injection: 429, 5xx, latency and answers lost after commit (B12)."""

from __future__ import annotations

import time

import pytest
import requests
from gwsync.sandbox import Faults, Store, create_app, start_in_thread
from gwsync.sandbox.testkit import new_test_shop, sample_item, sample_product

QUERY = "/dashboard/webshop_products/_query"


@pytest.fixture
def gateway(tmp_path):
    with start_in_thread(tmp_path / "gw.db") as server:
        yield server


@pytest.fixture
def shop(gateway):
    return new_test_shop(gateway.store)


def get_tags(gateway, shop):
    return requests.get(f"{gateway.url}/tags/", headers=shop.headers, timeout=5)


def live_total(gateway, shop) -> int:
    response = requests.post(gateway.url + QUERY, json={"dsl": {}}, headers=shop.headers, timeout=5)
    return response.json()["total"]


def test_throttle_next_answers_429_with_retry_after(gateway, shop):
    gateway.faults.configure(throttle_next=2, retry_after=3)
    for _ in range(2):
        response = get_tags(gateway, shop)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json() == {"code": 429, "error": "429 Too Many Requests", "message": "Too many requests"}
    assert get_tags(gateway, shop).status_code == 200


def test_fail_next_answers_5xx_before_doing_anything(gateway, shop):
    gateway.faults.configure(fail_next=1, error_status=503)
    response = requests.post(f"{gateway.url}/dashboard/webshops/{shop.guid}/products",
                             json={"products": [sample_item()]}, headers=shop.headers, timeout=5)
    assert response.status_code == 503 and response.json()["code"] == 503
    assert live_total(gateway, shop) == 0


def test_rates_repeat_with_the_same_seed(gateway, shop):
    def statuses() -> list[int]:
        gateway.faults.configure(error_rate=0.5, seed=7)
        return [get_tags(gateway, shop).status_code for _ in range(16)]

    first = statuses()
    assert set(first) == {200, 500}
    assert statuses() == first


def test_fail_paths_narrows_faults(gateway, shop):
    gateway.faults.configure(fail_next=5, fail_paths=r"^/tags")
    assert requests.get(f"{gateway.url}/bootstrap", headers=shop.headers, timeout=5).status_code == 200
    assert get_tags(gateway, shop).status_code == 500


def test_latency_delays_requests(gateway, shop):
    gateway.faults.configure(latency=0.3)
    started = time.monotonic()
    assert get_tags(gateway, shop).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_dropped_create_commits_but_the_client_sees_a_connection_error(gateway, shop):
    gateway.faults.configure(drop_next=1)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{gateway.url}/dashboard/webshops/{shop.guid}/products",
                      json={"products": [sample_item()]}, headers=shop.headers, timeout=5)
    assert live_total(gateway, shop) == 1  # committed all the same
    entry = gateway.store.journal(route="create_products")[-1]
    assert entry["fault"] == "drop:reset" and entry["status"] == 200
    ok = requests.post(f"{gateway.url}/dashboard/webshops/{shop.guid}/products",
                       json={"products": [sample_item()]}, headers=shop.headers, timeout=5)
    assert ok.status_code == 200  # only the next one was dropped


def test_dropped_put_in_504_mode(gateway, shop):
    guid = requests.post(f"{gateway.url}/dashboard/webshops/{shop.guid}/products",
                         json={"products": [sample_item(stock_level=1)]}, headers=shop.headers,
                         timeout=5).json()["products"][0]["guid"]
    gateway.faults.configure(drop_next=1, drop_mode="504")
    url = f"{gateway.url}/organizations/{shop.guid}/products/{guid}/"
    response = requests.put(url, json={"product": sample_product(), "stock_level": 7}, headers=shop.headers, timeout=5)
    assert response.status_code == 504 and response.json()["code"] == 504
    assert requests.get(url, headers=shop.headers, timeout=5).json()["stock_level"] == 7


def test_failed_writes_do_not_use_up_drops(gateway, shop):
    gateway.faults.configure(drop_next=1, drop_mode="504")
    bad = requests.post(f"{gateway.url}/dashboard/webshops/{shop.guid}/products",
                        json={"products": [{"product": {}}]}, headers=shop.headers, timeout=5)
    assert bad.status_code == 400
    assert get_tags(gateway, shop).status_code == 200  # reads are never dropped
    assert gateway.faults.settings().drop_next == 1


def test_faults_over_http_and_sandbox_routes_are_never_faulted(gateway, shop):
    response = requests.post(f"{gateway.url}/_sandbox/faults", json={"fail_next": 100}, timeout=5)
    assert response.status_code == 200 and response.json()["fail_next"] == 100
    assert get_tags(gateway, shop).status_code == 500
    assert requests.get(f"{gateway.url}/_sandbox/faults", timeout=5).json()["fail_next"] == 99
    bad = requests.post(f"{gateway.url}/_sandbox/faults", json={"error_rate": 2}, timeout=5)
    assert bad.status_code == 400 and "error_rate" in bad.json()["message"]
    assert requests.post(f"{gateway.url}/_sandbox/faults", json={"nope": 1}, timeout=5).status_code == 400
    assert requests.delete(f"{gateway.url}/_sandbox/faults", timeout=5).status_code == 204
    assert get_tags(gateway, shop).status_code == 200
    faults = requests.get(f"{gateway.url}/_sandbox/stats", timeout=5).json()["faults"]
    assert faults == {"error": 1}


def test_test_client_falls_back_to_504_for_reset_drops(tmp_path):
    faults = Faults(drop_next=1)
    store = Store(tmp_path / "gw.db")
    client = create_app(store, faults=faults).test_client()
    shop = new_test_shop(store)
    response = client.post(f"/dashboard/webshops/{shop.guid}/products", json={"products": [sample_item()]},
                           headers=shop.headers)
    assert response.status_code == 504
    assert store.journal()[-1]["fault"] == "drop:504"
    store.close()


def test_faults_object_validates_settings():
    with pytest.raises(ValueError):
        Faults(drop_mode="explode")
    with pytest.raises(ValueError):
        Faults(fail_paths="(")
    faults = Faults(throttle_next=1)
    faults.update(latency=0.1)
    assert faults.settings().throttle_next == 1 and faults.settings().latency == 0.1


def create(gateway, shop, **item):
    return requests.post(f"{gateway.url}/dashboard/webshops/{shop.guid}/products",
                         json={"products": [sample_item(**item)]}, headers=shop.headers, timeout=5)


def test_index_lag_hides_new_writes_from_search_until_the_clock_passes(tmp_path):
    now = [1000.0]
    with start_in_thread(tmp_path / "gw.db", faults=Faults(clock=lambda: now[0])) as gateway:
        shop = new_test_shop(gateway.store)
        gateway.faults.configure(index_lag_ms=2000)
        guid = create(gateway, shop, stock_level=1).json()["products"][0]["guid"]
        assert live_total(gateway, shop) == 0
        url = f"{gateway.url}/organizations/{shop.guid}/products/{guid}/"
        assert requests.get(url, headers=shop.headers, timeout=5).status_code == 200  # reads by guid see it
        now[0] += 2.5
        assert live_total(gateway, shop) == 1
        requests.put(url, json={"product": sample_product(), "stock_level": 9}, headers=shop.headers, timeout=5)
        hits = requests.post(gateway.url + QUERY, json={"dsl": {}}, headers=shop.headers, timeout=5).json()
        assert hits["products"][0]["stock_level"] == 1  # the index still shows the old version
        now[0] += 2.5
        hits = requests.post(gateway.url + QUERY, json={"dsl": {}}, headers=shop.headers, timeout=5).json()
        assert hits["products"][0]["stock_level"] == 9


def test_drop_first_loses_the_first_answer_of_each_write_route(gateway, shop):
    gateway.faults.configure(drop_first=True, drop_mode="504")
    assert create(gateway, shop).status_code == 504
    assert create(gateway, shop).status_code == 200
    tag = requests.post(f"{gateway.url}/webshops/{shop.guid}/tags/", json={"name": "T", "type": "variant"},
                        headers=shop.headers, timeout=5)
    assert tag.status_code == 504 and live_total(gateway, shop) == 2
    grant = requests.post(f"{gateway.url}/uploads/", json={"filename": "a.png", "content_type": "image/png"},
                          headers=shop.headers, timeout=5)
    assert grant.status_code == 504


def test_rate_limit_answers_429_beyond_the_requests_per_second(gateway, shop):
    gateway.faults.configure(rate_limit=3)
    statuses = [get_tags(gateway, shop).status_code for _ in range(20)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]


def test_serve_refuses_a_public_interface_without_the_flag(tmp_path):
    from click.testing import CliRunner
    from gwsync.sandbox.__main__ import is_loopback_host, main

    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "gw.db"), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--public" in result.output
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("localhost")
    assert not is_loopback_host("192.168.1.10")


def test_downloads_refuse_urls_that_are_not_percent_encoded(gateway, shop):
    raw = requests.post(f"{gateway.url}/downloads/", json={"url": "https://cdn.example/zdjęcie główne.jpg"},
                        headers=shop.headers, timeout=5)
    assert raw.status_code == 400 and "percent-encode" in raw.json()["message"]
    encoded = requests.post(f"{gateway.url}/downloads/",
                            json={"url": "https://cdn.example/zdj%C4%99cie%20g%C5%82%C3%B3wne.jpg"},
                            headers=shop.headers, timeout=5)
    assert encoded.status_code == 200


def test_a_rate_limit_admits_its_burst_then_answers_429_until_time_refills_it(tmp_path):
    now = [0.0]
    faults = Faults(clock=lambda: now[0])
    faults.configure(rate_limit=4, retry_after=1)
    assert [faults.before_request("/tags/") for _ in range(4)] == [None] * 4  # one second's worth
    refused = faults.before_request("/tags/")
    assert refused is not None and refused.status == 429 and refused.headers == {"Retry-After": "1"}
    assert faults.before_request("/storage/shop/key") is None  # storage (S3) is not the Gateway API
    now[0] += 0.5  # half a second brings back two requests' worth
    assert [faults.before_request("/tags/") is None for _ in range(3)] == [True, True, False]
    assert (faults.rate_figures.admitted, faults.rate_figures.refused) == (6, 2)
    with pytest.raises(ValueError, match="rate_limit"):
        faults.configure(rate_limit=-1)
