"""The sandbox's index page: each shop with its name, catalogs, product counts and last import."""

from __future__ import annotations

import re

from click.testing import CliRunner
from gwsync.sandbox import Store
from gwsync.sandbox.__main__ import main
from gwsync.sandbox.testkit import new_test_shop, sample_item


def test_index_lists_each_shop_with_its_name_counts_and_last_import(store, client):
    shop = new_test_shop(store)
    idle = new_test_shop(store)
    store.set_shop_name(shop.guid, "Sklep <Ania>")
    source = {"platform": "feed", "shop": "demo", "product_id": "1"}
    items = [sample_item(f"P{n}", data={"source": {**source, "product_id": str(n)}}) for n in range(3)]
    products = client.post(f"/dashboard/webshops/{shop.guid}/products", json={"products": items},
                           headers=shop.headers).get_json()["products"]
    client.delete(f"/dashboard/webshops/{shop.guid}/products/{products[0]['guid']}/", headers=shop.headers)

    html = client.get("/").get_data(as_text=True)
    rows = {guid: row for row, guid in re.findall(r'<tr class="shop">(.*?/shops/([0-9a-f-]+).*?)</tr>',
                                                   html, re.S)}
    ours, other = rows[shop.guid], rows[idle.guid]
    assert "Sklep &lt;Ania&gt;" in ours and "feed · demo" in ours
    assert re.search(r'class="num products">3<', ours) and re.search(r'class="num live">2<', ours)
    assert re.search(r'class="num archived">1<', ours)
    assert re.search(r'class="last-request">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<', ours)
    assert "Unnamed shop" in other and ">never<" in other


def test_new_shop_takes_a_name_and_the_sandbox_has_a_version(tmp_path):
    db = tmp_path / "gw.db"
    result = CliRunner().invoke(main, ["new-shop", "--db", str(db), "--name", "Demo shop"])
    assert result.exit_code == 0, result.output
    store = Store(db)
    assert [s["name"] for s in store.shops()] == ["Demo shop"]
    store.close()
    version = CliRunner().invoke(main, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("gateway-sandbox 0.")
