"""The Admin API client: paging, the 207 empty page, errors users meet, retries."""

from __future__ import annotations

import json

import pytest
import responses

from gwsync.errors import AuthError, CannotRun, HttpError, Unreachable
from gwsync.http import HttpClient
from gwsync.kit import PagingError
from gwsync_iai.client import IaiClient, search_paginator
from gwsync_iai.connector import IaiConnector
from gwsync_iai.fake import LIMITED_KEY, IdoSellFake

BASE = "https://client1234.idosell.com/api/admin/v8/"
SEARCH = BASE + "products/products/search"
EMPTY = {"errors": {"faultCode": 2, "faultString": "empty result"}}


def client(retries: int = 0) -> IaiClient:
    return IaiClient(HttpClient(BASE, service="iai", headers={"X-API-KEY": "k" * 16}, retries=retries))


def page(ids, page_no, pages, total):
    return {"resultsNumberAll": total, "resultsNumberPage": pages, "resultsPage": page_no,
            "resultsLimit": 100, "results": [{"productId": i} for i in ids]}


@pytest.fixture
def fake():
    with IdoSellFake.running() as fake:
        yield fake


# -- paging ------------------------------------------------------------------------


def test_paginator_stops_on_the_last_page_by_count():
    bodies = [page(range(100), 0, 2, 150), page(range(100, 150), 1, 2, 150)]
    pager = search_paginator(lambda n, size: bodies[n])
    assert sum(len(p) for p in pager) == 150 and pager.calls == 2


def test_paginator_stops_on_the_empty_answer():
    bodies = [page(range(100), 0, 2, 150), page(range(100, 150), 1, 2, 150), None]
    assert [len(p) for p in search_paginator(lambda n, size: bodies[n])] == [100, 50]
    assert [len(p) for p in search_paginator(lambda n, size: [None][n])] == []


def test_an_empty_answer_before_the_count_is_reached_is_not_the_end():
    bodies = [page(range(100), 0, 9, 900), None]
    with pytest.raises(PagingError, match="came back empty although the listing still counts 900"):
        list(search_paginator(lambda n, size: bodies[n]))


def test_paginator_refuses_a_repeated_page():
    with pytest.raises(PagingError, match="page 2 repeats the previous page"):
        list(search_paginator(lambda n, size: page(range(100), 0, 5, 500)))


def test_search_reads_every_page_in_pages_of_100(fake):
    fake.seed(250)
    c = IaiConnector(fake.config()).client
    assert len(list(c.iter_products())) == 250
    assert fake.search_calls() == 3
    body = fake.requests[-1]["json"]["params"]
    assert body["resultsLimit"] == 100 and body["resultsPage"] == 2
    assert body["ordersBy"] == [{"elementName": "id", "sortDirection": "ASC"}]
    assert "productDescriptionsLangData" not in json.dumps(body)  # returnElements names, not fields


def test_exact_multiple_of_100_ends_without_an_extra_call(fake):
    fake.seed(200)
    c = IaiConnector(fake.config()).client
    assert len(list(c.iter_products())) == 200
    assert fake.search_calls() == 2


@responses.activate
def test_207_fault_2_is_an_empty_list_not_an_error():
    responses.post(SEARCH, json=EMPTY, status=207)
    assert list(client().iter_products()) == []


def test_filters_go_in_product_params_as_a_list(fake):
    fake.seed(30)
    c = IaiConnector(fake.config()).client
    assert sorted(r["productId"] for r in c.products_by_ids([3, 5, 99])) == [3, 5]
    params = fake.requests[-1]["json"]["params"]
    assert params["productParams"] == [{"productId": 3}, {"productId": 5}, {"productId": 99}]


def test_return_elements_limit_the_payload(fake):
    fake.seed(4)
    record = next(IaiConnector(fake.config()).client.iter_products(elements=("version_data",)))
    assert set(record) <= {"productId", "productVersion"}


# -- errors -----------------------------------------------------------------------------


