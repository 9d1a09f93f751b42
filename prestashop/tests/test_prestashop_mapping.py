"""Mapping rules on the recorded PrestaShop responses (copied into tests/fixtures).

Files marked "edited" in the fixtures README are used only where the edit is the
point (trimmed stock rows, a combination without images) and never as evidence
of how the platform behaves. Tax rules and taxes are not recorded: the rows
below follow the resource fields of the platform doc (section 5).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from gwsync.models import ImageAccess, Product, Skipped
from gwsync_prestashop.mapping import (
    Catalog,
    by_id,
    category_path,
    item_prices,
    map_product,
    num,
    running_specific_prices,
    stock_map,
    tax_rates,
    text,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load(name: str):
    """A recorded answer, unwrapped from its `{"product": {...}}` envelope."""
    body = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return next(iter(body.values())) if isinstance(body, dict) and len(body) == 1 else body


API = "https://shop.example.pl/api/"
PL_RULES = [{"id": 1, "id_tax_rules_group": "1", "id_country": "14", "id_state": "0", "zipcode_from": "0",
             "zipcode_to": "0", "id_tax": "1", "behavior": "0"},
            {"id": 2, "id_tax_rules_group": "1", "id_country": "8", "id_state": "0", "zipcode_from": "0",
             "zipcode_to": "0", "id_tax": "2", "behavior": "0"}]
TAXES = [{"id": 1, "rate": "23.000", "active": "1", "deleted": "0"},
         {"id": 2, "rate": "20.000", "active": "1", "deleted": "0"}]


def jackblanc_catalog(language: str = "1", stock=None) -> Catalog:
    return Catalog(
        api_base=API, language_id=language, default_language_id="1",
        rates=tax_rates([load("demo_tax_rule_groups_1.json")], PL_RULES, TAXES, "14"),
        option_groups=by_id([load(f"jackblanc_product_options_{i}.json") for i in (1, 2, 3)]),
        option_values=by_id([load(f"jackblanc_product_option_values_{i}.json") for i in (1, 2, 11)]),
        stock=stock or stock_map([load("jackblanc_stock_availables_326.json"),
                                  {"id_product": "32", "id_product_attribute": "0", "id_shop": "1",
                                   "quantity": "3"}]),
    )


def demo_catalog(stock=None) -> Catalog:
    return Catalog(
        api_base=API, language_id="1", default_language_id="1",
        rates=tax_rates([load("demo_tax_rule_groups_1.json")], PL_RULES, TAXES, "14"),
        option_groups=by_id([load("demo_product_options_1.json"), load("demo_product_options_2.json")]),
        option_values=by_id([load("demo_product_option_values_1.json"), load("demo_product_option_values_2.json")]),
        categories=by_id([load(f"demo_categories_{i}.json") for i in (1, 2, 3)]),
        stock=stock or {},
    )


def simple(raw):
    """Product 221 lists combinations that were not recorded: test product-level rules without them."""
    raw = copy.deepcopy(raw)
    raw["associations"].pop("combinations", None)
    return raw


def only_product(items) -> Product:
    products = [i for i in items if isinstance(i, Product)]
    assert len(products) == 1, items
    return products[0]


# -- prices and VAT --------------------------------------------------------------------

def test_gross_price_from_net_with_six_decimals():
    product = only_product(map_product(simple(load("jackblanc_products_221.json")), [], jackblanc_catalog()))
    assert product.price == Decimal("179.00") and product.vat == 23


def test_combination_price_is_an_impact_added_to_the_product_net_price():
    raw = load("jackblanc_products_32.json")
    base = load("jackblanc_combinations_246.json")
    plus = copy.deepcopy(base) | {"id": 247, "price": "4.065041"}
    minus = copy.deepcopy(base) | {"id": 248, "price": "-8.130081"}
    product = only_product(map_product(raw, [base, plus, minus], jackblanc_catalog()))
    prices = {v.variant_id: v.price for v in product.variants}
    assert prices == {"246": Decimal("149.00"), "247": Decimal("154.00"), "248": Decimal("139.00")}
    assert product.price == Decimal("149.00")


def test_rate_comes_from_the_rule_of_the_shop_country_not_the_group_name():
    rates = tax_rates([load("demo_tax_rule_groups_1.json")], PL_RULES, TAXES, "8")
    assert rates["1"] == Decimal("20.000")  # the group is named "(23%)": the name is never parsed
    assert tax_rates([], PL_RULES, TAXES, "14")["0"] == 0


def test_tax_group_zero_is_vat0_and_price_is_the_net_price():
    raw = load("demo_products_6.json") | {"id_tax_rules_group": "0"}
    product = only_product(map_product(raw, [], demo_catalog()))
    assert (product.vat, product.price) == (0, Decimal("11.90"))


def test_rounding_is_half_up_on_the_gross_amount():
    product = only_product(map_product(load("demo_products_6.json"), [], demo_catalog()))
    assert product.price == Decimal("14.64")  # 11.9 x 1.23 = 14.637


def test_zero_or_negative_price_is_skipped_with_a_reason():
    items = map_product(load("demo_products_6.json") | {"price": "0.000000"}, [], demo_catalog())
    assert len(items) == 1 and isinstance(items[0], Skipped) and "zero or negative" in items[0].reason


def test_combination_with_non_positive_price_is_skipped_alone():
    raw = load("jackblanc_products_32.json")
    ok = load("jackblanc_combinations_246.json")
    free = copy.deepcopy(ok) | {"id": 249, "price": "-121.138211"}
    items = map_product(raw, [ok, free], jackblanc_catalog())
    assert [v.variant_id for v in only_product(items).variants] == ["246"]
    assert [(s.variant_id, "zero or negative" in s.reason) for s in items if isinstance(s, Skipped)] == [
        ("249", True)]


def test_unknown_tax_group_and_fractional_rate_are_skipped():
    raw = load("demo_products_6.json") | {"id_tax_rules_group": "99"}
    assert "does not exist" in map_product(raw, [], demo_catalog())[0].reason
    catalog = demo_catalog()
    catalog.rates = {"1": Decimal("5.5")}
    assert "whole" in map_product(load("demo_products_6.json"), [], catalog)[0].reason


# -- variants ----------------------------------------------------------------------------

def test_variant_options_are_group_public_names_in_the_chosen_language():
    raw, combo = load("jackblanc_products_32.json"), load("jackblanc_combinations_246.json")
    pl = only_product(map_product(raw, [combo], jackblanc_catalog("1"))).variants[0]
    en = only_product(map_product(raw, [combo], jackblanc_catalog("2"))).variants[0]
    assert pl.options == {"Rozmiar": "S", "Kolor": "czarny"}
    assert en.options == {"Size": "S", "Color": "Black"}


def test_variant_stock_comes_from_stock_availables_not_the_stale_combination_quantity():
    raw, combo = load("jackblanc_products_32.json"), load("jackblanc_combinations_246.json")
    assert combo["quantity"] == "0"
    variant = only_product(map_product(raw, [combo], jackblanc_catalog())).variants[0]
    assert variant.stock == 3


def test_empty_combination_reference_falls_back_to_product_reference_plus_id():
    raw, combo = load("jackblanc_products_32.json"), load("jackblanc_combinations_246.json")
    variant = only_product(map_product(raw, [combo], jackblanc_catalog())).variants[0]
    assert variant.sku == "10125154-246"
    demo = only_product(map_product(load("demo_products_1.json"), [load("demo_combinations_1.json")],
                                    demo_catalog())).variants[0]
    assert demo.sku == "demo_1"


def test_demo_single_language_combination_with_its_own_image():
    product = only_product(map_product(load("demo_products_1.json"), [load("demo_combinations_1.json")],
                                       demo_catalog()))
    variant = product.variants[0]
    assert product.name == "Hummingbird printed t-shirt" and product.price == Decimal("29.40")
    assert variant.options == {"Size": "S", "Color": "Grey"}
    assert [i.key for i in variant.images] == ["image:2"]


def test_combination_without_images_inherits_the_product_images():
    product = only_product(map_product(load("demo_products_1.json"),
                                       [load("demo_combinations_1_without_images.json")], demo_catalog()))
    assert product.variants[0].images == ()
    assert [i.key for i in product.images] == ["image:1", "image:2"]
    zero = load("demo_combinations_1.json")
    zero["associations"]["images"] = [{"id": "0"}]  # what some shops send for "no own image"
    assert only_product(map_product(load("demo_products_1.json"), [zero], demo_catalog())).variants[0].images == ()


def test_product_listing_combinations_that_could_not_be_read_is_skipped():
    items = map_product(load("demo_products_1.json"), [], demo_catalog())
    assert isinstance(items[0], Skipped) and "combinations" in items[0].reason


# -- simple products, stock, texts, images, categories -----------------------------------

def test_simple_product_takes_the_stock_of_its_attribute_zero_row():
    stock = stock_map([load("demo_stock_availables_6.json")])
    product = only_product(map_product(load("demo_products_6.json"), [], demo_catalog(stock)))
    assert product.stock == 300 and product.variants == () and product.sku == "demo_11"


def test_stock_is_clamped_at_zero_and_the_configured_shop_row_wins():
    rows = [{"id_product": "6", "id_product_attribute": "0", "id_shop": "1", "quantity": "-4"},
            {"id_product": "7", "id_product_attribute": "0", "id_shop": "0", "quantity": "5"},
            {"id_product": "7", "id_product_attribute": "0", "id_shop": "2", "quantity": "9"}]
    assert stock_map(rows) == {("6", "0"): 0, ("7", "0"): 5}
    assert stock_map(rows, "2")[("7", "0")] == 9


def test_numbers_as_strings_or_numbers():
    assert num("121.138211") == Decimal("121.138211") and num(1) == 1 and num(None) == 0 and num("") == 0
    assert stock_map([load("demo_stock_availables_6.json") | {"quantity": 300}]) == {("6", "0"): 300}


def test_i18n_field_as_list_or_string_with_fallback_to_default_language():
    raw = load("jackblanc_products_221.json")
    assert text(raw["name"], "1") == "Koszula męska niebieska jersey"
    assert text(raw["name"], "2") == "copy of Koszula męska biała"  # the shop's own stale translation
    assert text(raw["meta_keywords"], "2", "1") == ""
    assert text(raw["meta_title"], "2", "1").startswith("Koszula męska niebieska Jersey")
    assert text(load("demo_products_1.json")["name"], "2") == "Hummingbird printed t-shirt"
    assert text(False) == ""  # manufacturer_name is false when the product has no brand


def test_images_are_authenticated_api_urls_without_the_key_cover_first():
    product = only_product(map_product(simple(load("jackblanc_products_221.json")), [], jackblanc_catalog()))
    assert [i.key for i in product.images] == ["image:1188", "image:1191", "image:1190", "image:1186",
                                               "image:1187", "image:1189"]
    first = product.images[0]
    assert first.url == API + "images/products/221/1188" and first.access is ImageAccess.AUTH
    assert "ws_key" not in first.url


def test_category_path_leaves_out_root_and_home():
    catalog = demo_catalog()
    assert category_path("3", catalog) == ("Pants",)  # 1 Root and 2 Home (PS defaults) left out
    catalog.root_ids = frozenset({"1"})
    assert category_path("3", catalog) == ("Man", "Pants")
    assert category_path("1", catalog) == () and category_path("999", catalog) == ()


def test_product_in_home_category_has_no_path_and_html_descriptions_are_kept():
    product = only_product(map_product(simple(load("jackblanc_products_221.json")), [], jackblanc_catalog()))
    assert product.category_path == ()
    assert product.brief.startswith("<h5>") and product.ean is None


@pytest.mark.parametrize("active, expected", [("1", True), ("0", False)])
def test_inactive_products_are_mapped_inactive(active, expected):
    raw = load("demo_products_6.json") | {"active": active}
    assert only_product(map_product(raw, [], demo_catalog())).active is expected


def test_trimmed_stock_records_with_int_quantity_do_not_break():
    rows = [load(f"demo_stock_availables_{i}.json") for i in (1, 2, 3)]  # edited: quantity only
    assert all(isinstance(q, int) for q in stock_map(rows).values())  # no crash on ids left out


# -- categories of real shops (issue 13.5) ------------------------------------------------------

def with_categories(catalog: Catalog) -> Catalog:
    catalog.categories = by_id(load("jackblanc_categories_written.json"))
    return catalog


def test_real_shop_product_in_home_gets_its_deepest_associated_category():
    raw = simple(load("jackblanc_products_221.json"))
    assert raw["id_category_default"] == "2" and [c["id"] for c in raw["associations"]["categories"]] == \
        ["2", "31", "35"]  # as recorded: default Home, the real categories only in associations
    product = only_product(map_product(raw, [], with_categories(jackblanc_catalog())))
    assert product.category_path == ("Femme", "Robes")


def test_equal_depths_prefer_the_default_branch_then_the_lowest_id():
    raw = simple(load("jackblanc_products_221.json"))
    raw["associations"]["categories"] = [{"id": "2"}, {"id": "13"}, {"id": "31"}]
    catalog = with_categories(jackblanc_catalog())
    assert only_product(map_product(raw, [], catalog)).category_path == ("Nouveautés",)  # lowest id
    raw["id_category_default"] = "31"
    assert only_product(map_product(raw, [], catalog)).category_path == ("Femme",)  # default's branch


def test_the_default_category_counts_only_below_home():
    raw = simple(load("jackblanc_products_221.json"))
    raw["associations"]["categories"] = [{"id": "2"}]
    catalog = with_categories(jackblanc_catalog())
    assert only_product(map_product(raw, [], catalog)).category_path == ()
    raw["id_category_default"] = "35"
    assert only_product(map_product(raw, [], catalog)).category_path == ("Femme", "Robes")


# -- promotions: specific prices (issue 13.4) ---------------------------------------------------

def promo_catalog(now: datetime) -> Catalog:
    catalog = jackblanc_catalog()
    catalog.specific_prices = running_specific_prices(load("specific_prices_written.json"), now, None)
    return catalog


def test_a_running_percentage_promotion_is_the_price_a_customer_pays():
    raw = simple(load("jackblanc_products_221.json"))
    regular = only_product(map_product(raw, [], jackblanc_catalog())).price
    during = only_product(map_product(raw, [], promo_catalog(datetime(2026, 2, 14, 12)))).price
    after = only_product(map_product(raw, [], promo_catalog(datetime(2026, 3, 1, 0, 0, 1)))).price
    net = Decimal(raw["price"])
    assert during == (net * Decimal("1.23") * Decimal("0.8")).quantize(Decimal("0.01"), ROUND_HALF_UP) < regular
    assert after == regular


def test_group_or_quantity_promotions_do_not_count():
    kept = running_specific_prices(load("specific_prices_written.json"), datetime(2026, 2, 14), None)
    assert set(kept) == {("221", "0"), ("32", "326")}


def test_an_amount_off_one_combination_with_no_end_date():
    raw = load("jackblanc_products_32.json")
    combos = [load("jackblanc_combinations_246.json") | {"id": 326, "price": "0.000000"}]
    regular = item_prices(raw, combos, jackblanc_catalog())
    promo = item_prices(raw, combos, promo_catalog(datetime(2031, 1, 1)))
    assert promo == {"326": regular["326"] - Decimal("5.00")}
