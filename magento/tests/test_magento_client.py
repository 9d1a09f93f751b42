"""Client and connector behaviour against `responses` and the local fake Magento REST API."""

from __future__ import annotations

from decimal import Decimal

import pytest
import responses

from gwsync.errors import EXIT_CANNOT_RUN, EXIT_CONFIG, EXIT_ITEMS_FAILED, EXIT_OK, AuthError, ConfigError, SyncError
from gwsync.http import CallStats, HttpClient
from gwsync.testing.harness import Harness
from gwsync_magento.client import BEARER_SETTING, MagentoClient, classify, criteria, in_filter, message_of, rest_base
from gwsync_magento.connector import MagentoConnector
from gwsync_magento.fake import CONSUMER_KEY, CONSUMER_SECRET, TOKEN, TOKEN_SECRET, MagentoFake

BASE = "https://shop.example.com/rest/default/V1/"


@pytest.mark.parametrize("typed, store, expected", [
    ("https://shop.example.com", "default", BASE),
    ("https://shop.example.com/", "default", BASE),
    ("https://shop.example.com/rest", "default", BASE),
    ("https://shop.example.com/rest/V1/", "default", BASE),
    ("https://shop.example.com/rest/pl/V1", "default", BASE),
    ("https://host/index.php", "pl", "https://host/index.php/rest/pl/V1/"),
    ("http://host:8080/shop/", "en_us", "http://host:8080/shop/rest/en_us/V1/"),
])
def test_rest_base_forms(typed, store, expected):
    assert rest_base(typed, store) == expected


def test_rest_base_must_be_http():
    with pytest.raises(ConfigError, match="MAGENTO_URL"):
        rest_base("shop.example.com", "default")


def test_store_all_is_refused_for_reading():
    with pytest.raises(ConfigError, match="MAGENTO_STORE"):
        MagentoConnector({"url": "https://shop.example.com", "access_token": "t" * 32, "store": "all"})


def test_shop_identity_is_host_path_and_store_view():
    config = {"url": "https://Shop.Example.com/index.php/rest/V1", "access_token": "t" * 32}
    assert MagentoConnector(config).shop == "shop.example.com/index.php"
    assert MagentoConnector({**config, "store": "en"}).shop == "shop.example.com/index.php#en"


def test_partial_oauth_values_name_the_missing_ones():
    config = {"url": "https://shop.example.com", "access_token": "t" * 32, "consumer_key": "k" * 32}
    with pytest.raises(ConfigError, match="MAGENTO_CONSUMER_SECRET, MAGENTO_ACCESS_TOKEN_SECRET"):
        MagentoConnector(config)


def test_search_criteria_and_filters():
    params = criteria(page=2, size=300, filters=[in_filter("sku", ["A", "B,C", "D"])])
    assert params == {
        "searchCriteria[filter_groups][0][filters][0][field]": "sku",
        "searchCriteria[filter_groups][0][filters][0][value]": "A,D",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "in",
        "searchCriteria[filter_groups][0][filters][1][field]": "sku",
        "searchCriteria[filter_groups][0][filters][1][value]": "B,C",
        "searchCriteria[filter_groups][0][filters][1][condition_type]": "eq",
        "searchCriteria[sortOrders][0][field]": "entity_id",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[pageSize]": "300",
        "searchCriteria[currentPage]": "2",
    }


def test_messages_fill_in_their_parameters():
    assert message_of({"message": "The consumer isn't authorized to access %resources.",
                       "parameters": {"resources": "Magento_Catalog::products"}}) == \
        "The consumer isn't authorized to access Magento_Catalog::products."
    assert message_of({"message": "%1 is %2", "parameters": ["a", "b"]}) == "a is b"


def _answer(status: int, body: dict) -> object:
    import requests

    response = requests.Response()
    response.status_code = status
    response._content = __import__("json").dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.url = BASE + "taxRules/search"
    return response


