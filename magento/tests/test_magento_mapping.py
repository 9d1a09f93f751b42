"""Mapping rules on the recorded Magento 2 answers (copied into tests/fixtures).

The recorded shop is the Luma sample (US rates, region-specific); Polish tax rules and
rates are built in the recorded shape of `tax_rules.json` / `tax_rates.json`.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from gwsync.models import ImageAccess, Product, Skipped
from gwsync_magento.mapping import (
    Lookups,
    category_path,
    child_ids,
    flatten_categories,
    images,
    legacy_stock,
    map_configurable,
    map_simple,
    media_base,
    msi_stock,
    option_attributes,
    product_category,
    skipped_type,
    store_config,
    tax_rates_by_class,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def parent(sku: str = "MH01") -> dict:
    return copy.deepcopy(next(p for p in load("configurable_products.json")["items"] if p["sku"] == sku))


def simple(sku: str) -> dict:
    return copy.deepcopy(next(p for p in load("simple_products.json")["items"] if p["sku"] == sku))


def child() -> dict:
    return load("example_variant.json")


def set_attribute(record: dict, code: str, value) -> dict:
    record["custom_attributes"] = [a for a in record["custom_attributes"] if a["attribute_code"] != code]
    record["custom_attributes"].append({"attribute_code": code, "value": value})
    return record


PL_RATES = [
    {"id": 11, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 23, "code": "PL-23",
     "titles": []},
    {"id": 12, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 8, "code": "PL-8",
     "titles": []},
    {"id": 13, "tax_country_id": "DE", "tax_region_id": 0, "tax_postcode": "*", "rate": 19, "code": "DE-19",
     "titles": []},
]
PL_RULES = [
    {"id": 1, "code": "VAT 23", "priority": 0, "position": 0, "customer_tax_class_ids": [3],
     "product_tax_class_ids": [2], "tax_rate_ids": [11, 13], "calculate_subtotal": False},
    {"id": 2, "code": "VAT 8", "priority": 0, "position": 0, "customer_tax_class_ids": [3],
     "product_tax_class_ids": [6], "tax_rate_ids": [12], "calculate_subtotal": False},
    {"id": 3, "code": "B2B zero", "priority": 0, "position": 0, "customer_tax_class_ids": [5],
     "product_tax_class_ids": [2, 6], "tax_rate_ids": [11], "calculate_subtotal": False},
]
MEDIA = "https://123.456.789.0/pub/media/catalog/product"


def labels_from_recorded_attributes() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Attribute id -> code and code -> option id -> label, from the recorded attribute list."""
    items = load("attributes_color_size.json")["items"]
    codes = {str(a["attribute_id"]): a["attribute_code"] for a in items}
    labels = {a["attribute_code"]: {o["value"]: o["label"] for o in a["options"] if o["value"]} for a in items}
    return codes, labels


def lookups(**overrides) -> Lookups:
    codes, labels = labels_from_recorded_attributes()
    values = dict(media_base=MEDIA, website_id="1", rates=tax_rates_by_class(PL_RULES, PL_RATES, "PL"),
                  attribute_codes=codes, option_labels=labels)
    values.update(overrides)
    return Lookups(**values)


# -- lookups ------------------------------------------------------------------------------

def test_store_view_is_chosen_by_code_and_images_live_under_the_secure_media_url():
    configs = load("store_config.json")
    config = store_config(configs, "default")
    assert config is not None and store_config(configs, "en") is None
    assert media_base(config) == MEDIA


def test_tax_rates_per_product_class_for_consumers_in_the_country():
    rates = tax_rates_by_class(PL_RULES, PL_RATES, "PL")
    assert rates == {"2": Decimal(23), "6": Decimal(8)}  # the B2B rule (customer class 5) does not count


def test_recorded_us_rates_are_region_specific_so_no_country_wide_rate_applies():
    rules, rates = load("tax_rules.json")["items"], load("tax_rates.json")["items"]
    assert tax_rates_by_class(rules, rates, "US") == {}
    assert tax_rates_by_class(rules, rates, "PL") == {}


