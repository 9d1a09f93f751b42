"""Running the sandbox: CLI, threaded server, journal and stats (B15), HTML pages."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from gwsync.sandbox import Store, start_in_thread
from gwsync.sandbox.__main__ import main
from gwsync.sandbox.categories import category_guid
from gwsync.sandbox.testkit import new_test_shop, sample_item, shop_token

SRC = Path(__file__).resolve().parents[1] / "src"


def test_new_shop_prints_env_lines_and_registers_the_shop(tmp_path):
    db = tmp_path / "demo" / "gw.db"
    result = CliRunner().invoke(main, ["new-shop", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    assert set(lines) == {"GATEWAY_SHOP_GUID", "GATEWAY_SIGNING_KEY"}
    assert len(base64.b64decode(lines["GATEWAY_SIGNING_KEY"], validate=True)) == 32
    store = Store(db)
    assert store.shop_key(lines["GATEWAY_SHOP_GUID"]) == base64.b64decode(lines["GATEWAY_SIGNING_KEY"])
    store.close()


def test_cli_help_and_bad_shop_option(tmp_path):
    runner = CliRunner()
    for args in (["--help"], ["serve", "--help"], ["new-shop", "--help"]):
        assert runner.invoke(main, args).exit_code == 0
    result = runner.invoke(main, ["serve", "--db", str(tmp_path / "x.db"), "--shop", "no-colon"])
    assert result.exit_code == 2


def test_serve_command_serves_until_sigterm(tmp_path):
    guid, key = str(uuid.uuid4()), base64.b64encode(os.urandom(32)).decode()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gwsync.sandbox", "serve", "--db", str(tmp_path / "gw.db"), "--port", "0",
         "--shop", f"{guid}:{key}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        token = shop_token(guid, key)
        response = requests.get(f"{url}/webshops/{guid}/tags/", headers={"Authorization": f"Bearer {token}"},
                                timeout=5)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_start_in_thread_registers_shops_and_stops(tmp_path):
    guid, key = str(uuid.uuid4()), base64.b64encode(os.urandom(32)).decode()
    server = start_in_thread(tmp_path / "gw.db", shops={guid: key})
    try:
        token = shop_token(guid, key)
        assert requests.get(f"{server.url}/tags/", headers={"Authorization": f"Bearer {token}"},
                            timeout=5).status_code == 200
    finally:
        server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/tags/", timeout=1)


def test_wait_idle_returns_once_a_request_left_by_a_dead_client_has_committed(tmp_path):
    guid, key = str(uuid.uuid4()), base64.b64encode(os.urandom(32)).decode()
    with start_in_thread(tmp_path / "gw.db", shops={guid: key}) as server:
        server.faults.update(latency=1.0)
        headers = {"Authorization": f"Bearer {shop_token(guid, key)}"}
        with pytest.raises(requests.Timeout):  # the client gives up; the server goes on
            requests.post(f"{server.url}/dashboard/webshops/{guid}/products", headers=headers,
                          json={"products": [sample_item("late")]}, timeout=(5, 0.1))
        assert not server.wait_idle(timeout=0.01)
        assert server.wait_idle(timeout=10)
        assert server.store.counters()["create_products"]["requests"] == 1


def test_add_shop_is_idempotent_and_checks_its_input():
    store = Store(":memory:")
    guid = str(uuid.uuid4()).upper()
    first = base64.b64encode(os.urandom(32)).decode()
    assert store.add_shop(guid, first) == guid.lower()
    store.add_shop(guid, first)
    assert len(store.shops()) == 1
    second = base64.b64encode(os.urandom(32)).decode()
    store.add_shop(guid, second)
    assert store.shop_key(guid) == base64.b64decode(second)
    with pytest.raises(ValueError):
        store.add_shop(guid, "not base64!")
    with pytest.raises(ValueError):
        store.add_shop("not-a-guid", first)
    store.close()


# -- journal and stats -------------------------------------------------------

def test_journal_records_bodies_and_stats_count_per_route(store, client):
    shop = new_test_shop(store)
    client.post(f"/dashboard/webshops/{shop.guid}/products", json={"products": [sample_item("a")]},
                headers=shop.headers)
    client.post("/dashboard/webshop_products/_query?pretty=1", json={"dsl": {"size": 5}}, headers=shop.headers)
    client.get("/tags/")  # 401
    entries = client.get("/_sandbox/journal").get_json()["entries"]
    assert [(e["method"], e["route"], e["status"]) for e in entries] == [
        ("POST", "create_products", 200), ("POST", "query_products", 200), ("GET", "list_tags", 401)]
    assert entries[0]["body"]["products"][0]["product"]["base_price"]["amount"] == 150.0
    assert entries[0]["shop"] == shop.guid
    assert entries[1]["query"] == "pretty=1"
    stats = client.get("/_sandbox/stats").get_json()
    assert stats["routes"] == {"create_products": 1, "query_products": 1, "list_tags": 1}
    assert stats["requests"] == 3 and stats["writes"] == 1 and stats["errors"] == {"list_tags": 1}
    assert client.post("/_sandbox/reset-stats").status_code == 204
    assert client.get("/_sandbox/stats").get_json()["requests"] == 0
    assert store.journal() == []


def test_journal_truncates_huge_bodies(store, client):
    shop = new_test_shop(store)
    client.post(f"/dashboard/webshops/{shop.guid}/products",
                json={"products": [sample_item(desc="x" * 2_000_000)]}, headers=shop.headers)
    entry = store.journal()[-1]
    assert entry["body_truncated"] is True and len(entry["body"]) <= 1_000_000


def test_sandbox_can_register_shops_over_http(client):
    created = client.post("/_sandbox/shops", json={}).get_json()
    assert len(base64.b64decode(created["key"])) == 32
    listed = client.get("/_sandbox/shops").get_json()["shops"]
    assert [s["guid"] for s in listed] == [created["guid"]]


# -- HTML pages ----------------------------------------------------------------

def test_pages_show_shops_and_products_the_way_a_vendor_checks_them(store, client):
    shop = new_test_shop(store)
    tag = client.post(f"/webshops/{shop.guid}/tags/", json={"name": "Koszula <b>", "type": "variant"},
                      headers=shop.headers).get_json()["guid"]
    koszule = category_guid("Mężczyzna > Odzież > Koszule")
    source = {"platform": "shoper", "shop": "demo.example", "product_id": "32", "variant_id": "7"}
    items = [
        sample_item("Koszula S", sku="K-S", tag_guids=[koszule, category_guid("Mężczyzna"), tag],
                    images=["http://127.0.0.1/storage/x.jpg", "javascript:alert(1)"],
                    data={"variants": {"size": "S"}, "source": source}),
        sample_item("Koszula M", tag_guids=[tag], data={"variants": {"size": "M"}}),
        sample_item("<script>alert(1)</script>"),
    ]
    products = client.post(f"/dashboard/webshops/{shop.guid}/products", json={"products": items},
                           headers=shop.headers).get_json()["products"]
    client.delete(f"/dashboard/webshops/{shop.guid}/products/{products[1]['guid']}/", headers=shop.headers)

    index = client.get("/").get_data(as_text=True)
    assert f"/shops/{shop.guid}" in index

    html = client.get(f"/shops/{shop.guid}").get_data(as_text=True)
    assert "150.00 zł" in html and "VAT23" in html and "K-S" in html
    assert "Variant group “Koszula &lt;b&gt;” · 2 products" in html
    assert "size: S" in html and "size: M" in html
    assert "Mężczyzna &gt; Odzież &gt; Koszule" in html
    assert '<img src="http://127.0.0.1/storage/x.jpg"' in html and "javascript:" not in html
    assert "shoper · demo.example" in html
    assert 'class="member archived"' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert client.get(f"/shops/{uuid.uuid4()}").status_code == 404


def test_product_page_is_paginated(store, client):
    shop = new_test_shop(store)
    for batch in range(5):
        client.post(f"/dashboard/webshops/{shop.guid}/products",
                    json={"products": [sample_item(f"P {batch}-{i:02}") for i in range(100)]}, headers=shop.headers)
    first = client.get(f"/shops/{shop.guid}").get_data(as_text=True)
    assert "page 1 of 3" in first and first.count("<tr class=") == 200
    last = client.get(f"/shops/{shop.guid}?page=3").get_data(as_text=True)
    assert last.count("<tr class=") == 100
    found = client.get(f"/shops/{shop.guid}?q=P+4-07").get_data(as_text=True)
    assert "1 product<" in found


def test_threaded_server_handles_concurrent_writes_and_reads(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with start_in_thread(tmp_path / "gw.db") as server:
        shop = new_test_shop(server.store)
        url = f"{server.url}/dashboard/webshops/{shop.guid}/products"

        def create(batch: int) -> int:
            items = [sample_item(f"{batch}-{i}") for i in range(20)]
            return requests.post(url, json={"products": items}, headers=shop.headers, timeout=30).status_code

        def count(_: int) -> int:
            return requests.post(f"{server.url}/dashboard/webshop_products/_query", json={"dsl": {}},
                                 headers=shop.headers, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(create, range(20))) + list(pool.map(count, range(20)))
        assert set(statuses) == {200}
        total = requests.post(f"{server.url}/dashboard/webshop_products/_query", json={"dsl": {}},
                              headers=shop.headers, timeout=5).json()["total"]
        assert total == 400
        assert server.store.counters()["create_products"]["requests"] == 20