def test_a_missing_acl_resource_names_what_to_tick():
    body = {"message": "The consumer isn't authorized to access %resources.",
            "parameters": {"resources": "Magento_Tax::manage_tax"}}
    signed = str(classify(_answer(401, body), "tax rules", oauth=True))
    assert "Magento_Tax::manage_tax (Stores > Taxes" in signed and "System > Extensions > Integrations" in signed
    assert BEARER_SETTING not in signed
    bearer = str(classify(_answer(401, body), "tax rules", oauth=False))
    assert BEARER_SETTING in bearer and "\n" not in bearer


def test_signature_and_route_errors():
    bad = classify(_answer(401, {"message": "The signature is invalid. Verify and try again."}), "x", oauth=True)
    assert isinstance(bad, AuthError) and "MAGENTO_CONSUMER_SECRET" in str(bad)
    route = classify(_answer(404, {"message": "Request does not match any route."}), "x", oauth=False)
    assert isinstance(route, ConfigError) and "MAGENTO_URL" in str(route)
    store = classify(_answer(404, {"message": "The store that was requested wasn't found. Verify the store and "
                                              "try again."}), "x", oauth=False)
    assert isinstance(store, ConfigError) and "MAGENTO_STORE" in str(store)


def _client() -> MagentoClient:
    return MagentoClient(HttpClient(BASE, service="magento", stats=CallStats(), retries=0), oauth=False)


@responses.activate
def test_paging_stops_on_total_count_never_asking_past_the_end():
    # Magento answers a page past the end with the last page again: only total_count says where to stop
    for page, ids in ((1, (1, 2)), (2, (3, 4)), (3, (5,)), (4, (5,))):
        responses.get(BASE + "products", json={"items": [{"id": i} for i in ids], "total_count": 5},
                      match=[responses.matchers.query_param_matcher(
                          {**criteria(page=page, size=2), "fields": "items[id],total_count"})])
    pages = list(_client().pages("products", what="products", size=2, fields="items[id],total_count"))
    assert [[r["id"] for r in p] for p in pages] == [[1, 2], [3, 4], [5]]
    assert len(responses.calls) == 3


@responses.activate
def test_a_short_page_before_the_total_stops_the_read():
    responses.get(BASE + "products", json={"items": [{"id": 1}, {"id": 2}], "total_count": 6})
    responses.get(BASE + "products", json={"items": [{"id": 3}], "total_count": 6})
    with pytest.raises(SyncError, match="only 1 rows on page 2"):
        list(_client().pages("products", what="products", size=2))


@responses.activate
def test_a_page_repeated_at_the_same_position_stops_the_read():
    responses.get(BASE + "products", json={"items": [{"id": 1}, {"id": 2}], "total_count": 6})
    with pytest.raises(SyncError):
        list(_client().pages("products", what="products", size=2))


# -- against the fake --------------------------------------------------------------------------------

