"""Sellasist's REST API: paging quirks, errors, the key header, what a run costs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from gwsync.errors import EXIT_CANNOT_RUN, EXIT_CONFIG, EXIT_OK, AuthError, HttpError
from gwsync.http import CallStats, HttpClient
from gwsync.kit import OffsetPaginator
from gwsync.testing.harness import Harness
from gwsync_sellasist.client import SellasistClient
from gwsync_sellasist.connector import PAGE_SIZE, SellasistConnector
from gwsync_sellasist.fake import API_KEY, OTHER_KEY, SellasistFake

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://demo2137.sellasist.pl/api/v1/"


def client_for(url: str, key: str = API_KEY) -> SellasistClient:
    http = HttpClient(url.rstrip("/") + "/api/v1/", service="sellasist", stats=CallStats(), retries=1,
                      headers={"apiKey": key})
    return SellasistClient(http)


def listing(client: SellasistClient) -> OffsetPaginator:
    return OffsetPaginator(client.product_page, size=PAGE_SIZE, what="Sellasist products", key=lambda r: r["id"])


@pytest.fixture
def fake():
    with SellasistFake.running() as fake:
        yield fake


# -- the product list -------------------------------------------------------------------------

@pytest.mark.parametrize("products, calls", [(250, 3), (200, 3), (0, 1)])
def test_list_pages_until_a_short_page_or_no_records(fake, products, calls):
    fake.seed(products)
    pages = listing(client_for(fake.url))
    ids = [row["id"] for page in pages for row in page]
    assert ids == list(fake.account.products) and pages.calls == calls


def test_a_product_listed_twice_is_read_once(fake):
    fake.seed(150)
    fake.account.duplicate_every = 10
    pages = listing(client_for(fake.url))
    ids = [row["id"] for page in pages for row in page]
    assert sorted(ids) == sorted(fake.account.products) and pages.duplicates == 15


def test_an_api_that_ignores_limit_is_read_in_one_call(fake):
    fake.seed(230)
    fake.account.unpaged = True
    pages = listing(client_for(fake.url))
    assert len([r for page in pages for r in page]) == 230 and pages.calls == 1


@responses.activate
def test_recorded_list_with_trailing_404_no_records():
    rows = json.loads((FIXTURES / "sellasist_products.json").read_text())
    responses.get(BASE + "products", json=rows,
                  match=[responses.matchers.query_param_matcher({"offset": "0", "limit": "1"})])
    responses.get(BASE + "products", status=404, json={"error": "No records found"},
                  match=[responses.matchers.query_param_matcher({"offset": "1", "limit": "1"})])
    client = client_for("https://demo2137.sellasist.pl")
    pages = OffsetPaginator(client.product_page, size=1, what="p", key=lambda r: r["id"])
    assert [r["id"] for page in pages for r in page] == ["476", "477"]
    assert all(c.request.headers["apiKey"] == API_KEY and API_KEY not in c.request.url for c in responses.calls)


@responses.activate
def test_a_404_page_from_a_wrong_address_is_an_error_not_an_empty_catalog():
    responses.get(BASE + "products", status=404, body="<html>Not Found</html>", content_type="text/html")
    with pytest.raises(HttpError, match="SELLASIST_URL"):
        client_for("https://demo2137.sellasist.pl").product_page(0, 100)


@responses.activate
@pytest.mark.parametrize("status", [401, 403, 404])
def test_unknown_user_is_a_refused_key_whatever_the_status(status):
    responses.get(BASE + "products", status=status, json={"message": "Unknown user"})
    with pytest.raises(AuthError, match="SELLASIST_API_KEY"):
        client_for("https://demo2137.sellasist.pl").product_page(0, 100)


@responses.activate
def test_a_refused_key_without_a_message_is_still_an_auth_error():
    responses.get(BASE + "products", status=401, body="")
    with pytest.raises(AuthError, match="refused the API key"):
        client_for("https://demo2137.sellasist.pl").probe()


def test_a_refused_key_says_what_to_fix(fake):
    with pytest.raises(AuthError, match="SELLASIST_API_KEY") as error:
        client_for(fake.url, OTHER_KEY).probe()
    assert OTHER_KEY not in str(error.value)


@responses.activate
def test_details_and_variant_group_in_the_recorded_shapes():
    for name, path in (("sellasist_product_477.json", "products/477"), ("sellasist_variant_group_2.json",
                                                                        "variants_groups/2")):
        responses.get(BASE + path, json=json.loads((FIXTURES / name).read_text()))
    responses.get(BASE + "products/478", status=404, json={"error": "No records found"})
    client = client_for("https://demo2137.sellasist.pl")
    assert client.product("477")["variants"][1]["price"] == "213769.00"
    assert client.variant_group("2")["name"] == "Kolor"
    assert client.product("478") is None


# -- the connector ----------------------------------------------------------------------------

def test_a_run_costs_two_listings_one_detail_per_product_and_one_call_per_group(tmp_path, fake):
    fake.seed(130)
    with Harness(SellasistConnector, fake.config(), tmp_path) as gw:
        report = gw.run()
        assert report.counts["failed"] == 0
    calls = fake.account.calls
    groups = {p["variants_group_id"] for p in fake.account.products.values() if p.get("variants")}
    assert (calls["products"], calls["products/{id}"], calls["variants_groups/{id}"]) == (4, 130, len(groups))


def test_a_product_missed_by_the_first_listing_is_read_after_the_second(tmp_path, fake, monkeypatch):
    fake.seed(20)
    hidden = list(fake.account.products)[5]
    original = SellasistClient.product_page
    passes = {"n": 0}

    def first_pass_misses_one(self, offset, limit):
        page = original(self, offset, limit)
        if passes["n"] == 0 and page is not None:
            passes["n"] += 1
            return type(page)(rows=[r for r in page.rows if r["id"] != hidden][:limit - 1] + page.rows[limit:],
                              more=page.more)
        return page

    monkeypatch.setattr(SellasistClient, "product_page", first_pass_misses_one)
    with Harness(SellasistConnector, fake.config(), tmp_path) as gw:
        report = gw.run()
        assert report.counts["created"] == fake.expected_items()
        assert any("found only by the second listing" in n for n in report.notes)


def test_a_product_deleted_after_listing_is_skipped_not_archived(tmp_path, fake, monkeypatch):
    fake.seed(10)
    with Harness(SellasistConnector, fake.config(), tmp_path) as gw:
        gw.run()
        gone = fake._simple()
        original = SellasistClient.product

        def deleted_meanwhile(self, product_id):
            return None if product_id == gone else original(self, product_id)

        monkeypatch.setattr(SellasistClient, "product", deleted_meanwhile)
        report = gw.run()
        assert report.counts["archived"] == 0 and any("404" in s.reason for s in report.skips)


def test_an_html_404_stops_the_run_without_archiving(tmp_path, fake):
    fake.seed(5)
    with Harness(SellasistConnector, {**fake.config(), "url": fake.url + "/admin/products/"}, tmp_path) as gw:
        assert gw.run().counts["created"] == fake.expected_items()  # a pasted panel page: its origin is used
        fake.account.html_404 = True  # what a wrong address behind a web server answers
        result = gw.cli(["import"])
        assert result.exit_code == EXIT_CANNOT_RUN and "SELLASIST_URL" in result.stderr
        assert len(gw.products()) == fake.expected_items()  # nothing archived
        fake.account.html_404 = False
        items = fake.expected_items()
        fake.account.products.clear()
        assert gw.run().counts["archived"] == items  # a real "No records found" is an empty catalog


def test_price_setting_is_checked_and_reported(tmp_path, fake):
    fake.seed(2)
    with Harness(SellasistConnector, fake.config(), tmp_path) as gw:
        bad = gw.cli(["check"], env={**gw.env(), "SELLASIST_PRICE": "lowest"})
        assert bad.exit_code == EXIT_CONFIG and "SELLASIST_PRICE" in bad.output
        good = gw.cli(["check"], env={**gw.env(), "SELLASIST_PRICE": "regular"})
        assert good.exit_code == EXIT_OK and "prices sent: regular" in good.stdout


def test_refused_key_exits_3_with_one_line(tmp_path, fake):
    fake.seed(2)
    with Harness(SellasistConnector, fake.bad_config(), tmp_path) as gw:
        result = gw.cli(["import"])
        assert result.exit_code == EXIT_CANNOT_RUN and "SELLASIST_API_KEY" in result.stderr


def test_piped_answers_come_in_the_readme_order(tmp_path, fake):
    """docker run -i: signing key, shop GUID, API key; SELLASIST_URL from the environment."""
    fake.seed(3)
    with Harness(SellasistConnector, fake.config(), tmp_path) as gw:
        env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir),
               "SELLASIST_URL": fake.url}
        result = gw.cli(["import"], env=env, input="\n".join([gw.signing_key, gw.shop_guid, API_KEY]) + "\n")
        assert result.exit_code == EXIT_OK, result.output
        assert len(gw.products()) == fake.expected_items() and API_KEY not in result.output


def test_one_products_broken_answer_skips_it_and_the_run_goes_on(tmp_path, fake, monkeypatch):
    fake.seed(6)
    broken = list(fake.account.products)[2]
    original = SellasistClient.product

    def one_broken(self, product_id):
        if product_id == broken:
            raise HttpError("Sellasist: product: HTTP 500: boom", status=500)
        return original(self, product_id)

    monkeypatch.setattr(SellasistClient, "product", one_broken)
    with Harness(SellasistConnector, fake.config(), tmp_path) as gw:
        report = gw.run()
        assert report.complete and [s.reason for s in report.skips] == [
            "its details could not be read: Sellasist: product: HTTP 500: boom"]
        assert report.counts["created"] == fake.expected_items() - (len(fake.account.products[broken].get("variants") or ()) or 1)