def test_rules_of_one_priority_add_up_and_priorities_compound():
    rates = [{"id": 1, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 10},
             {"id": 2, "tax_country_id": "PL", "tax_region_id": 0, "tax_postcode": "*", "rate": 5}]
    same = [{"id": 1, "priority": 0, "customer_tax_class_ids": [3], "product_tax_class_ids": [2],
             "tax_rate_ids": [1]},
            {"id": 2, "priority": 0, "customer_tax_class_ids": [3], "product_tax_class_ids": [2],
             "tax_rate_ids": [2]}]
    assert tax_rates_by_class(same, rates, "PL") == {"2": Decimal(15)}
    compound = [dict(same[0]), dict(same[1], priority=1)]
    assert tax_rates_by_class(compound, rates, "PL") == {"2": Decimal("15.5")}


def test_category_path_is_the_deepest_link_below_the_store_root():
    tree = {"id": 2, "parent_id": 1, "name": "Default Category", "level": 1, "children_data": [
        {"id": 11, "parent_id": 2, "name": "Men", "level": 2, "children_data": [
            {"id": 12, "parent_id": 11, "name": "Tops", "level": 3, "children_data": [
                {"id": 15, "parent_id": 12, "name": "Hoodies & Sweatshirts", "level": 4, "children_data": []}]}]},
        {"id": 36, "parent_id": 2, "name": "Sale", "level": 2, "children_data": []}]}
    categories = flatten_categories(tree)
    assert category_path("2", categories) == ()
    # MH01 links categories 15, 36 and 2 (recorded)
    assert product_category(parent(), categories) == ("Men", "Tops", "Hoodies & Sweatshirts")


# -- images -------------------------------------------------------------------------------

def test_gallery_images_main_first_public_and_disabled_ones_left_out():
    record = parent()
    record["media_gallery_entries"].reverse()
    record["media_gallery_entries"][0]["disabled"] = True  # the back view
    got = images(record, MEDIA)
    assert [i.url for i in got] == [MEDIA + "/m/h/mh01-gray_main_1.jpg", MEDIA + "/m/h/mh01-gray_alt1_1.jpg"]
    assert all(i.access is ImageAccess.PUBLIC for i in got)


def test_recorded_escaped_slashes_in_files_make_plain_urls():
    assert [i.url for i in images(child(), MEDIA)] == [MEDIA + "/m/h/mh01-black_main_1.jpg"]


# -- configurables ------------------------------------------------------------------------

def test_configurable_parent_with_a_recorded_child_becomes_one_variant_group():
    record = parent()
    assert child_ids(record) == ["53", "54", "55", "56", "57", "58", "59", "60"]
    assert option_attributes(record) == [("152", "Size"), ("93", "Color")]  # by position
    items = map_configurable(record, [child()], {"MH01-XS-Black": 7}, lookups())
    product = items[0]
    assert isinstance(product, Product) and len(items) == 1
    assert (product.product_id, product.name, product.sku, product.vat) == ("68", "Chaz Kangeroo Hoodie", "MH01", 23)
    assert product.price is None  # the parent's price is 0: each child's price counts
    variant = product.variants[0]
    assert variant.options == {"Size": "XS", "Color": "Black"}
    assert (variant.variant_id, variant.sku, variant.price, variant.stock) == ("53", "MH01-XS-Black",
                                                                              Decimal("63.96"), 7)
    assert product.description.startswith("<p>Ideal for cold-weather training")
    assert product.images[0].url.endswith("/m/h/mh01-gray_main_1.jpg")


def test_a_disabled_parent_disables_its_children():
    record = parent()
    record["status"] = 2
    product = map_configurable(record, [child()], {}, lookups())[0]
    assert isinstance(product, Product) and product.active is False


def test_a_disabled_child_is_an_inactive_variant_and_the_group_stays():
    second = copy.deepcopy(child())
    second.update(id=54, sku="MH01-XS-Blue", status=2)
    set_attribute(second, "color", "5477")
    product = map_configurable(parent(), [child(), second], {}, lookups())[0]
    assert [(v.variant_id, v.active, v.options["Color"]) for v in product.variants] == [
        ("53", True, "Black"), ("54", False, "Blue")]


def test_a_child_without_a_price_or_an_option_value_is_skipped_with_its_reason():
    free = copy.deepcopy(child())
    free.update(id=54, sku="MH01-S-Black", price=0)
    no_size = copy.deepcopy(child())
    no_size.update(id=55, sku="MH01-X-Black")
    no_size["custom_attributes"] = [a for a in no_size["custom_attributes"] if a["attribute_code"] != "size"]
    items = map_configurable(parent(), [child(), free, no_size], {}, lookups())
    skipped = {i.variant_id: i.reason for i in items if isinstance(i, Skipped)}
    assert skipped == {"54": "price is 0.00 (zero or negative)", "55": "no value for the option Size"}
    assert [v.variant_id for v in items[0].variants] == ["53"]