def oauth_config(fake: MagentoFake) -> dict:
    return {"url": fake.url, "access_token": TOKEN, "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET, "access_token_secret": TOKEN_SECRET}


def test_oauth_requests_are_signed_with_hmac_sha256_and_retries_are_signed_again():
    with MagentoFake.running(oauth=True) as fake:
        connector = MagentoConnector(oauth_config(fake))
        fake.shop.fail_next(503, times=2)
        configs = connector.client.call("store/storeConfigs")
        assert configs[0]["code"] == "default"
        # three requests, each with its own nonce: a replayed signature would be refused
        assert len(fake.shop.log) == 3 and len(fake.shop.nonces) == 3
        connector.close()


def test_a_shop_that_refuses_bearer_tokens_gets_a_message_naming_the_setting(tmp_path):
    with MagentoFake.running(oauth=True) as fake:
        fake.seed(3)
        bearer_only = {"url": fake.url, "access_token": TOKEN}
        with Harness(MagentoConnector, bearer_only, tmp_path) as gw:
            for command in (["import"], ["check"]):
                result = gw.cli(command)
                errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
                assert result.exit_code == EXIT_CANNOT_RUN, result.output
                assert len(errors) == 1 and BEARER_SETTING in errors[0]
                assert TOKEN not in result.output
            assert gw.writes() == 0


def test_check_lists_each_missing_resource_on_its_own_line(tmp_path):
    with MagentoFake.running() as fake:
        fake.shop.granted -= {"Magento_Tax::manage_tax", "Magento_InventoryApi::source"}
        with Harness(MagentoConnector, fake.config(), tmp_path) as gw:
            result = gw.cli(["check"])
            assert result.exit_code == EXIT_CANNOT_RUN
            lines = [line for line in result.stderr.splitlines() if "may not read" in line]
            assert len(lines) == 3  # tax rules, tax rates, MSI source items
            assert sum("Magento_Tax::manage_tax" in line for line in lines) == 2
            assert any("Magento_InventoryApi::source (Stores > Inventory > Sources)" in line for line in lines)
            imported = gw.cli(["import"])
            assert imported.exit_code == EXIT_CANNOT_RUN and "Magento_Tax::manage_tax" in imported.stderr


def test_an_unknown_store_view_is_a_config_error(tmp_path):
    with MagentoFake.running() as fake, Harness(MagentoConnector, {**fake.config(), "store": "fr"}, tmp_path) as gw:
        result = gw.cli(["import"])
        assert result.exit_code == EXIT_CONFIG and "MAGENTO_STORE" in result.stderr


def realistic(fake: MagentoFake) -> dict[str, int]:
    """Configurables with size/colour children at 23 % and 8 %, a disabled parent, a bundle,
    a simple product whose tax class no rule covers, MSI stock in two sources."""
    shop = fake.shop
    ids = {
        "hoodie": shop.add_configurable("Bluza z kapturem", [81.30, 81.30, 85.37],
                                        stocks=[{"default": 4, "magazyn_2": 6}, {"default": 0, "magazyn_2": 2},
                                                {"default": 5}]),
        "book": shop.add_configurable("Książka", [20.00, 30.00], tax_class="6"),
        "hidden": shop.add_configurable("Wycofana bluza", [50.00, 50.00], status=2),
        "bundle": shop.add("bundle", name="Zestaw", price=0),
        "gift": shop.add_simple("Karta podarunkowa", 50.00, stock=9, tax_class="7"),
    }
    return ids


def by_source(products: list[dict]) -> dict[tuple[str, str | None], dict]:
    return {(p["data"]["source"]["product_id"], p["data"]["source"].get("variant_id")): p for p in products}


def test_realistic_catalog(tmp_path):
    with MagentoFake.running() as fake:
        ids = realistic(fake)
        with Harness(MagentoConnector, fake.config(), tmp_path) as gw:
            report = gw.run()
            assert report.exit_code == EXIT_ITEMS_FAILED  # the bundle is skipped, with its reason
            assert [(s.identity.split("|")[2], s.reason) for s in report.skips] == [
                (str(ids["bundle"]), "bundle products are not imported (only simple and configurable products are)")]
            live = by_source(gw.products())
            hoodie = str(ids["hoodie"])
            children = [k for k in live if k[0] == hoodie]
            assert len(children) == 3
            assert {live[k]["vat"] for k in children} == {"VAT23"}
            assert sorted(Decimal(str(live[k]["base_price"]["amount"])) for k in children) == [
                Decimal("100.00"), Decimal("100.00"), Decimal("105.01")]  # 81.30 and 85.37 net at 23 %
            assert sorted(live[k]["stock_level"] for k in children) == [2, 5, 10]  # summed over two sources
            assert {tuple(sorted(live[k]["data"]["variants"].items())) for k in children} >= {
                (("Color", "Czarny"), ("Size", "S"))}
            book = [p for k, p in live.items() if k[0] == str(ids["book"])]
            assert {p["vat"] for p in book} == {"VAT8"}
            assert sorted(Decimal(str(p["base_price"]["amount"])) for p in book) == [Decimal("21.60"),
                                                                                     Decimal("32.40")]
            assert not any(k[0] == str(ids["hidden"]) for k in live)  # disabled parent: children not live
            gift = live[(str(ids["gift"]), None)]
            assert gift["vat"] == "VAT0" and Decimal(str(gift["base_price"]["amount"])) == Decimal("50.00")
            assert all(p["images"] for p in live.values() if p["data"]["source"]["product_id"] == hoodie)


def test_legacy_stock_when_msi_is_absent(tmp_path):
    with MagentoFake.running() as fake:
        fake.shop.msi = False
        ids = realistic(fake)
        with Harness(MagentoConnector, fake.config(), tmp_path) as gw:
            gw.run()
            live = by_source(gw.products())
            stocks = sorted(p["stock_level"] for k, p in live.items() if k[0] == str(ids["hoodie"]))
            assert stocks == [2, 5, 10]
            calls = [args for route, args in fake.shop.log if route == "stockItems/lowStock"]
            assert calls == [{"scopeId": "0", "qty": "1000000000", "currentPage": "1", "pageSize": "300"}]


def test_only_the_named_sources_count(tmp_path):
    with MagentoFake.running() as fake:
        ids = realistic(fake)
        with Harness(MagentoConnector, {**fake.config(), "sources": "magazyn_2"}, tmp_path) as gw:
            gw.run()
            live = by_source(gw.products())
            assert sorted(p["stock_level"] for k, p in live.items() if k[0] == str(ids["hoodie"])) == [0, 2, 6]


def records_calls(fake: MagentoFake) -> list[set[str]]:
    """The entity ids asked for by each full-record read (`entity_id in (...)`)."""
    out = []
    for route, args in fake.shop.log:
        if route == "products" and args.get("searchCriteria[filter_groups][0][filters][0][field]") == "entity_id":
            out.append(set(args["searchCriteria[filter_groups][0][filters][0][value]"].split(",")))
    return out


def test_incremental_run_reads_only_the_changed_group_in_full(tmp_path):
    with MagentoFake.running() as fake:
        fake.seed(9)
        with Harness(MagentoConnector, fake.config(), tmp_path) as gw:
            gw.run()
            fake.shop.log.clear()
            product_id, variant_id = fake.change_price()
            report = gw.run()
            assert report.counts["updated"] == 1 and report.counts["failed"] == 0
            group = {product_id, *map(str, fake.shop.products[int(product_id)]["extension_attributes"]
                                              ["configurable_product_links"])}
            assert records_calls(fake) == [group]
            listing = [args for route, args in fake.shop.log if route == "products" and "fields" in args
                       and args["fields"].startswith("items[id,sku,type_id")]
            assert listing and all(a["searchCriteria[sortOrders][0][field]"] == "entity_id" for a in listing)
            fake.shop.log.clear()
            assert gw.run().writes == 0 and records_calls(fake) == []


def test_a_deleted_child_is_archived_and_a_new_child_created(tmp_path):
    with MagentoFake.running() as fake:
        ids = realistic(fake)
        with Harness(MagentoConnector, fake.config(), tmp_path) as gw:
            gw.run()
            hoodie = fake.shop.products[ids["hoodie"]]
            gone = hoodie["extension_attributes"]["configurable_product_links"][-1]
            fake.shop.remove(gone)  # the parent's updated_at does not move
            report = gw.run()
            assert report.counts["archived"] == 1 and report.counts["failed"] == 0
            assert (str(ids["hoodie"]), str(gone)) not in by_source(gw.products())


def test_a_new_product_on_an_incremental_run_is_created(tmp_path):
    with MagentoFake.running() as fake:
        fake.seed(6)
        with Harness(MagentoConnector, fake.config(), tmp_path) as gw:
            gw.run()
            added = fake.add_product()
            report = gw.run()
            assert report.counts["created"] == 1 and (added, None) in by_source(gw.products())


def test_docker_run_i_answers_with_oauth_come_in_order(tmp_path):
    with MagentoFake.running(oauth=True) as fake:
        fake.seed(3)
        with Harness(MagentoConnector, {"url": fake.url}, tmp_path) as gw:
            env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir),
                   "MAGENTO_URL": fake.url}
            answers = "\n".join([gw.signing_key, gw.shop_guid, TOKEN, "yes", CONSUMER_KEY, CONSUMER_SECRET,
                                 TOKEN_SECRET]) + "\n"
            result = gw.cli(["import"], env=env, input=answers)
            assert result.exit_code == EXIT_OK, result.output
            assert len(gw.products()) == fake.expected_items()
            assert all(s not in result.output for s in (TOKEN, CONSUMER_SECRET, TOKEN_SECRET, CONSUMER_KEY))


