"""Mapping on the answers recorded from a Sellasist demo account: one test per rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gwsync.models import ImageAccess, Product, Skipped
from gwsync_sellasist import mapping


@pytest.fixture
def p476(sellasist_fixture):
    return sellasist_fixture("sellasist_product_476.json")


@pytest.fixture
def p477(sellasist_fixture):
    return sellasist_fixture("sellasist_product_477.json")


@pytest.fixture
def group2(sellasist_fixture):
    return sellasist_fixture("sellasist_variant_group_2.json")


def one(items) -> Product:
    items = list(items)
    assert len(items) == 1 and isinstance(items[0], Product), items
    return items[0]


# -- products without variants --------------------------------------------------------------

def test_simple_product_from_the_recorded_record(p476):
    p = one(mapping.map_product(p476, None))
    assert (p.product_id, p.name, p.price, p.vat, p.stock) == ("476", "produkt2", Decimal("2137.00"), 23, 0)
    assert p.variants == () and p.active is True


def test_sku_is_the_catalog_number_never_the_symbol(p476):
    assert one(mapping.map_product(p476, None)).sku == "catalog-nr2"
    p476["catalog_number"] = ""
    assert one(mapping.map_product(p476, None)).sku is None  # "symbol-2" is a different field


def test_quantity_strings_with_three_decimals(p476):
    p476["quantity"] = "58.000"
    assert one(mapping.map_product(p476, None)).stock == 58
    p476["quantity"] = "2.500"
    assert one(mapping.map_product(p476, None)).stock == 2
    p476["quantity"] = "-1.000"
    assert one(mapping.map_product(p476, None)).stock == 0


def test_descriptions_are_found_by_cell_name_not_id(p476):
    p = one(mapping.map_product(p476, None))
    assert p.description.startswith("<ol>") and p.brief == "bbbbbbbbbbbbbbbbbb"
    for cell, new_id in zip(p476["description"], ("91", "92", "93"), strict=True):
        cell["datacell_id"] = new_id  # ids differ per account
    assert one(mapping.map_product(p476, None)).description.startswith("<ol>")


def test_universal_description_fills_a_missing_long_one(p476):
    p476["description"][0]["content"] = None
    p476["description"][1]["content"] = "<p>Uniwersalny</p>"
    assert one(mapping.map_product(p476, None)).description == "<p>Uniwersalny</p>"


def test_images_are_public_absolute_urls_in_key_order(p477):
    p477["images"].reverse()
    p = one(mapping.map_product(dict(p477, variants=[]), None))
    assert [i.url for i in p.images] == [
        "https://imge.pl/p/268736/n/1dccf064026072b06a0a2d4b6a854c96.jpg",
        "https://imge.pl/p/268736/n/42d34e5b7e89211e52de531b3cc40c87.jpg"]
    assert {i.access for i in p.images} == {ImageAccess.PUBLIC}


def test_category_path_follows_parents_in_the_products_own_list(p476):
    assert one(mapping.map_product(p476, None)).category_path == ("bluzy",)
    p476["categories"][0]["parent"] = "21"
    assert one(mapping.map_product(p476, None)).category_path == ("spódnice", "bluzy")


def test_status_zero_is_inactive(p476):
    p476["status"] = "0"
    assert one(mapping.map_product(p476, None)).active is False


@pytest.mark.parametrize("field, value, reason", [
    ("vat", "zw", "VAT"), ("price", "0.00", "price"), ("title", " ", "title"),
])
def test_unmappable_products_are_skipped_with_a_reason(p476, field, value, reason):
    p476[field] = value
    [item] = mapping.map_product(p476, None)
    assert isinstance(item, Skipped) and reason in item.reason


# -- prices -------------------------------------------------------------------------------------

def test_price_setting_current_takes_a_running_promotion(p476):
    p476.update(promotion="1", price_promo="1999.00")
    assert one(mapping.map_product(p476, None, "current")).price == Decimal("1999.00")
    assert one(mapping.map_product(p476, None, "regular")).price == Decimal("2137.00")


def test_promo_price_without_a_running_promotion_is_ignored(p476):
    p476.update(promotion="0", price_promo="1999.00")
    assert one(mapping.map_product(p476, None, "current")).price == Decimal("2137.00")


def test_variant_price_zero_means_the_products_price(p477, group2):
    p = one(mapping.map_product(p477, group2))
    assert [v.price for v in p.variants] == [None, Decimal("213769.00")]  # None: inherits 2137.00
    assert p.price == Decimal("2137.00")


def test_variant_inheriting_the_price_inherits_the_promotion_under_current(p477, group2):
    p477.update(promotion="1", price_promo="1999.00")
    assert one(mapping.map_product(p477, group2, "current")).price == Decimal("1999.00")
    p477["variants"][1].update(promotion="1", price_promo="200000.00")
    assert one(mapping.map_product(p477, group2, "current")).variants[1].price == Decimal("200000.00")
    assert one(mapping.map_product(p477, group2, "regular")).variants[1].price == Decimal("213769.00")


# -- variants -----------------------------------------------------------------------------------

def test_variants_take_their_own_stock_sku_and_ean(p477, group2):
    p = one(mapping.map_product(p477, group2))
    assert [(v.variant_id, v.stock, v.sku) for v in p.variants] == [("4", 21, "prudukt1-1"), ("5", 37, "prudukt1-2")]
    assert p.stock == 0  # the product's own "58.000" is not the variants' stock


def test_option_names_come_from_the_variant_group(p477, group2):
    p = one(mapping.map_product(p477, group2))
    # property 3 is the group's "Kolor"; property 4 is not listed, and the group has one axis
    assert [v.options for v in p.variants] == [{"Kolor": "blue"}, {"Kolor": "red"}]


def test_several_properties_are_several_options(p477):
    group = {"id": "5", "name": "Rozmiar i kolor", "variants": [{"id": "7", "name": "Rozmiar"}, {"id": "3", "name": "Kolor"}]}
    p477["variants"][0]["properties"] = [{"property_id": "7", "name": "M"}, {"property_id": "3", "name": "blue"}]
    p477["variants"][1]["properties"] = [{"property_id": "7", "name": "L"}, {"property_id": "3", "name": "red"}]
    p = one(mapping.map_product(p477, group))
    assert [v.options for v in p.variants] == [{"Rozmiar": "M", "Kolor": "blue"}, {"Rozmiar": "L", "Kolor": "red"}]


def test_unknown_property_in_a_multi_axis_group_skips_that_variant(p477):
    group = {"id": "5", "name": "Rozmiar i kolor", "variants": [{"id": "7", "name": "Rozmiar"}, {"id": "3", "name": "Kolor"}]}
    items = list(mapping.map_product(p477, group))
    assert [(i.variant_id, i.reason) for i in items if isinstance(i, Skipped)] == [
        ("5", "property 4 is not in variant group 5")]
    assert [v.variant_id for v in next(i for i in items if isinstance(i, Product)).variants] == ["4"]


def test_product_whose_group_cannot_be_read_is_skipped(p477):
    [item] = mapping.map_product(p477, None)
    assert isinstance(item, Skipped) and "variant group 2" in item.reason


def test_variant_status_zero_is_an_inactive_variant(p477, group2):
    p477["variants"][1]["status"] = "0"
    assert [v.active for v in one(mapping.map_product(p477, group2)).variants] == [True, False]


def test_empty_variants_list_is_a_simple_product(p477):
    p477["variants"] = []
    p = one(mapping.map_product(p477, None))
    assert p.variants == () and p.stock == 58


def test_variants_without_a_group_are_skipped_with_a_reason(p477):
    p477["variants_group_id"] = None
    items = list(mapping.map_product(p477, None))
    assert [(i.variant_id, i.reason) for i in items] == [
        ("4", "the product has no variant group: option names unknown"),
        ("5", "the product has no variant group: option names unknown")]
