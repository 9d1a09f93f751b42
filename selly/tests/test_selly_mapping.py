"""Mapping on the tables recorded from a real Selly shop (zagatto.pl, April 2020): one test per rule."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from gwsync.models import ImageAccess, Product, Skipped
from gwsync_selly import mapping

SHOP = "https://www.zagatto.pl"
FILES = {"kategorie": "categories.json", "produkty_atrybuty_grupy": "attributes_groups.json",
         "produkty_atrybuty": "attributes.json", "produkty_warianty_atrybuty": "variants_attributes.json",
         "produkty_zdjecia": "images.json", "produkty_warianty": "variants.json",
         "produkty_wlasciwosci": "details.json", "produkty": "products.json"}


@pytest.fixture
def tables(selly_fixture):
    return {table: selly_fixture(name) for table, name in FILES.items()}


def catalog_of(tables) -> mapping.Catalog:
    catalog = mapping.Catalog(shop_url=SHOP)
    for table in mapping.TABLES[:-1]:
        catalog.add(table, tables[table])
    return catalog


def mapped(tables, product_id: int) -> list:
    record = next(r for r in tables["produkty"] if r["product_id"] == product_id)
    return list(mapping.map_product(record, catalog_of(tables)))


def product(tables, product_id: int) -> Product:
    items = mapped(tables, product_id)
    assert len(items) == 1 and isinstance(items[0], Product), items
    return items[0]


# -- products without variants ------------------------------------------------------------

def test_product_without_variants_takes_stock_from_its_details(tables):
    p = product(tables, 90)
    assert p.variants == ()
    assert (p.product_id, p.name, p.price, p.vat, p.stock) == ("90", "Portfel męski N992-WA1 BROWN",
                                                              Decimal("50.00"), 23, 6)
    assert p.sku == "N992-WA1 BROWN"  # symbol_produktu, then kod_producenta


def test_prices_are_gross_strings_kept_as_they_are(tables):
    tables["produkty"][0]["price"] = "49.99"
    assert product(tables, 90).price == Decimal("49.99")  # gross in Selly and gross for the Gateway


def test_unknown_stock_is_sent_as_zero_and_counted(tables):
    tables["produkty_wlasciwosci"][0]["liczba_egzemplarzy"] = None
    assert product(tables, 90).stock == 0
    assert mapping.stock_unknown(tables["produkty"][0], catalog_of(tables))


def test_description_is_the_html_and_the_subtitle_fills_an_empty_short_description(tables):
    p = product(tables, 90)
    assert p.description.startswith('<p style="margin-bottom: 0cm;"') and "\r\n" in p.description
    assert p.brief == "brązowy skórzany portfel męski Always Wild"


def test_category_path_walks_the_parents_listed_after_their_children(tables):
    assert product(tables, 90).category_path == ("Portfele męskie z ochroną RFID", "Always Wild")


def test_unknown_category_gives_no_path_and_a_cycle_ends_the_walk(tables):
    assert product(tables, 464).category_path == ()  # category 39 is not in the trimmed table
    catalog = catalog_of(tables)
    catalog.categories["2"]["parent_id"] = 14  # 14 -> 2 -> 14
    assert mapping.category_path(catalog, 14) == ("Portfele męskie z ochroną RFID", "Always Wild")


def test_pictures_are_public_files_on_the_shop_ordered_by_position_main_first(tables):
    p = product(tables, 464)
    assert [i.url for i in p.images] == [f"{SHOP}/img/products/46/4/{n}.jpg" for n in (3, 1, 2, 4)]
    assert {i.access for i in p.images} == {ImageAccess.PUBLIC}
    first = product(tables, 90).images
    assert first[0].url == f"{SHOP}/img/products/90/8.jpg" and len(first) == 11


def test_invisible_product_is_inactive(tables):
    tables["produkty"][0]["visible"] = 0
    assert product(tables, 90).active is False


def test_product_without_details_is_skipped_with_reason(tables):
    tables["produkty_wlasciwosci"] = [d for d in tables["produkty_wlasciwosci"] if d["produkt_id"] != 90]
    [item] = mapped(tables, 90)
    assert isinstance(item, Skipped) and "produkty_wlasciwosci" in item.reason


def test_zero_price_without_variants_is_skipped_with_reason(tables):
    tables["produkty"][0]["price"] = "0.0"
    [item] = mapped(tables, 90)
    assert isinstance(item, Skipped) and "price" in item.reason


# -- variants -----------------------------------------------------------------------------

def test_variants_in_position_order_with_option_names_from_groups(tables):
    p = product(tables, 464)
    assert [v.variant_id for v in p.variants] == ["646", "647", "648", "649"]
    assert [v.options for v in p.variants] == [{"Długość paska": f"{s}"} for s in
                                               ("S - 105 cm", "M - 115 cm", "L - 120 cm", "XL - 135 cm")]
    assert [v.sku for v in p.variants] == ["K1-SN-P1-S", "K1-SN-P1-M", "K1-SN-P1-L", "K1-SN-P1-XL"]
    assert [v.stock for v in p.variants] == [0, 0, 0, 67]  # "67.0"
    assert {v.price for v in p.variants} == {Decimal("19.90")} and p.vat == 23


def test_variant_with_two_attributes_keeps_both_options(tables):
    tables["produkty_warianty_atrybuty"].append({"produkty_wariant_id": 646, "produkty_atrybut_id": 6})
    first = product(tables, 464).variants[0]
    assert first.options == {"Kolor": "czerwony", "Długość paska": "S - 105 cm"}  # groups' order
    assert list(first.options) == ["Kolor", "Długość paska"]


def test_variant_picture_number_zero_uses_the_product_pictures(tables):
    p = product(tables, 464)
    assert all(v.images == () for v in p.variants)  # inherit the product's
    single = product(tables, 24)
    assert [i.url for i in single.variants[0].images] == [f"{SHOP}/img/products/24/30.jpg"]


def test_single_variant_with_attributes_is_a_group_of_one(tables):
    p = product(tables, 24)
    assert [(v.variant_id, v.options, v.stock, v.sku) for v in p.variants] == [
        ("2307", {"Kolor": "czerwony"}, 109, "ZG-100-SC RED")]
    assert p.ean == "5907518361102"


def test_single_variant_without_attributes_is_the_product_itself(tables):
    tables["produkty_warianty_atrybuty"] = [r for r in tables["produkty_warianty_atrybuty"]
                                            if r["produkty_wariant_id"] != 2307]
    p = product(tables, 24)
    assert (p.variants, p.stock, p.sku, p.price) == ((), 109, "ZG-100-SC RED", Decimal("100.00"))


def test_variant_with_a_missing_attribute_is_skipped_alone(tables):
    tables["produkty_warianty_atrybuty"][1]["produkty_atrybut_id"] = 999
    items = mapped(tables, 464)
    skipped = [i for i in items if isinstance(i, Skipped)]
    [p] = [i for i in items if isinstance(i, Product)]
    assert [(s.variant_id, s.reason) for s in skipped] == [("647", "attribute value 999 is not in produkty_atrybuty")]
    assert [v.variant_id for v in p.variants] == ["646", "648", "649"]


def test_variant_with_another_vat_rate_is_skipped_with_reason(tables):
    tables["produkty_warianty"][3]["stawka_vat"] = 8
    items = mapped(tables, 464)
    assert [(i.variant_id, i.reason) for i in items if isinstance(i, Skipped)] == [
        ("649", "VAT 8% differs from the product's 23%")]


def test_variants_agreeing_on_a_rate_set_the_group_rate(tables):
    for row in tables["produkty_warianty"]:
        row["stawka_vat"] = 8
    assert product(tables, 464).vat == 8  # what is sold is the variants


def test_variant_without_own_price_inherits_the_product_price(tables):
    tables["produkty_warianty"][0]["wariant_cena"] = None
    tables["produkty_warianty"][1]["wariant_cena"] = "24.9"
    p = product(tables, 464)
    assert p.variants[0].price is None and p.price == Decimal("19.90")
    assert p.variants[1].price == Decimal("24.90")


def test_fractional_and_negative_quantities(tables):
    tables["produkty_warianty"][0]["ilosc"] = "2.5"
    tables["produkty_warianty"][1]["ilosc"] = "-3.0"
    p = product(tables, 464)
    assert [v.stock for v in p.variants[:2]] == [2, 0]


def test_compact_keeps_only_used_columns(tables):
    rows = mapping.compact("produkty_wlasciwosci", tables["produkty_wlasciwosci"])
    assert set(rows[0]) == set(mapping.COLUMNS["produkty_wlasciwosci"])
    assert "html_title" not in rows[0] and "tekst_promocyjny" not in rows[0]


def test_ids_as_numbers_or_strings_join_alike(tables):
    changed = copy.deepcopy(tables)
    for row in changed["produkty_warianty"]:
        row["produkt_id"] = str(row["produkt_id"])
    assert product(changed, 464) == product(tables, 464)


def test_picture_extension_comes_from_the_catalog(tables):
    catalog = catalog_of(tables)
    assert mapping.first_picture(catalog) == ("img/products/24/", 30)  # lowest product id with pictures
    catalog.extension = "png"
    record = next(r for r in tables["produkty"] if r["product_id"] == 90)
    [p] = mapping.map_product(record, catalog)
    assert p.images[0].url == f"{SHOP}/img/products/90/8.png"
