"""Client and connector behaviour against `responses` and the local fake webservice."""

from __future__ import annotations

import json
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest
import responses
from requests.auth import HTTPBasicAuth

from gwsync.connector import ReadContext
from gwsync.errors import AuthError, ConfigError, HttpError, SyncError
from gwsync.http import CallStats, HttpClient
from gwsync.kit import PagingError
from gwsync.models import Present, Product, StockUpdate
from gwsync_prestashop.client import MAX_ID, PrestaShopClient, api_base, resources_of, rows_of
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import GOOD_KEY, PrestaShopFake

BASE = "https://shop.example.pl/api/"


@pytest.mark.parametrize("typed, expected", [
    ("https://shop.example.pl", BASE), ("https://shop.example.pl/", BASE), ("https://shop.example.pl/api", BASE),
    ("https://shop.example.pl/api/", BASE), (" https://host/sklep ", "https://host/sklep/api/"),
    ("https://host/sklep/api/", "https://host/sklep/api/"), ("http://host:8080/a/b/API", "http://host:8080/a/b/api/"),
])
def test_base_url_forms(typed, expected):
    assert api_base(typed) == expected


def test_base_url_must_be_http():
    with pytest.raises(ConfigError):
        api_base("shop.example.pl")


def test_shop_identity_is_host_and_folder():
    assert PrestaShopConnector({"url": "https://Shop.example.pl/sklep/api/", "api_key": GOOD_KEY}).shop == \
        "shop.example.pl/sklep"
    assert PrestaShopConnector({"url": "https://a.pl", "api_key": GOOD_KEY, "shop_id": 2}).shop == "a.pl#shop2"


@pytest.mark.parametrize("body", [[], {"products": []}, {}, ""])
def test_empty_lists_in_every_shape(body):
    assert rows_of(body, "products") == []


def client(retries: int = 0) -> PrestaShopClient:
    http = HttpClient(BASE, service="prestashop", stats=CallStats(), retries=retries)
    c = PrestaShopClient(http, GOOD_KEY)
    c._probed = {"resources": set(), "version": None}  # paging tests skip the first-call probe
    return c


@responses.activate
def test_paging_asks_for_ids_above_the_last_one_and_stops_at_a_short_page():
    for after, ids in ((0, (3, 7)), (7, (8, 12)), (12, (20,))):
        responses.get(BASE + "products", json={"products": [{"id": i} for i in ids]},
                      match=[responses.matchers.query_param_matcher(
                          {"output_format": "JSON", "display": "full", "sort": "[id_ASC]",
                           "filter[id]": f"[{after + 1},{MAX_ID}]", "limit": "2"})])
    ids = [r["id"] for page in client().iter_pages("products", {"display": "full"}, 2) for r in page]
    assert ids == [3, 7, 8, 12, 20] and len(responses.calls) == 3


def test_root_listing_is_a_flat_list_of_names_in_json():
    # WebserviceOutputJSON::renderNodeHeader appends each resource node's name to a plain list
    assert resources_of(["addresses", "products", "taxes"]) == {"addresses", "products", "taxes"}
    assert resources_of({"api": {"products": {"get": "true"}}}) == {"products"}
    assert resources_of([]) == set()


@responses.activate
def test_paging_ends_on_an_empty_list_answer():
    responses.get(BASE + "products", json={"products": [{"id": 1}, {"id": 2}]})
    responses.get(BASE + "products", json=[])
    assert len(client().list_all("products", page_size=2)) == 2 and len(responses.calls) == 2


@responses.activate
def test_a_repeated_page_fails_instead_of_looping():
    responses.get(BASE + "products", json={"products": [{"id": 1}, {"id": 2}]})
    with pytest.raises(PagingError, match="does not move past it; the platform seems to ignore the key filter"):
        client().list_all("products", page_size=2)


@responses.activate
def test_a_5xx_on_a_big_page_halves_the_page_size():
    responses.get(BASE + "products", status=500, body="Fatal error: Allowed memory size exhausted")
    responses.get(BASE + "products", json={"products": [{"id": i} for i in range(1, 11)]})
    client().list_all("products", page_size=100)
    assert "limit=50" in responses.calls[1].request.url


@responses.activate
def test_php_notices_instead_of_json_give_one_clear_line():
    responses.get(BASE + "products", body="<b>Notice</b>: Undefined index", content_type="text/html")
    with pytest.raises(HttpError, match="debug mode"):
        client().list_all("products")


