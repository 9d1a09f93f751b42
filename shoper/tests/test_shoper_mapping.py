"""Mapping rules, one test each, on the written Shoper records in fixtures/."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from datetime import datetime

from gwsync.models import ImageAccess, Product, Skipped, StockUpdate
from gwsync_shoper import mapping

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://sklep123.shoparena.pl"


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def lookups(language="pl_PL", **kwargs):
    return mapping.build_lookups(
        BASE + "/", language, taxes=load("taxes.json")["list"], options=load("options.json")["list"],
        option_values=load("option_values.json")["list"], categories=load("categories.json")["list"],
        tree=load("categories_tree.json"), **kwargs)


def map_51(product=None, stocks=None, images=None, language="pl_PL"):
    items = mapping.map_product(product or load("product_51.json"),
                                load("stocks_51.json")["list"] if stocks is None else stocks,
                                load("images_51.json")["list"] if images is None else images,
                                lookups(language))
    return items


def only_product(items):
    assert len(items) == 1 and isinstance(items[0], Product), items
    return items[0]


def test_product_identity_and_texts_come_from_the_pl_translation():
    product = only_product(map_51())
    assert product.product_id == "51"
    assert product.name == "Bluza z kapturem"
    assert product.brief == "<p>Bawełna</p>"
    assert product.description == "<p>Bluza unisex…</p>"
    assert product.sku == "BLZ-51"
    assert product.ean is None  # "" is left out


def test_base_row_is_not_a_variant_when_extended_rows_exist():
    product = only_product(map_51())
    assert [v.variant_id for v in product.variants] == ["204", "205"]


def test_variant_price_is_the_gross_comp_price_not_the_delta():
    variants = {v.variant_id: v for v in only_product(map_51()).variants}
    assert variants["204"].price == Decimal("159.00")  # price_type 2: 149 + 10
    assert variants["205"].price == Decimal("149.00")  # price_type 0: the product's price


def test_variant_price_is_computed_when_comp_price_is_missing():
    stocks = load("stocks_51.json")["list"]
    for row in stocks:
        row.pop("comp_price")
    stocks.append({"stock_id": "206", "product_id": "51", "extended": "1", "price": "20.00",
                   "price_type": "3", "stock": "1", "code": "BLZ-51-S", "options": {"3": "11", "4": "21"}})
    variants = {v.variant_id: v for v in only_product(map_51(stocks=stocks)).variants}
    assert variants["204"].price == Decimal("159.00")
    assert variants["205"].price == Decimal("149.00")
    assert variants["206"].price == Decimal("129.00")


def test_product_price_is_gross_decimal_from_the_base_stock():
    product = only_product(map_51())
    assert product.price == Decimal("149.00") and isinstance(product.price, Decimal)


def test_variant_sku_ean_and_options_by_name():
    variant = only_product(map_51()).variants[0]
    assert variant.sku == "BLZ-51-M"
    assert variant.ean == "5901234111117"
    assert variant.options == {"Rozmiar": "M"}


def test_option_names_follow_the_configured_language():
    product = only_product(map_51(language="en_GB"))
    assert product.variants[0].options == {"Size": "M"}
    assert product.name == "Hooded sweatshirt"


def test_options_in_the_sdk_list_form_are_understood():
    stocks = load("stocks_51.json")["list"]
    stocks[1]["options"] = [{"option_id": 3, "value_id": 11}, {"option_id": 4, "value_id": 22}]
    variant = only_product(map_51(stocks=stocks)).variants[0]
    assert variant.options == {"Rozmiar": "M", "Kolor": "Niebieski"}


def test_stock_strings_become_whole_non_negative_numbers():
    variants = only_product(map_51()).variants
    assert [v.stock for v in variants] == [7, 6]  # "7", "6.0"
    assert mapping.to_stock("-3") == 0
    assert mapping.to_stock("2.75") == 2
    assert mapping.to_stock(None) == 0


def test_vat_is_an_int_from_the_tax_id():
    product = only_product(map_51())
    assert product.vat == 23 and isinstance(product.vat, int)


@pytest.mark.parametrize("tax_id,rate", [("2", 8), ("3", 5), ("4", 0), ("5", 0)])
def test_vat_rates_including_zw_and_np(tax_id, rate):
    record = load("product_51.json")
    record["tax_id"] = tax_id
    assert only_product(map_51(product=record)).vat == rate


def test_a_fractional_vat_rate_is_skipped_with_a_reason():
    record = load("product_51.json")
    record["tax_id"] = "6"
    [item] = map_51(product=record)
    assert isinstance(item, Skipped) and "not a whole VAT rate" in item.reason


def test_an_unknown_tax_id_is_skipped():
    record = load("product_51.json")
    record["tax_id"] = "99"
    [item] = map_51(product=record)
    assert isinstance(item, Skipped) and "unknown tax_id 99" in item.reason


def test_images_are_public_files_with_their_real_extension_main_first_hidden_left_out():
    images = only_product(map_51()).images
    assert [i.url for i in images] == [BASE + "/userdata/public/gfx/9f1c0b5e7a.jpg",
                                       BASE + "/userdata/public/gfx/0a2b7c9d1e.png"]
    assert all(i.access is ImageAccess.PUBLIC for i in images)
    assert images[0].key == "gfx:310:9f1c0b5e7a"


def test_variant_image_is_the_stock_rows_gfx():
    variants = only_product(map_51()).variants
    assert [i.url for i in variants[0].images] == [BASE + "/userdata/public/gfx/0a2b7c9d1e.png"]
    assert variants[1].images == ()  # inherits the product's


def test_main_image_is_used_when_there_are_no_image_rows():
    images = only_product(map_51(images=[])).images
    assert [i.url for i in images] == [BASE + "/userdata/public/gfx/9f1c0b5e7a.jpg"]


def test_no_images_at_all():
    record = load("product_51.json")
    del record["main_image"]
    assert only_product(map_51(product=record, images=[])).images == ()


def test_category_path_from_the_tree_root_down():
    assert only_product(map_51()).category_path == ("Odzież", "Bluzy")


def test_category_unknown_to_the_tree_is_a_one_level_path_and_missing_is_empty():
    record = load("product_51.json")
    record["category_id"] = "12"
    assert only_product(map_51(product=record)).category_path == ("Wyprzedaż",)
    record["category_id"] = None
    assert only_product(map_51(product=record)).category_path == ()


def test_inactive_lives_in_the_translation():
    assert only_product(map_51()).active is True
    assert only_product(map_51(language="en_GB")).active is False


def test_inactive_variant_row():
    stocks = load("stocks_51.json")["list"]
    stocks[2]["active"] = "0"
    variants = only_product(map_51(stocks=stocks)).variants
    assert [v.active for v in variants] == [True, False]


def test_product_without_variants_uses_the_base_row():
    stocks = [load("stocks_51.json")["list"][0]]
    stocks[0]["stock"] = "12"
    product = only_product(map_51(stocks=stocks))
    assert product.variants == ()
    assert product.stock == 12 and product.price == Decimal("149.00")


def test_product_options_list_is_not_the_variant_list():
    stocks = [load("stocks_51.json")["list"][0]]
    record = load("product_51.json")
    record["options"] = [3, 4, 5]
    assert only_product(map_51(product=record, stocks=stocks)).variants == ()


def test_zero_price_product_is_skipped():
    stocks = [load("stocks_51.json")["list"][0]]
    stocks[0]["comp_price"] = "0.00"
    [item] = map_51(stocks=stocks)
    assert isinstance(item, Skipped) and "price" in item.reason


def test_zero_price_variant_is_skipped_alone():
    stocks = load("stocks_51.json")["list"]
    stocks[2]["comp_price"] = "0.00"
    product, skipped = map_51(stocks=stocks)
    assert [v.variant_id for v in product.variants] == ["204"]
    assert isinstance(skipped, Skipped) and skipped.variant_id == "205"


def test_missing_name_is_skipped_with_a_readable_reason():
    record = load("product_51.json")
    record["translations"] = {}
    [item] = map_51(product=record)
    assert isinstance(item, Skipped) and item.reason.startswith("invalid record: name")


def test_missing_language_falls_back_to_another_translation():
    record = load("product_51.json")
    del record["translations"]["pl_PL"]
    assert only_product(map_51(product=record)).name == "Hooded sweatshirt"


def test_variant_without_options_keeps_a_readable_label():
    stocks = load("stocks_51.json")["list"]
    stocks[1]["options"] = []
    assert only_product(map_51(stocks=stocks)).variants[0].options == {"Wariant": "BLZ-51-M"}


def test_unchanged_product_reports_stock_and_price_per_variant():
    updates = mapping.stock_updates("51", load("stocks_51.json")["list"], lookups())
    assert updates == [StockUpdate(product_id="51", variant_id="204", stock=7, price=Decimal("159.00")),
                       StockUpdate(product_id="51", variant_id="205", stock=6, price=Decimal("149.00"))]


def test_unchanged_simple_product_reports_its_base_row_and_unpriced_is_only_present():
    base = load("stocks_51.json")["list"][0]
    assert mapping.stock_updates("51", [base], lookups()) == [
        StockUpdate(product_id="51", stock=0, price=Decimal("149.00"))]
    zero = copy.deepcopy(base)
    zero["comp_price"] = "0"
    assert mapping.stock_updates("51", [zero], lookups()) == []  # the connector lists it in Present


# -- promotions (price = current | regular) -------------------------------------------------

FEB = datetime(2026, 2, 10, 12, 0)


def promo_lookups(now=FEB, mode="current"):
    return lookups(price_mode=mode, offers=mapping.active_offers(load("specialoffers.json")["list"], now))


def test_only_offers_running_now_count():
    assert set(mapping.active_offers(load("specialoffers.json")["list"], FEB)) == {"51"}
    assert mapping.active_offers(load("specialoffers.json")["list"], datetime(2026, 3, 1)) == {}
    assert set(mapping.active_offers(load("specialoffers.json")["list"], datetime(2026, 1, 15))) == {"52"}


def test_a_product_under_a_promotion_is_sent_at_the_price_a_customer_pays():
    product = mapping.map_product(load("product_51.json"), load("stocks_51_promo.json")["list"],
                                  load("images_51.json")["list"], promo_lookups())[0]
    assert product.price == Decimal("119.20")
    prices = {v.variant_id: v.price for v in product.variants}
    # 204: Shoper's own promotion price; 205 has none: the offer's 20 % off its 149.00
    assert prices == {"204": Decimal("127.20"), "205": Decimal("119.20")}


def test_price_regular_keeps_the_regular_price_and_an_ended_offer_is_ignored():
    for lk in (promo_lookups(mode="regular"), promo_lookups(now=datetime(2026, 3, 1))):
        product = mapping.map_product(load("product_51.json"), load("stocks_51_promo.json")["list"],
                                      load("images_51.json")["list"], lk)[0]
        assert product.price == Decimal("149.00")
        assert {v.variant_id: v.price for v in product.variants} == {"204": Decimal("159.00"),
                                                                     "205": Decimal("149.00")}


def test_the_stock_pass_carries_promotion_prices_too():
    updates = mapping.stock_updates("51", load("stocks_51_promo.json")["list"], promo_lookups())
    assert [(u.variant_id, u.price) for u in updates] == [("204", Decimal("127.20")), ("205", Decimal("119.20"))]


def test_an_amount_off_offer_limited_to_some_rows():
    offer = {"promo_id": "9", "product_id": "51", "date_from": "2026-02-01", "date_to": "",
             "discount": "9.00", "discount_type": "2", "stocks": [{"stock_id": "205"}]}
    lk = lookups(offers=mapping.active_offers([offer], FEB))
    updates = mapping.stock_updates("51", load("stocks_51.json")["list"], lk)
    assert [(u.variant_id, u.price) for u in updates] == [("204", Decimal("159.00")), ("205", Decimal("140.00"))]


# -- images without an extension (real shops' rows) -----------------------------------------

def test_image_rows_without_extension_are_resolved_by_the_connector_not_dropped():
    product = only_product(map_51(images=load("images_51_no_extension.json")["list"]))
    assert [(i.access, i.key) for i in product.images] == [(ImageAccess.AUTH, "gfx:310:9f1c0b5e7a"),
                                                           (ImageAccess.AUTH, "gfx:311:0a2b7c9d1e")]
    first, second = (mapping.image_candidates(i.url) for i in product.images)
    assert first == [f"{BASE}/userdata/public/gfx/9f1c0b5e7a.{e}" for e in ("jpg", "png", "webp", "gif", "jpeg")] \
        + [f"{BASE}/userdata/gfx/9f1c0b5e7a.jpg"]
    assert second[0] == f"{BASE}/userdata/public/gfx/0a2b7c9d1e.png"  # the original name's extension first


def test_main_image_without_extension_is_kept_too():
    product = load("product_51.json")
    del product["main_image"]["extension"]
    images = only_product(map_51(product=product, images=[])).images
    assert [i.key for i in images] == ["gfx:310:9f1c0b5e7a"]


def test_tax_rate_parsing():
    assert mapping.tax_rate({"name": "23%", "value": "23.00"}) == 23
    assert mapping.tax_rate({"name": "ZW", "value": "0.00"}) == 0
    assert mapping.tax_rate({"name": "x", "value": "abc"}) is None
