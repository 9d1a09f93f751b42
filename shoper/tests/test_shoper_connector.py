"""The connector against the fake shop (leaky bucket on): full and incremental reads, check, errors."""

import functools
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from gwsync.connector import ReadContext
from gwsync.errors import AuthError, ConfigError, HttpError
from gwsync.kit import ChangeCursor
from gwsync.kit import facts as kit_facts
from gwsync.models import Present, Product, StockUpdate
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake


@pytest.fixture
def fake():
    with ShoperFake.running(150) as fake:
        yield fake


def full_read(connector):
    ctx = ReadContext()
    return list(connector.read(ctx)), ctx


def window_start(cursor: str) -> str:
    """Where the next run's `edit_date` window starts, in the shop's time."""
    return ShoperConnector.facts.cursor(ReadContext(cursor=cursor, full=False)).since_text()


def accounted(items) -> set[str]:
    out = set()
    for item in items:
        out.update(item.product_ids if isinstance(item, Present) else [item.product_id])
    return out


def test_settings_order_and_secrecy():
    keys = [s.key for s in ShoperConnector.settings]
    assert keys == ["url", "client_id", "client_secret", "language", "price"]
    secret = {s.key for s in ShoperConnector.settings if s.secret}
    assert secret == {"client_secret"}
    assert [s.key for s in ShoperConnector.settings if s.credential] == ["client_id", "client_secret"]


def test_shop_identity_is_the_host_and_a_pasted_api_address_is_tolerated():
    connector = ShoperConnector({"url": "https://Sklep1.shoparena.pl/webapi/rest/", "client_id": "a",
                                 "client_secret": "b"})
    assert connector.shop == "sklep1.shoparena.pl"
    assert connector.client.http.base_url == "https://Sklep1.shoparena.pl/webapi/rest/"


def test_check_reports_the_shop(fake):
    line = ShoperConnector(fake.config()).check()
    assert "Sklep testowy" in line and "150 products" in line


def test_check_with_a_wrong_password_is_an_auth_error(fake):
    with pytest.raises(AuthError, match="auth_failure"):
        ShoperConnector(fake.bad_config()).check()


def test_check_with_a_language_the_shop_lacks_is_a_config_error(fake):
    with pytest.raises(ConfigError, match="de_DE.*pl_PL"):
        ShoperConnector({**fake.config(), "language": "de_DE"}).check()


def test_full_read_yields_every_product_once_with_its_variants(fake):
    connector = ShoperConnector(fake.config())
    items, ctx = full_read(connector)
    products = [i for i in items if isinstance(i, Product)]
    assert len(products) == len(items) == 150
    assert len({p.product_id for p in products}) == 150
    assert sum(len(p.variants) or 1 for p in products) == fake.expected_items()
    newest = datetime.strptime(max(p["edit_date"] for p in fake.shop.products.values()), "%Y-%m-%d %H:%M:%S")
    start = datetime.strptime(window_start(ctx.new_cursor), "%Y-%m-%d %H:%M:%S")
    assert newest - timedelta(seconds=60) - ShoperConnector.facts.margin <= start < newest  # minus read, margin


def test_full_read_prices_stock_and_images_match_the_shop(fake):
    items, _ = full_read(ShoperConnector(fake.config()))
    for product in items:
        rows = fake.shop.rows_of(product.product_id)
        variants = {r["stock_id"]: r for r in rows if r["extended"] == "1"}
        base = next(r for r in rows if r["extended"] == "0")
        assert product.price == Decimal(base["comp_price"])
        assert {v.variant_id for v in product.variants} == set(variants)
        for v in product.variants:
            assert v.price == Decimal(variants[v.variant_id]["comp_price"])
            assert v.stock == int(Decimal(variants[v.variant_id]["stock"]))
        images = [r for r in fake.shop.images.values() if r["product_id"] == product.product_id]
        assert sorted(i.url.rsplit("/", 1)[1] for i in product.images) == \
            sorted(f"{r['unic_name']}.{r['extension']}" for r in images)


def test_full_read_costs_a_handful_of_bulk_calls_and_no_429(fake):
    connector = ShoperConnector(fake.config())
    full_read(connector)
    assert fake.shop.requests["POST /webapi/rest/bulk"] <= 5
    assert sum(fake.shop.requests.values()) <= 6  # + one login
    assert fake.shop.throttled == 0