@pytest.mark.parametrize("status, errors, needle", [
    (401, [{"code": 18, "message": "Invalid authentication key format"}], "wrong format"),
    (401, [{"code": 20, "message": "Authentification key is not active"},
           {"code": 21, "message": "No permission for this authentication key"}], "Status to Enabled"),
    (401, [{"code": 26, "message": 'Resource of type "products" is not allowed'}], "tick View (GET) for 'products'"),
    (503, [{"code": 22, "message": "The PrestaShop webservice is disabled."}], "Enable PrestaShop's webservice"),
    (405, [{"code": 25, "message": "Method GET is not allowed"}], "method on 'products'"),
    (403, [{"code": 132, "message": "No permission for this key on this shop"}], "tick the shop"),
])
@responses.activate
def test_errors_say_what_to_fix_and_exit_3(status, errors, needle):
    responses.get(BASE + "products", status=status, json={"errors": errors})
    with pytest.raises(AuthError, match=None) as info:
        client().list_all("products")
    assert needle in str(info.value) and info.value.exit_code == 3 and "\n" not in str(info.value)


@responses.activate
def test_xml_error_bodies_are_understood():
    body = ('<?xml version="1.0" encoding="UTF-8"?><prestashop><errors><error><code><![CDATA[26]]></code>'
            '<message><![CDATA[Resource of type "taxes" is not allowed]]></message></error></errors></prestashop>')
    responses.get(BASE + "taxes", status=401, body=body, content_type="text/xml")
    with pytest.raises(AuthError, match="'taxes'"):
        client().list_all("taxes")


@responses.activate
def test_html_403_is_reported_as_a_firewall():
    responses.get(BASE + "products", status=403, body="<html>Access denied</html>", content_type="text/html")
    with pytest.raises(AuthError, match="firewall"):
        client().list_all("products")


# -- against the fake ----------------------------------------------------------------

@pytest.fixture
def fake():
    with PrestaShopFake.running() as fake:
        fake.seed(30)
        yield fake


def connector(fake, **extra) -> PrestaShopConnector:
    return PrestaShopConnector({**fake.config(), **extra})


def test_check_names_the_shop_and_version(fake):
    line = connector(fake).check()
    assert "PrestaShop 8.1.2" in line and "Sklep Testowy" in line and "language pl" in line


def test_a_key_of_the_wrong_length_is_refused_before_any_call(fake):
    with pytest.raises(AuthError, match="32-character"):
        connector(fake, api_key="short").check()
    assert fake.calls["total"] == 0


def test_bad_key_is_an_auth_error(fake):
    with pytest.raises(AuthError, match="refuses this webservice key"):
        PrestaShopConnector(fake.bad_config()).check()


def test_disabled_webservice_is_one_call_not_a_retry_storm(fake):
    fake.shop.webservice_enabled = False
    with pytest.raises(AuthError, match="webservice is disabled"):
        connector(fake).check()
    assert fake.calls["total"] == 1


def test_missing_resource_permissions_are_named_at_check(fake):
    fake.shop.keys[GOOD_KEY]["resources"] -= {"taxes", "tax_rules"}
    with pytest.raises(AuthError, match="tax_rules, taxes"):
        connector(fake).check()


def test_check_says_whether_the_key_may_write_stock_and_serve_refuses_a_key_that_may_not(fake):
    assert connector(fake).check().endswith("the key may write stock (serve)")
    fake.shop.keys[GOOD_KEY]["no_put"].add("stock_availables")
    assert "the key may not write stock: in Advanced Parameters > Webservice" in connector(fake).check()
    with pytest.raises(ConfigError, match="may not modify stock, so serve cannot write a sale"):
        connector(fake).stock_writer()
    fake.shop.keys[GOOD_KEY]["resources"].discard("stock_availables")  # not listed at all: no permission
    assert connector(fake).client.may_put("stock_availables") is False


ROOT = ('<?xml version="1.0" encoding="UTF-8"?><prestashop xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<api shopName="Shop">{}</api></prestashop>')


