"""The WebAPI client: login, paging through bulk, errors, retries, the leaky bucket."""

import json
import secrets
import time

import pytest
import requests
import responses

from gwsync.errors import AuthError, CannotRun, HttpError, Unreachable
from gwsync.http import CallStats, HttpClient, RateLimiter
from gwsync.kit import PagingError
from gwsync_shoper.client import Listing, ObjectLocked, ShoperClient, parse_page, watch_bucket
from gwsync_shoper.fake import LOGIN, PASSWORD, ShoperFake

SHOP = "https://sklep1.shoparena.pl"


def make_client(url, login=LOGIN, password=PASSWORD, retries=3, sleep=lambda s: None):
    limiter = RateLimiter(2, 8)
    http = HttpClient(url.rstrip("/") + "/webapi/rest/", service="shoper", stats=CallStats(), limiter=limiter,
                      on_response=watch_bucket(limiter), retries=retries)
    return ShoperClient(http, login, password, sleep=sleep)


@pytest.fixture
def fake():
    with ShoperFake.running(130) as fake:
        yield fake


# -- paging -----------------------------------------------------------------------------------

def test_every_page_is_read_including_the_last(fake):
    client = make_client(fake.url)
    ids = [r["product_id"] for r in client.iter_rows(Listing("p", "products", id_field="product_id"))]
    assert ids == [str(n) for n in range(1, 131)]  # 3 pages: 50, 50, 30


