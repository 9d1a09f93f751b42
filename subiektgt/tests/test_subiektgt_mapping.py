"""Mapping rules on rows in Subiekt GT's shape (tests/fixtures/rows.json, from the platform doc)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from gwsync.models import ImageAccess, Product, Skipped
from gwsync_subiektgt.mapping import Photo, Rules, map_rows, photo_id_of, photo_images, units, vat_rate

ROWS = json.loads((Path(__file__).parent / "fixtures" / "rows.json").read_text(encoding="utf-8"))
RULES = Rules(price_level=1, group_by_model=True, option_fields=(1,), option_names={1: "Rozmiar"})
STOCK = {1201: 6, 1202: 0, 1310: 7}


def row(name: str, **changes):
    return {**ROWS[name], **changes}


def test_a_model_becomes_one_variant_group_named_after_the_model():
    [group] = map_rows([row("polo_s"), row("polo_m")], STOCK, {}, RULES)
    assert isinstance(group, Product)
    assert (group.product_id, group.name, group.vat) == ("model-7", "Koszulka polo granat", 23)
    assert [(v.variant_id, v.options, v.sku, v.ean, v.price, v.stock) for v in group.variants] == [
        ("1201", {"Rozmiar": "S"}, "POLO-NAVY-S", "5901234123457", Decimal("100.00"), 6),
        ("1202", {"Rozmiar": "M"}, "POLO-NAVY-M", "5901234123464", Decimal("105.00"), 0)]
    assert group.category_path == ("Koszulki",)
    assert group.description == "<p>Klasyczna koszulka polo z bawełny pique.</p>"


@pytest.mark.parametrize("driver_value", [Decimal("100.0000"), 100, 100.0, "100.0000"],
                         ids=["sql-server-money", "sqlite-int", "sqlite-float", "text"])
def test_money_from_either_driver_is_the_same_price(driver_value):
    [group] = map_rows([row("polo_s", gross=driver_value)], STOCK, {}, RULES)
    assert group.variants[0].price == Decimal("100.00")


def test_goods_outside_a_model_are_products_of_their_own_with_vat_zw_as_0():
    [book] = map_rows([row("book_zw")], STOCK, {}, RULES)
    assert (book.product_id, book.vat, book.price, book.stock, book.variants) == ("1310", 0, Decimal("39.90"), 7, ())
    assert book.ean is None  # an empty tw_PodstKodKresk is no EAN
    assert book.description == "Przepisy kuchni polskiej"  # tw_Charakter empty: tw_Opis


def test_grouping_off_makes_every_size_a_product():
    rules = Rules(price_level=1, group_by_model=False)
    items = map_rows([row("polo_s")], STOCK, {}, rules) + map_rows([row("polo_m")], STOCK, {}, rules)
    assert [(i.product_id, i.name, i.variants) for i in items] == [
        ("1201", "Koszulka polo granat S", ()), ("1202", "Koszulka polo granat M", ())]


@pytest.mark.parametrize("symbol, rate, expected", [
    ("23", "23.0000", 23), ("8", Decimal("8.0000"), 8), ("zw", "0.0000", 0), ("np", None, 0), ("oo", "23", 0),
    ("23", "0.23", 23), ("5,5", "5.5", None), (None, None, None)])
def test_vat_comes_from_the_sales_rate_with_exempt_symbols_as_0(symbol, rate, expected):
    assert vat_rate(symbol, rate) == expected


def test_a_model_member_that_cannot_be_sold_is_left_out_alone_with_its_symbol():
    items = map_rows([row("polo_s", gross=0), row("polo_m")], STOCK, {}, RULES)
    group, skipped = items
    assert [v.variant_id for v in group.variants] == ["1202"]
    assert isinstance(skipped, Skipped) and skipped.variant_id == "1201"
    assert "POLO-NAVY-S" in skipped.reason and "tc_CenaBrutto1" in skipped.reason


@pytest.mark.parametrize("changes, reason", [
    ({"currency": "EUR"}, "in EUR, not PLN"),
    ({"gross": None}, "no gross price at level 1"),
    ({"vat_Stawka": None, "vat_Symbol": None}, "no sales VAT rate (tw_IdVatSp 100005"),
])
def test_a_good_that_cannot_be_sold_is_skipped_with_the_reason(changes, reason):
    [item] = map_rows([row("book_zw", **changes)], STOCK, {}, RULES)
    assert isinstance(item, Skipped) and item.product_id == "1310"
    assert reason in item.reason and "KSIAZKA-1" in item.reason


def test_a_level_without_its_own_currency_uses_the_company_setting():
    assert isinstance(map_rows([row("book_zw", currency=None)], STOCK, {}, RULES)[0], Product)
    eur_level = Rules(price_level=1, level_currency="EUR")
    assert "in EUR" in map_rows([row("book_zw", currency="")], STOCK, {}, eur_level)[0].reason


def test_a_blocked_good_is_inactive_not_absent():
    [book] = map_rows([row("book_zw", tw_Zablokowany=True, gross=None)], STOCK, {}, RULES)
    assert isinstance(book, Product) and book.active is False
    [group] = map_rows([row("polo_s", tw_Zablokowany=1), row("polo_m")], STOCK, {}, RULES)
    assert [v.active for v in group.variants] == [False, True] and group.active


def test_members_need_their_own_option_values():
    items = map_rows([row("polo_s"), row("polo_m", tw_Pole1="S"), row("polo_m", tw_Id=1203, tw_Pole1="")],
                     STOCK, {}, RULES)
    assert [v.variant_id for v in items[0].variants] == ["1201"]
    reasons = {i.variant_id: i.reason for i in items[1:]}
    assert "same options as POLO-NAVY-S" in reasons["1202"]
    assert "no option value in tw_Pole1" in reasons["1203"]


def test_options_are_named_as_the_shop_named_its_fields():
    rules = Rules(option_fields=(1, 2), option_names={1: "Rozmiar", 2: "Kolor"})
    [group] = map_rows([row("polo_s"), row("polo_m")], STOCK, {}, rules)
    assert group.variants[0].options == {"Rozmiar": "S", "Kolor": "granat"}


def test_without_option_fields_the_symbol_tells_members_apart():
    [group] = map_rows([row("polo_s"), row("polo_m")], STOCK, {}, Rules())
    assert [v.options for v in group.variants] == [{"Symbol": "POLO-NAVY-S"}, {"Symbol": "POLO-NAVY-M"}]


def test_a_member_with_another_vat_rate_is_left_out():
    items = map_rows([row("polo_s"), row("polo_m", vat_Stawka="8.0000", vat_Symbol="8")], STOCK, {}, RULES)
    assert "VAT 8 differs from the model's VAT 23" in items[1].reason


def test_photos_are_fetched_through_the_connector_keyed_by_id_and_crc():
    photos = {1201: [Photo(55, 918273645, False), Photo(56, None, False)]}
    [group] = map_rows([row("polo_s")], STOCK, photos, RULES)
    images = group.variants[0].images
    assert [i.access for i in images] == [ImageAccess.AUTH, ImageAccess.AUTH]
    assert [i.key for i in images] == ["subiekt-photo:55:918273645", "subiekt-photo:56:-"]
    assert "POLO-NAVY-S" in images[0].url and photo_id_of(images[0].url) == 55
    changed = photo_images([Photo(55, 111, False)], "POLO-NAVY-S")[0]
    assert changed.key != images[0].key  # a new CRC is a new image


@pytest.mark.parametrize("value, expected", [(Decimal("4.0000"), 4), (2.5, 2), ("-1.0000", 0), (None, 0), (0, 0)])
def test_stock_is_whole_units_never_below_zero(value, expected):
    assert units(value) == expected