@pytest.mark.parametrize("answer, expected", [
    ((200, ROOT.format('<stock_availables get="true" put="true" post="false" head="true"/>')), True),
    ((200, ROOT.format('<stock_availables get="true" put="false" head="true"/>')), False),
    ((200, ROOT.format('<products get="true" put="false" head="true"/>')), False),
    ((200, ROOT.format("<stock_availables/><products/>")), None),  # a listing without flags says nothing
    ((200, ROOT.format("<products/>")), None),
    ((200, "<html>maintenance</html>"), None),
    ((200, '<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'), None),  # entities are refused, not expanded
    ((500, "<html>error</html>"), None),
], ids=["put", "no-put", "not-listed", "no-flags", "no-flags-not-listed", "html", "entities", "5xx"])
@responses.activate
def test_may_put_reads_the_xml_listing_and_tolerates_what_it_cannot_read(answer, expected):
    status, body = answer
    responses.get(BASE, body=body, status=status, content_type="text/xml")
    assert client().may_put("stock_availables") is expected
    assert "output_format" not in responses.calls[0].request.url  # the JSON listing has no flags


def test_stripped_authorization_header_is_diagnosed_with_one_ws_key_call(fake, caplog):
    fake.shop.strip_authorization = True
    for action in (lambda c: c.check(), lambda c: list(c.read(ReadContext()))):
        fake.shop.requests.clear()
        with pytest.raises(AuthError) as info:
            action(connector(fake))
        message = str(info.value)
        assert "drops the Authorization header" in message and "the key itself works" in message
        assert GOOD_KEY not in message and GOOD_KEY not in caplog.text
        with_key = [r for r in fake.shop.requests if "ws_key=" in r]
        assert len(fake.shop.requests) == 2 and len(with_key) == 1 and with_key[0].startswith("/api/?")


def test_stripped_header_and_a_bad_key_says_both(fake):
    fake.shop.strip_authorization = True
    with pytest.raises(AuthError, match="refused even in the URL"):
        PrestaShopConnector(fake.bad_config()).check()


def test_key_in_url_opt_in_works_on_such_hosts_and_images_urls_stay_clean(fake):
    fake.shop.strip_authorization = True
    c = connector(fake, key_in_url="yes")
    items = list(c.read(ReadContext()))
    image = next(i for i in items if isinstance(i, Product) and i.images).images[0]
    assert "ws_key" not in image.url and GOOD_KEY not in image.url
    assert c.fetch_image(image.url).content.startswith(b"\xff\xd8")


def test_images_are_fetched_with_basic_auth(fake):
    c = connector(fake)
    product = next(i for i in c.read(ReadContext()) if isinstance(i, Product) and i.images)
    response = c.fetch_image(product.images[0].url)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert not any("ws_key" in r for r in fake.shop.requests)


def test_429_and_500_are_retried(fake):
    c = connector(fake)
    fake.shop.fail_next(429, 1, {"Retry-After": "0"})  # the first call falls back to the retrying client
    assert c.check()
    fake.shop.fail_next(429, 1, {"Retry-After": "0"})
    fake.shop.fail_next(500, 1)
    assert c.client.list_all("languages")
    assert c.stats.retries >= 2 and c.stats.throttled >= 2


def test_language_setting_picks_the_texts(fake):
    en = next(i for i in connector(fake, language="EN").read(ReadContext()) if isinstance(i, Product))
    assert en.name.startswith("Product ")
    with pytest.raises(ConfigError, match="pl"):
        list(connector(fake, language="de").read(ReadContext()))


# -- bulk plan and incremental reads -------------------------------------------------------

def run(c, cursor=None, known=frozenset()):
    ctx = ReadContext(cursor=cursor, full=cursor is None, known_product_ids=known)
    items = list(c.read(ctx))
    return items, ctx


def accounted(items) -> set[str]:
    """Every product id a read reports: yielded items and the ids it says are still present."""
    out = set()
    for item in items:
        out.update(item.product_ids if isinstance(item, Present) else [item.product_id])
    return out


def test_full_read_is_bulk_and_accounts_for_every_product(fake):
    fake.seed(270)  # 300 products
    items, ctx = run(connector(fake))
    products = [i for i in items if isinstance(i, Product)]
    assert len(products) == 300 and sum(len(p.variants) or 1 for p in products) == fake.expected_items()
    per = Counter({k: v for k, v in fake.calls.items() if k != "total"})
    assert per["products"] == 4 and per["combinations"] == 3 and per["stock_availables"] == 3
    assert fake.calls["total"] <= 10 + 9
    assert json.loads(ctx.new_cursor)["since"]