def test_docker_run_i_answers_with_a_bearer_token(tmp_path):
    with MagentoFake.running() as fake:
        fake.seed(3)
        with Harness(MagentoConnector, {"url": fake.url}, tmp_path) as gw:
            env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir),
                   "MAGENTO_URL": fake.url}
            answers = "\n".join([gw.signing_key, gw.shop_guid, TOKEN, "no"]) + "\n"
            result = gw.cli(["import"], env=env, input=answers)
            assert result.exit_code == EXIT_OK, result.output
            assert "Consumer Key" not in result.stderr  # no OAuth questions after a no


def test_groups_from_the_listing():
    from gwsync_magento.connector import Listed, batches, group_listing

    listing = [Listed("1", "A-S", "simple", ""), Listed("2", "A-M", "simple", ""), Listed("3", "B", "simple", ""),
               Listed("4", "A", "configurable", "", ("1", "2", "9")), Listed("5", "C", "configurable", "", ("2",)),
               Listed("6", "SET", "bundle", "", ()), Listed("7", "V", "virtual", "")]
    groups, others = group_listing(listing)
    assert [(g.head.id, [c.id for c in g.children]) for g in groups] == [("3", []), ("4", ["1", "2"]), ("5", [])]
    assert [p.id for p in others] == ["6", "7"]
    assert [[g.head.id for g in b] for b in batches(groups, size=4)] == [["3", "4"], ["5"]]
    assert [[g.head.id for g in b] for b in batches(groups, size=2)] == [["3"], ["4"], ["5"]]  # never split