def test_pages_after_the_first_travel_25_per_bulk_call(fake):
    client = make_client(fake.url)
    rows = list(client.iter_rows(Listing("s", "product-stocks", id_field="stock_id")))
    assert len(rows) == len(fake.shop.stocks)
    pages = -(-len(rows) // 50)
    assert fake.shop.requests["POST /webapi/rest/bulk"] == 1 + -(-(pages - 1) // 25)
    assert fake.shop.sub_requests["GET /webapi/rest/product-stocks"] == pages


def test_empty_table_is_one_call_and_no_rows():
    with ShoperFake.running(0) as fake:
        client = make_client(fake.url)
        assert list(client.iter_rows(Listing("p", "products"))) == []


def _answers(pages):
    """A client whose bulk calls answer list pages from `pages` ({number: body})."""
    client = make_client(SHOP)
    client._token = "t" * 40

    def bulk(calls):
        return {c["id"]: (200, pages[int(c["params"]["page"])]) for c in calls}

    client.bulk = bulk
    return client


def test_a_short_page_that_is_not_the_last_stops_the_read():
    client = _answers({1: {"count": "180", "pages": 4, "page": 1, "list": [{"product_id": str(n)} for n in range(10)]}})
    with pytest.raises(PagingError, match="only 10 rows on page 1 of 4"):
        list(client.iter_rows(Listing("p", "products", id_field="product_id")))


def test_the_same_page_twice_stops_the_read():
    rows = [{"product_id": str(n)} for n in range(50)]
    client = _answers({n: {"count": "150", "pages": 3, "page": n, "list": rows} for n in (1, 2, 3)})
    with pytest.raises(PagingError, match="page 2 repeats the previous page"):
        list(client.iter_rows(Listing("p", "products", id_field="product_id")))


def test_count_is_a_string_and_a_page_other_than_asked_is_refused():
    listing = Listing("p", "products")
    page = parse_page(listing, 1, {"count": "36", "pages": 4, "page": 1, "list": [{}]})
    assert (page.total, len(page.rows)) == (36, 1)
    with pytest.raises(HttpError, match="asked for page 2, got page 1"):
        parse_page(listing, 2, {"count": "36", "pages": 4, "page": 1, "list": [{}]})


def test_filters_travel_as_json(fake):
    client = make_client(fake.url)
    listing = Listing("s", "product-stocks", {"filters": {"product_id": {"in": [3, 5]}}}, id_field="stock_id")
    rows = list(client.iter_rows(listing))
    assert rows and {r["product_id"] for r in rows} == {"3", "5"}


# -- login, tokens, errors -------------------------------------------------------------------

def test_wrong_password_is_an_auth_error_naming_the_settings(fake):
    client = make_client(fake.url, password="nope")
    with pytest.raises(AuthError, match="auth_failure.*SHOPER_CLIENT_SECRET"):
        client.authenticate()


@pytest.mark.parametrize("code,words", [("auth_ip_not_allowed", "IP address"),
                                        ("auth_webapi_access_denied", "panel \\+ webapi")])
@responses.activate
def test_other_login_refusals_say_what_to_fix(code, words):
    responses.post(SHOP + "/webapi/rest/auth", status=401, json={"error": code, "error_description": "x"})
    with pytest.raises(AuthError, match=words):
        make_client(SHOP).authenticate()


@responses.activate
def test_a_host_without_the_webapi_is_a_wrong_url():
    responses.post(SHOP + "/webapi/rest/auth", status=404, body="<html>Not found</html>",
                   content_type="text/html")
    with pytest.raises(CannotRun, match="check SHOPER_URL"):
        make_client(SHOP).authenticate()


@responses.activate
def test_a_html_page_instead_of_json_is_a_wrong_url():
    responses.post(SHOP + "/webapi/rest/auth", status=200, body="<html>shop</html>", content_type="text/html")
    with pytest.raises(CannotRun, match="not JSON"):
        make_client(SHOP).authenticate()


def test_nobody_listening_is_unreachable():
    with ShoperFake.running() as fake:
        url = fake.url
    with pytest.raises(Unreachable):
        make_client(url, retries=0).authenticate()


@responses.activate
def test_missing_rights_is_an_auth_error_naming_the_rights():
    responses.post(SHOP + "/webapi/rest/auth", json={"access_token": "a" * 40, "expires_in": 2592000,
                                                     "token_type": "bearer"})
    responses.get(SHOP + "/webapi/rest/taxes", status=403,
                  json={"error": "insufficient_scope", "error_description": "no access"})
    with pytest.raises(AuthError, match="Asortyment and Konfiguracja"):
        make_client(SHOP).get("taxes")


@responses.activate
def test_login_sends_http_basic_and_then_the_bearer_token():
    responses.post(SHOP + "/webapi/rest/auth", json={"access_token": "b" * 40, "expires_in": 2592000,
                                                     "token_type": "bearer"})
    responses.get(SHOP + "/webapi/rest/application-config", json={"shop_name": "x"})
    assert make_client(SHOP, "user", "pass").get("application-config") == {"shop_name": "x"}
    auth, call = responses.calls
    assert auth.request.headers["Authorization"].startswith("Basic ")
    assert call.request.headers["Authorization"] == "Bearer " + "b" * 40


def test_an_expired_token_is_renewed_once_mid_run(fake):
    client = make_client(fake.url)
    client.get("taxes")
    fake.expire_tokens()
    assert client.get("taxes")["count"] == "5"
    assert client.refreshes == 1
    assert fake.shop.requests["POST /webapi/rest/auth"] == 2


def test_a_token_refused_again_after_renewal_is_an_auth_error(fake):
    client = make_client(fake.url)
    client.authenticate()
    client.http.set_header("Authorization", "Bearer " + "0" * 40)
    fake.shop.tokens.clear()
    fake.shop.password = secrets.token_urlsafe(12)  # changed meanwhile
    with pytest.raises(AuthError):
        client.get("taxes")


# -- retries and the rate limit --------------------------------------------------------------

def test_429_with_retry_after_is_waited_for_and_repeated(fake):
    client = make_client(fake.url)
    client.authenticate()
    fake.fail_next(429)
    started = time.monotonic()
    assert client.get("taxes")["count"] == "5"
    assert time.monotonic() - started >= 0.9  # Retry-After: 1
    assert client.http.stats.throttled == 1


def test_5xx_is_retried(fake):
    client = make_client(fake.url)
    client.authenticate()
    fake.fail_next(500, 503)
    assert client.get("taxes")["count"] == "5"
    assert client.http.stats.retries == 2


def test_bulk_is_retried_as_a_read(fake):
    client = make_client(fake.url)
    client.authenticate()
    fake.fail_next(502)
    assert len(list(client.iter_rows(Listing("p", "products", id_field="product_id")))) == 130


def test_sub_requests_answered_429_inside_a_bulk_are_sent_again():
    client = make_client(SHOP)
    client._token = "t" * 40
    answers = iter([
        {"errors": True, "items": [{"id": "a", "code": 200, "body": {"x": 1}}, {"id": "b", "code": 429, "body": {}}]},
        {"errors": False, "items": [{"id": "b", "code": 200, "body": {"x": 2}}]},
    ])
    sent = []
    with responses.RequestsMock() as mock:
        def reply(request):
            sent.append([c["id"] for c in json.loads(request.body)])
            return 200, {}, json.dumps(next(answers))
        mock.add_callback(responses.POST, SHOP + "/webapi/rest/bulk", callback=reply)
        calls = [{"id": "a", "method": "GET", "path": "/webapi/rest/taxes"},
                 {"id": "b", "method": "GET", "path": "/webapi/rest/languages"}]
        assert client.bulk(calls) == {"a": (200, {"x": 1}), "b": (200, {"x": 2})}
    assert sent == [["a", "b"], ["b"]]


def test_the_hook_pauses_callers_when_the_bucket_is_nearly_full():
    limiter = RateLimiter(100, 100)
    hook = watch_bucket(limiter)
    response = requests.Response()
    response.status_code = 200
    response.headers.update({"X-Shop-Api-Limit": "10", "X-Shop-Api-Bandwidth": "2", "X-Shop-Api-Calls": "9"})
    before = time.monotonic()
    hook(response)
    assert limiter._held_until - before == pytest.approx(1.0, abs=0.05)  # two calls' worth of draining
    response.headers["X-Shop-Api-Calls"] = "3"
    limiter._held_until = 0.0
    hook(response)
    assert limiter._held_until == 0.0


def test_without_pacing_the_fake_bucket_answers_429():
    with ShoperFake.running(0) as fake:
        session = requests.Session()
        token = session.post(fake.url + "/webapi/rest/auth", auth=(LOGIN, PASSWORD)).json()["access_token"]
        statuses = [session.get(fake.url + "/webapi/rest/taxes", headers={"Authorization": f"Bearer {token}"})
                    for _ in range(14)]
        refused = [r for r in statuses if r.status_code == 429]
        assert refused and int(refused[0].headers["Retry-After"]) >= 1
        assert refused[0].headers["X-Shop-Api-Limit"] == "10"


def test_with_pacing_a_burst_of_calls_sees_no_429(fake):
    client = make_client(fake.url)
    for _ in range(13):
        client.get("taxes")
    assert fake.shop.throttled == 0


# -- bulk answers, a bucket charged per sub-request, tables changing during a read ---------------

def test_a_bucket_charged_per_sub_request_still_answers_every_sub_request():
    # bandwidth 20/s keeps the real waits short; the bucket still holds only 10 calls
    with ShoperFake.running(0, bandwidth=20.0, bulk_per_request=True) as fake:
        client = make_client(fake.url, sleep=time.sleep)
        answers = client.get_many({f"t{n}": ("taxes", {}) for n in range(25)})
        assert all(body["count"] == "5" for body in answers.values())
        assert fake.shop.throttled > 0  # 429s inside the bulk, sent again after the bucket drained
        assert client.bulk_calls <= 4


def test_bulk_items_without_ids_are_matched_in_request_order():
    client = make_client(SHOP)
    client._token = "t" * 40
    with responses.RequestsMock() as mock:
        mock.post(SHOP + "/webapi/rest/bulk", json={"errors": False, "items": [
            {"code": 200, "body": {"x": 1}}, {"code": 200, "body": {"x": 2}}]})
        calls = [{"id": "a", "method": "GET", "path": "/webapi/rest/taxes"},
                 {"id": "b", "method": "GET", "path": "/webapi/rest/languages"}]
        assert client.bulk(calls) == {"a": (200, {"x": 1}), "b": (200, {"x": 2})}


def test_sub_requests_that_never_get_an_answer_end_the_read():
    client = make_client(SHOP)
    client._token = "t" * 40
    with responses.RequestsMock() as mock:
        mock.post(SHOP + "/webapi/rest/bulk", json={"errors": True, "items": [
            {"id": "a", "code": 429, "body": {"error": "temporarily_unavailable"}}]})
        with pytest.raises(HttpError, match="still failing after 4 tries"):
            client.bulk([{"id": "a", "method": "GET", "path": "/webapi/rest/taxes"}])
        assert len(mock.calls) == 4


@responses.activate
def test_access_denied_inside_a_bulk_names_the_rights():
    responses.post(SHOP + "/webapi/rest/auth", json={"access_token": "c" * 40, "expires_in": 2592000,
                                                     "token_type": "bearer"})
    responses.post(SHOP + "/webapi/rest/bulk", json={"errors": True, "items": [
        {"id": "page:p", "code": 401, "body": {"error": "access_denied", "error_description": "x"}}]})
    with pytest.raises(AuthError, match="may not read GET product-stocks.*Asortyment"):
        list(make_client(SHOP).iter_rows(Listing("p", "product-stocks")))


def _delete_during_read(fake, resource, times):
    """Remove one product (and its rows) just before page 2 of `resource` is served, `times` times."""
    handle, left = fake.shop.handle, [times]

    def handle_and_delete(method, path, params):
        if path.endswith("/" + resource) and str(params.get("page")) == "2" and left[0]:
            left[0] -= 1
            fake.shop.remove_product(next(iter(fake.shop.products)))
        return handle(method, path, params)

    fake.shop.handle = handle_and_delete


def test_rows_deleted_during_a_read_make_it_read_the_table_again_without_losing_rows(fake):
    client = make_client(fake.url)
    listing = Listing("s", "product-stocks", {"order": "stock_id ASC"}, id_field="stock_id")
    first = client.first_pages([listing])[0]["s"]
    _delete_during_read(fake, "product-stocks", times=1)
    rows = list(client.iter_rows(listing, first))
    ids = [r["stock_id"] for r in rows]
    assert len(ids) == len(set(ids))  # the second pass does not repeat rows
    assert set(fake.shop.stocks) <= set(ids)  # and nothing that exists was skipped


def test_a_table_that_keeps_changing_ends_the_read(fake):
    client = make_client(fake.url)
    _delete_during_read(fake, "product-stocks", times=2)
    with pytest.raises(PagingError, match="rows were deleted during the read"):
        list(client.iter_rows(Listing("s", "product-stocks", {"order": "stock_id ASC"}, id_field="stock_id")))


# -- the stock write (step 2) -----------------------------------------------------------------

def _login():
    responses.post(SHOP + "/webapi/rest/auth", json={"access_token": "c" * 40, "expires_in": 2592000,
                                                     "token_type": "bearer"})


@responses.activate
@pytest.mark.parametrize("answer", [b"1", b'{"stock_id": "7", "stock": "4"}', b""],
                         ids=["integer 1", "the object", "nothing"])
def test_a_stock_put_sends_only_the_given_fields_and_takes_every_success_reading(answer):
    _login()
    responses.put(SHOP + "/webapi/rest/product-stocks/7", body=answer, content_type="application/json")
    assert make_client(SHOP).update("product-stocks", "7", {"stock": 4}) is True
    assert json.loads(responses.calls[-1].request.body) == {"stock": 4}


@responses.activate
def test_a_stock_put_answered_0_is_not_taken_as_done():
    _login()
    responses.put(SHOP + "/webapi/rest/product-stocks/7", json=0)
    with pytest.raises(HttpError, match="did not confirm"):
        make_client(SHOP).update("product-stocks", "7", {"stock": 4})


@responses.activate
@pytest.mark.parametrize("status", [400, 409, 423, 503])
def test_a_locked_object_is_object_locked_whatever_the_status(status):
    _login()
    responses.put(SHOP + "/webapi/rest/product-stocks/7", status=status,
                  json={"error": "temporarily_unavailable", "error_description": "Object is locked"})
    with pytest.raises(ObjectLocked, match="locked"):
        make_client(SHOP).update("product-stocks", "7", {"stock": 4})
    assert len([c for c in responses.calls if c.request.method == "PUT"]) == 1  # sent once


@responses.activate
def test_a_stock_put_without_write_rights_names_the_right():
    _login()
    responses.put(SHOP + "/webapi/rest/product-stocks/7", status=403,
                  json={"error": "insufficient_scope", "error_description": "no access"})
    with pytest.raises(AuthError, match="write access to Asortyment"):
        make_client(SHOP).update("product-stocks", "7", {"stock": 4})


@responses.activate
def test_a_missing_object_is_false_on_write_and_none_on_read():
    _login()
    missing = {"error": "invalid_request", "error_description": "Object not found"}
    responses.put(SHOP + "/webapi/rest/product-stocks/7", status=404, json=missing)
    responses.get(SHOP + "/webapi/rest/product-stocks/7", status=404, json=missing)
    client = make_client(SHOP)
    assert client.update("product-stocks", "7", {"stock": 4}) is False
    assert client.find("product-stocks", "7") is None


@responses.activate
def test_a_stock_put_failing_with_5xx_is_not_resent_by_the_http_layer():
    # a resend could land after a sale in the shop and overwrite it: the stock service decides
    _login()
    responses.put(SHOP + "/webapi/rest/product-stocks/7", status=500, json={"error": "server_error"})
    with pytest.raises(HttpError, match="HTTP 500"):
        make_client(SHOP).update("product-stocks", "7", {"stock": 4})
    assert len([c for c in responses.calls if c.request.method == "PUT"]) == 1