def test_unchanged_rerun_reads_in_bulk_and_re_reads_only_the_newest(fake):
    c = connector(fake)
    items, ctx = run(c)
    known = frozenset(i.product_id for i in items)
    fake.shop.calls.clear()
    again, ctx2 = run(c, ctx.new_cursor, known)
    kinds = Counter(type(i).__name__ for i in again)
    assert kinds["Product"] == 1  # the newest date_upd: closed window
    assert accounted(again) == known
    assert fake.calls["total"] <= 15 and fake.calls["images"] == 0


def test_changed_price_stock_new_and_removed_products(fake):
    c = connector(fake)
    items, ctx = run(c)
    known = frozenset(i.product_id for i in items)
    price_id, _ = fake.change_price()
    stock_id, stock_variant = fake.change_stock()
    added, removed = fake.add_product(), fake.remove_product()
    again, _ = run(c, ctx.new_cursor, known)
    products = {i.product_id: i for i in again if isinstance(i, Product)}
    assert price_id in products and added in products
    assert removed not in accounted(again)
    update = next(i for i in again if isinstance(i, StockUpdate) and i.product_id == stock_id
                  and i.variant_id == stock_variant)
    assert update.stock == int(fake.shop.stock_row(int(stock_id), int(stock_variant or 0))["quantity"])


def test_combination_edit_without_date_upd_re_reads_the_product(fake):
    c = connector(fake)
    items, ctx = run(c)
    known = frozenset(i.product_id for i in items)
    cid, combo = next(iter(sorted(fake.shop.combinations.items())))
    combo["reference"] = "NEW-REF"  # PrestaShop may not bump the product's date_upd for this
    again, _ = run(c, ctx.new_cursor, known)
    product = next(i for i in again if isinstance(i, Product) and i.product_id == combo["id_product"])
    assert any(v.sku == "NEW-REF" for v in product.variants)


def test_price_written_straight_into_the_database_arrives_as_a_price_update(fake):
    c = connector(fake)
    items, ctx = run(c)
    known = frozenset(i.product_id for i in items)
    pid = next(p for p, r in sorted(fake.shop.products.items()) if not r["associations"].get("combinations"))
    fake.shop.products[pid]["price"] = "100.000000"  # no date_upd change (ERP/SQL writers)
    again, _ = run(c, ctx.new_cursor, known)
    update = next(i for i in again if isinstance(i, StockUpdate) and i.product_id == str(pid))
    assert str(update.price) == "123.00"


def test_inactive_unchanged_product_is_present_not_updated(fake):
    c = connector(fake)
    pid = fake.shop.add_product(active=False)
    items, ctx = run(c)
    assert next(i for i in items if i.product_id == str(pid)).active is False
    again, _ = run(c, ctx.new_cursor, frozenset(i.product_id for i in items))
    assert str(pid) in accounted(i for i in again if isinstance(i, (Present, Product)))
    assert not any(isinstance(i, StockUpdate) and i.product_id == str(pid) for i in again)


def test_a_failing_page_raises_so_nothing_is_archived(fake):
    fake.seed(150)
    c = PrestaShopConnector(fake.config())
    c.client.http = c.http(c.base, auth=HTTPBasicAuth(GOOD_KEY, ""), retries=0)  # the fault must surface
    fake.shop.fail_next(502, 12)
    with pytest.raises(SyncError):
        list(c.read(ReadContext()))


def test_a_product_deleted_during_the_read_hides_no_other_product(fake):
    fake.seed(220)  # 250 products: three pages of 100
    c = connector(fake)
    before = {str(pid) for pid in fake.shop.products}
    seen: set[str] = set()
    for item in c.read(ReadContext()):
        if not seen:  # page 1 is in hand: a product on it disappears before page 2 is asked for
            fake.shop.remove(2)
        seen.add(item.product_id)
    assert before - seen == set()  # with limit=offset,count product 101 would be missing (and archived)


def test_a_product_edited_during_the_read_is_re_read_by_the_next_run(fake):
    fake.seed(220)
    c = connector(fake)
    ctx = ReadContext()
    first, last = min(fake.shop.products), max(fake.shop.products)
    for item in c.read(ctx):
        if item.product_id == str(first):  # its page is read: edit it, then a product on a later page
            fake.shop.products[first]["name"] = {"1": "Nowa nazwa", "2": "New name"}
            fake.shop.products[first]["date_upd"] = fake.shop.tick()
            fake.shop.products[last]["date_upd"] = fake.shop.products[first]["date_upd"][:-1] + "9"
    again, _ = run(c, ctx.new_cursor, frozenset(str(p) for p in fake.shop.products))
    assert next(i for i in again if i.product_id == str(first)).name == "Nowa nazwa"