@pytest.mark.parametrize("setting, value, name", [
    ("catalog_prices", "brutto", "MAGENTO_CATALOG_PRICES"),
    ("oauth", "yes", "MAGENTO_CONSUMER_KEY, MAGENTO_CONSUMER_SECRET, MAGENTO_ACCESS_TOKEN_SECRET"),
])
def test_bad_settings_name_the_variable(setting, value, name):
    with pytest.raises(ConfigError, match=name):
        MagentoConnector({"url": "https://shop.example.com", "access_token": "t" * 32, setting: value})


def test_a_product_deleted_between_the_listing_and_its_read_is_archived_only_next_run(tmp_path):
    with MagentoFake.running() as fake:
        fake.seed(4)
        with Harness(MagentoConnector, fake.config(), tmp_path) as gw:
            gw.run()
            victim = next(p for p in fake.shop.products.values() if p["type_id"] == "simple"
                          and p["visibility"] == 4)
            fake.shop.touch(victim["id"], price=victim["price"] + 1)  # read in full on the next run
            original = fake.shop._search

            def delete_before_records(rows, request, aliases):
                if request.args.get("searchCriteria[filter_groups][0][filters][0][field]") == "entity_id":
                    fake.shop.remove(victim["id"])
                    rows = [r for r in rows if r["id"] != victim["id"]]
                return original(rows, request, aliases)

            fake.shop._search = delete_before_records
            report = gw.run()
            assert report.complete and report.counts["archived"] == 0 and report.counts["failed"] == 0
            fake.shop._search = original
            assert gw.run().counts["archived"] == 1
            assert (str(victim["id"]), None) not in by_source(gw.products())