def test_incremental_read_rereads_changed_products_and_accounts_for_the_rest(fake):
    connector = ShoperConnector(fake.config())
    _, first = full_read(connector)
    price_id, _ = fake.change_price()
    stock_id, stock_variant = fake.change_stock()
    added = fake.add_product()
    removed = fake.remove_product()

    ctx = ReadContext(cursor=first.new_cursor, full=False)
    items = list(connector.read(ctx))
    products = {i.product_id for i in items if isinstance(i, Product)}
    assert {price_id, added} <= products
    assert stock_id not in products  # a stock change does not move edit_date ...
    updates = [i for i in items if isinstance(i, StockUpdate) and i.product_id == stock_id]
    row = fake.shop.stocks[stock_variant] if stock_variant else None
    if row is not None:  # ... but its stock rows are read again
        assert any(u.variant_id == stock_variant and u.stock == int(Decimal(row["stock"])) for u in updates)
    assert accounted(items) == set(fake.shop.products)  # every product: nothing archived by mistake
    assert removed not in accounted(items)
    assert window_start(ctx.new_cursor) > window_start(first.new_cursor)


def test_incremental_read_reads_images_only_for_changed_products(fake):
    connector = ShoperConnector(fake.config())
    _, first = full_read(connector)
    fake.shop.sub_requests.clear()
    list(connector.read(ReadContext(cursor=first.new_cursor, full=False)))
    images = fake.shop.sub_requests["GET /webapi/rest/product-images"]
    assert images <= 1


def test_read_survives_an_expired_token(fake):
    connector = ShoperConnector(fake.config())
    connector.check()
    fake.expire_tokens()
    items, _ = full_read(connector)
    assert len(items) == 150 and connector.client.refreshes == 1


def test_a_product_missing_from_the_product_pages_is_still_seen(fake, monkeypatch):
    connector = ShoperConnector(fake.config())
    hidden = "7"
    original = connector._product_batches

    def drop(listing, first):
        for batch in original(listing, first):
            yield [r for r in batch if r["product_id"] != hidden]

    monkeypatch.setattr(connector, "_product_batches", drop)
    items, _ = full_read(connector)
    assert hidden in accounted(i for i in items if isinstance(i, (Present, StockUpdate)))


def test_a_failing_page_raises_instead_of_returning_part_of_the_catalog(fake, monkeypatch):
    connector = ShoperConnector(fake.config())
    handle = fake.shop.handle

    def broken(method, path, params):
        if path.endswith("/product-stocks") and str(params.get("page")) == "2":
            return 400, {"error": "invalid_request", "error_description": "broken page"}
        return handle(method, path, params)

    monkeypatch.setattr(fake.shop, "handle", broken)
    with pytest.raises(HttpError, match="broken page"):
        full_read(connector)


def test_language_setting_changes_names(fake):
    items, _ = full_read(ShoperConnector({**fake.config(), "language": "en_GB"}))
    assert all(p.name.startswith("Item ") for p in items)
    options = Counter(k for p in items for v in p.variants for k in v.options)
    assert set(options) <= {"Size", "Colour"}


def test_a_product_saved_after_its_page_was_read_is_read_on_the_next_run(fake, monkeypatch):
    connector = ShoperConnector(fake.config())
    _, first = full_read(connector)
    missed, newest = "1", "2"
    fake.shop.products[newest]["edit_date"] = "2031-01-01 12:00:00"  # saved last, on a page read later
    monotonic = iter([0.0, 4 * 3600.0])  # the read lasts four hours (Gateway writes in between)
    monkeypatch.setattr(kit_facts, "ChangeCursor", functools.partial(ChangeCursor, clock=lambda: next(monotonic)))
    original = connector._product_batches

    def save_meanwhile(listing, first_page):
        for batch in original(listing, first_page):
            yield batch
            fake.shop.products[missed]["edit_date"] = "2031-01-01 10:00:00"  # after its page was read

    monkeypatch.setattr(connector, "_product_batches", save_meanwhile)
    ctx = ReadContext(cursor=first.new_cursor, full=False)
    assert missed not in {i.product_id for i in connector.read(ctx) if isinstance(i, Product)}
    monkeypatch.undo()
    items = list(connector.read(ReadContext(cursor=ctx.new_cursor, full=False)))
    assert missed in {i.product_id for i in items if isinstance(i, Product)}


def test_products_deleted_while_the_stock_table_is_read_lose_no_variant(fake):
    connector = ShoperConnector(fake.config())
    handle, done = fake.shop.handle, []

    def delete_once(method, path, params):
        if path.endswith("/product-stocks") and str(params.get("page")) == "2" and not done:
            done.append(fake.shop.remove_product("1"))
        return handle(method, path, params)

    fake.shop.handle = delete_once
    items, _ = full_read(connector)
    for product in (i for i in items if isinstance(i, Product)):
        assert {v.variant_id for v in product.variants} == {r["stock_id"] for r in fake.shop.variants_of(
            product.product_id)}