def test_bad_key_is_an_auth_error_saying_what_to_fix(fake):
    with pytest.raises(AuthError, match="IAI_API_KEY") as err:
        IaiConnector(fake.bad_config()).check()
    assert "401" in str(err.value) and "\n" not in str(err.value)


def test_key_without_product_rights(fake):
    with pytest.raises(AuthError, match="PIM"):
        IaiConnector({**fake.config(), "api_key": LIMITED_KEY}).check()


def test_wrong_panel_url(fake):
    connector = IaiConnector({**fake.config(), "url": fake.base_url + "/sklep"})
    with pytest.raises(CannotRun, match="IAI_URL"):
        connector.check()


@responses.activate
def test_html_answer_means_a_wrong_url():
    responses.post(SEARCH, body="<html>shop front</html>", content_type="text/html")
    with pytest.raises(CannotRun, match="IAI_URL"):
        client().count_products()


@responses.activate
def test_firewall_403_page():
    responses.post(SEARCH, body="<html>blocked</html>", status=403, content_type="text/html")
    with pytest.raises(CannotRun, match="firewall"):
        client().count_products()


@responses.activate
def test_fault_1_in_a_200_body_is_an_auth_error():
    responses.post(SEARCH, json={"errors": {"faultCode": 1, "faultString": "Logowanie nie powiodło się"}})
    with pytest.raises(AuthError, match="Logowanie"):
        client().count_products()


@responses.activate
def test_blocked_shop_fault_5():
    responses.post(SEARCH, json={"errors": {"faultCode": 5, "faultString": "blocked"}}, status=207)
    with pytest.raises(CannotRun, match="invoices"):
        client().count_products()


@responses.activate
def test_other_fault_is_an_http_error():
    responses.post(SEARCH, json={"errors": {"faultCode": 4, "faultString": "unknown currency"}}, status=207)
    with pytest.raises(HttpError, match="faultCode 4"):
        list(client().iter_products())


def test_unreachable_host():
    connector = IaiConnector({"url": "http://127.0.0.1:9", "api_key": "k" * 16})
    connector.client.http = HttpClient(connector.client.http.base_url, service="iai", retries=0,
                                       timeout=(0.5, 0.5))
    with pytest.raises(Unreachable, match="connection refused"):
        connector.check()


def test_sizes_gate_without_rights_is_not_fatal():
    with responses.RequestsMock() as mock:
        mock.get(BASE + "sizes/sizes", status=403, json={}, headers={"X-Error": "Scope: pim"})
        assert client().size_groups() == []


# -- retries -------------------------------------------------------------------------------


def test_429_and_5xx_are_retried(fake):
    fake.seed(5)
    c = IaiConnector(fake.config()).client
    fake.fail_next(429, headers={"Retry-After": "0"})
    fake.fail_next(503)
    assert len(list(c.iter_products())) == 5
    assert c.http.stats.retries == 2


def test_secret_key_is_sent_as_header_only(fake):
    fake.seed(1)
    connector = IaiConnector(fake.config())
    connector.check()
    assert connector.client.http.headers["X-API-KEY"] == fake.secrets()[0]
    assert all(fake.secrets()[0] not in r["path"] for r in fake.requests)


def test_vat_free_and_deleted_flags_are_requested(fake):
    """`vat` alone does not return `productVatFree`: a VAT-free product would get 23 %."""
    fake.seed(2)
    fake.touch(1, productVatFree="y")
    record = next(r for r in IaiConnector(fake.config()).client.iter_products() if r["productId"] == 1)
    assert record["productVatFree"] == "y" and record["productIsDeleted"] == "n"
    assert record["sizesGroupName"] and "categoryId" in record


@responses.activate
def test_405_page_means_a_wrong_url():
    responses.post(SEARCH, body="<html>Method Not Allowed</html>", status=405, content_type="text/html")
    with pytest.raises(CannotRun, match="IAI_URL"):
        client().count_products()