def test_taxes_switched_off_in_the_shop_send_the_net_price_as_vat0(fake):
    next(r for r in fake.shop.configurations if r["name"] == "PS_TAX")["value"] = "0"
    pid = fake.shop.add_product(net="100.000000")
    product = next(i for i in connector(fake).read(ReadContext()) if i.product_id == str(pid))
    assert (product.vat, str(product.price)) == (0, "100.00")


def test_get_not_ticked_for_a_resource_is_405_code_25_with_the_fix(fake):
    fake.shop.keys[GOOD_KEY]["no_get"] = {"combinations"}
    with pytest.raises(AuthError, match="tick View \\(GET\\) for 'combinations'") as info:
        list(connector(fake).read(ReadContext()))
    assert GOOD_KEY not in str(info.value)


# -- promotions (issue 13.4) --------------------------------------------------------------------

def test_a_promotion_follows_its_dates_without_a_product_change_in_one_listing_per_run(fake):
    c = connector(fake)
    pid = next(p for p, r in sorted(fake.shop.products.items()) if not r["associations"].get("combinations"))
    promo = fake.shop.add_specific_price(pid, reduction="0.250000", start="2099-01-01 00:00:00")
    items, ctx = run(c)
    regular = next(i for i in items if isinstance(i, Product) and i.product_id == str(pid)).price
    known = frozenset(i.product_id for i in items)
    promo["from"] = "2020-01-01 00:00:00"  # it starts: the product itself does not change
    fake.shop.calls.clear()
    again, ctx2 = run(c, ctx.new_cursor, known)
    update = next(i for i in again if isinstance(i, StockUpdate) and i.product_id == str(pid))
    net = Decimal(fake.shop.products[pid]["price"])
    assert update.price == (net * Decimal("1.23") * Decimal("0.75")).quantize(Decimal("0.01"), ROUND_HALF_UP) < regular
    assert fake.calls["specific_prices"] == 1 and fake.calls["total"] <= 15
    promo["to"] = "2020-12-31 23:59:59"  # it ended
    back, _ = run(c, ctx2.new_cursor, known)
    assert next(i for i in back if isinstance(i, StockUpdate) and i.product_id == str(pid)).price == regular


def test_price_regular_sends_no_promotion_and_reads_none(fake):
    pid = next(p for p, r in sorted(fake.shop.products.items()) if not r["associations"].get("combinations"))
    fake.shop.add_specific_price(pid, reduction="0.250000")
    c = PrestaShopConnector({**fake.config(), "price": "regular"})
    items, _ = run(c)
    product = next(i for i in items if isinstance(i, Product) and i.product_id == str(pid))
    assert product.price == gross(fake.shop.products[pid]["price"]) and fake.calls["specific_prices"] == 0
    with pytest.raises(ConfigError, match="PRESTASHOP_PRICE"):
        PrestaShopConnector({**fake.config(), "price": "sale"})


def test_a_key_without_specific_prices_sends_regular_prices_and_says_so(fake):
    fake.shop.keys[GOOD_KEY]["resources"] -= {"specific_prices"}
    items, ctx = run(connector(fake))
    assert any(isinstance(i, Product) for i in items)
    assert any("specific_prices" in note for note in ctx.notes)


def gross(net: str) -> Decimal:
    return (Decimal(net) * Decimal("1.23")).quantize(Decimal("0.01"))


def test_the_daily_full_read_says_its_listing_is_complete(fake):
    c = connector(fake)
    items, ctx = run(c)
    known = frozenset(i.product_id for i in items)
    stale = json.loads(ctx.new_cursor)
    stale["full_at"] = "2020-01-01T00:00:00+00:00"
    removed = fake.remove_product()
    again, ctx2 = run(c, json.dumps(stale), known)
    # the engine began it as incremental: the empty Present marks it a complete listing
    assert [i for i in again if isinstance(i, Present)] == [Present(product_ids=())] and ctx2.full
    assert removed not in accounted(again) and any("full read" in n for n in ctx2.notes)