@pytest.mark.parametrize("products", [120, 1000])
def test_calls_grow_with_pages_not_products(products):
    with ShoperFake.running(products) as fake:
        full_read(ShoperConnector(fake.config()))
        stock_pages = -(-len(fake.shop.stocks) // 50)
        image_pages = -(-len(fake.shop.images) // 50)
        offer_pages = 1  # the running promotions (price = current): one page, in the same bulk call
        pages = -(-products // 50) + stock_pages + image_pages + offer_pages + 5  # + taxes, options, values, ...
        subs = sum(fake.shop.sub_requests.values())
        assert subs == pages + 1  # + categories-tree: one sub-request per page, none per product
        assert fake.shop.requests["POST /webapi/rest/bulk"] <= 1 + 3 * -(-pages // 25)
        assert fake.shop.throttled == 0


# -- promotions (issue 13.4) -------------------------------------------------------------------

def test_a_promotion_is_sent_and_its_start_and_end_follow_without_a_product_change(fake):
    connector = ShoperConnector(fake.config())
    product_id = "3"
    regular = Decimal(next(r for r in fake.shop.rows_of(product_id) if r["extended"] == "0")["comp_price"])
    offer = fake.shop.add_promotion(product_id, discount="25.00", date_from="2099-01-01 00:00:00")
    items, first = full_read(connector)  # not started yet: the regular price
    assert {p.product_id: p for p in items if isinstance(p, Product)}[product_id].price == regular
    offer["date_from"] = "2025-01-01 00:00:00"  # it starts: no product change, no edit_date
    fake.shop.sub_requests.clear()
    items = list(connector.read(ReadContext(cursor=first.new_cursor, full=False)))
    prices = {u.variant_id: u.price for u in items if isinstance(u, StockUpdate) and u.product_id == product_id}
    rows = {r["stock_id"]: r for r in fake.shop.variants_of(product_id)}
    rows[None] = next(r for r in fake.shop.rows_of(product_id) if r["extended"] == "0")
    assert prices and {v: rows[v]["comp_promo_price"] for v in prices} == {v: str(p) for v, p in prices.items()}
    assert all(p < Decimal(rows[v]["comp_price"]) for v, p in prices.items())
    assert fake.shop.sub_requests["GET /webapi/rest/specialoffers"] == 1  # one read per run, not per product
    offer["date_to"] = "2025-06-01 00:00:00"  # it ended
    items = list(connector.read(ReadContext(cursor=first.new_cursor, full=False)))
    back = {u.variant_id: u.price for u in items if isinstance(u, StockUpdate) and u.product_id == product_id}
    assert back == {v: Decimal(rows[v]["comp_price"]) for v in prices}


def test_price_regular_ignores_promotions_and_does_not_read_them(fake):
    fake.shop.add_promotion("3", discount="25.00")
    items, _ = full_read(ShoperConnector({**fake.config(), "price": "regular"}))
    product = {p.product_id: p for p in items if isinstance(p, Product)}["3"]
    base = next(r for r in fake.shop.rows_of("3") if r["extended"] == "0")
    assert product.price == Decimal(base["comp_price"])
    assert fake.shop.sub_requests["GET /webapi/rest/specialoffers"] == 0
    with pytest.raises(ConfigError, match="SHOPER_PRICE"):
        ShoperConnector({**fake.config(), "price": "promo"})


# -- images without an extension (issue 13.3) --------------------------------------------------

def test_images_without_extension_are_found_by_their_bytes(fake):
    connector = ShoperConnector(fake.config())
    product_id = next(pid for pid in fake.shop.products
                      if any(r["product_id"] == pid for r in fake.shop.images.values()))
    fake.shop.drop_image_extensions(product_id)
    items, _ = full_read(connector)
    product = {p.product_id: p for p in items if isinstance(p, Product)}[product_id]
    rows = [r for r in fake.shop.images.values() if r["product_id"] == product_id]
    assert len(product.images) == len(rows)
    for image in product.images:
        response = connector.fetch_image(image.url)
        unic_name = image.key.split(":")[2]
        assert response.status_code == 200
        assert response.url.endswith(f"{unic_name}.{fake.shop.files[unic_name]}")
        assert response.content[:3] in (b"\xff\xd8\xff", b"\x89PN")


def test_an_image_no_candidate_resolves_is_reported_not_dropped(fake):
    from gwsync.images import BrokenImage
    connector = ShoperConnector(fake.config())
    with pytest.raises(BrokenImage, match="no candidate file is an image"):
        connector.fetch_image(f"{fake.url}/userdata/public/gfx/nosuchfile#no-extension")


def test_a_user_without_the_promotions_right_gets_regular_prices_and_a_note(fake, monkeypatch):
    fake.shop.add_promotion("3", discount="25.00")
    handle = fake.shop.handle

    def refuse(method, path, params):
        if path.endswith("/specialoffers"):
            return 403, {"error": "access_denied", "error_description": "no rights"}
        return handle(method, path, params)

    monkeypatch.setattr(fake.shop, "handle", refuse)
    items, ctx = full_read(ShoperConnector(fake.config()))
    product = {p.product_id: p for p in items if isinstance(p, Product)}["3"]
    assert product.price == Decimal(next(r for r in fake.shop.rows_of("3") if r["extended"] == "0")["comp_price"])
    assert any("specialoffers" in note for note in ctx.notes)