def test_a_child_in_another_website_only_is_inactive():
    other = child()
    other["extension_attributes"]["website_ids"] = [2]
    product = map_configurable(parent(), [other], {}, lookups())[0]
    assert product.variants[0].active is False


def test_unknown_option_attribute_skips_the_whole_group():
    items = map_configurable(parent(), [child()], {}, lookups(attribute_codes={}))
    assert isinstance(items[0], Skipped) and "option attribute 152 (Size) is unknown" in items[0].reason


# -- simple products and prices ------------------------------------------------------------

def test_net_prices_become_gross_with_the_class_rate():
    product = map_simple(simple("24-MB04"), 12, lookups())  # class 2, net 32
    assert isinstance(product, Product)
    assert (product.price, product.vat, product.stock, product.sku) == (Decimal("39.36"), 23, 12, "24-MB04")
    reduced = map_simple(set_attribute(simple("24-MB04"), "tax_class_id", "6"), 0, lookups())
    assert (reduced.price, reduced.vat) == (Decimal("34.56"), 8)


def test_a_class_without_a_rule_and_no_class_at_all_are_vat_0():
    no_rule = map_simple(set_attribute(simple("24-MB04"), "tax_class_id", "7"), 0, lookups())
    assert (no_rule.price, no_rule.vat) == (Decimal("32.00"), 0)
    recorded_without_class = map_simple(simple("24-MB01"), 0, lookups())  # no tax_class_id recorded
    assert (recorded_without_class.price, recorded_without_class.vat) == (Decimal("34.00"), 0)


def test_gross_rounds_half_up():
    record = simple("24-MB04")
    record["price"] = 1.5  # 1.845 gross: half-up 1.85 (half-even would give 1.84)
    assert map_simple(record, 0, lookups()).price == Decimal("1.85")


def test_gross_catalog_prices_are_sent_as_they_are():
    product = map_simple(simple("24-MB04"), 0, lookups(catalog_gross=True))
    assert (product.price, product.vat) == (Decimal("32.00"), 23)


def test_a_rate_that_is_not_whole_skips_the_product():
    item = map_simple(simple("24-MB04"), 0, lookups(rates={"2": Decimal("5.5")}))
    assert isinstance(item, Skipped) and "5.5 %" in item.reason


def test_zero_price_and_negative_stock():
    free = simple("24-MB03")
    free["price"] = 0
    assert isinstance(map_simple(free, 3, lookups()), Skipped)
    assert map_simple(simple("24-MB03"), -4, lookups()).stock == 0


def test_ean_from_the_configured_attribute():
    record = set_attribute(simple("24-MB03"), "ean", "5901234123457")
    assert map_simple(record, 0, lookups()).ean == "5901234123457"
    assert map_simple(record, 0, lookups(ean_attribute=None)).ean is None


@pytest.mark.parametrize("kind", ["bundle", "grouped", "virtual", "downloadable"])
def test_other_types_are_skipped_with_their_reason(kind):
    item = skipped_type({"id": 45, "type_id": kind})
    assert item.product_id == "45" and item.reason.startswith(f"{kind} products are not imported")


# -- stock ----------------------------------------------------------------------------------

def test_msi_stock_sums_the_chosen_sources():
    rows = [{"sku": "MH01-XS-Black", "source_code": "default", "quantity": 4, "status": 1},
            {"sku": "MH01-XS-Black", "source_code": "warehouse_2", "quantity": 6, "status": 1},
            {"sku": "MH01-S-Black", "source_code": "default", "quantity": 5, "status": 0},
            {"sku": "MH01-M-Black", "source_code": "default", "quantity": -2, "status": 1}]
    assert msi_stock(rows) == {"MH01-XS-Black": 10, "MH01-S-Black": 0, "MH01-M-Black": 0}
    assert msi_stock(rows, frozenset({"warehouse_2"})) == {"MH01-XS-Black": 6}


def test_legacy_stock_item_is_keyed_by_product_id():
    assert legacy_stock([load("stock.json")]) == {"1": 100}
    assert legacy_stock([dict(load("stock.json"), is_in_stock=False)]) == {"1": 0}
