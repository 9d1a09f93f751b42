"""Mapping rules, each on recorded IdoSell values (see conftest: IOF -> Admin API field names)."""

from __future__ import annotations

from copy import deepcopy
from decimal import Decimal

import pytest

from gwsync.models import ImageAccess, Product, Skipped
from gwsync_iai.mapping import (
    DEFAULT_SIZE_OPTION,
    Options,
    SizeCatalog,
    base_name,
    category_path,
    change_time,
    clean_html,
    ean_of,
    map_unit,
    money,
    size_stock,
    stock_by_size,
    vat_rate,
)

OPTS = Options(base_url="https://demo46-pl.yourtechnicaldomain.com/")


def catalog(names: dict[str, str], groups: dict[str, str] | None = None) -> SizeCatalog:
    return SizeCatalog(groups=groups or {}, names=names)


def only_product(items) -> Product:
    products = [i for i in items if isinstance(i, Product)]
    assert len(products) == 1, items
    return products[0]


# -- prices ---------------------------------------------------------------------


def test_gross_price_is_decimal_from_the_recorded_feed(demo46):
    records, names = demo46
    product = only_product(map_unit("5", [records[5]], catalog(names), OPTS))
    assert product.price == Decimal("5143.13")
    assert isinstance(product.price, Decimal)


def test_size_price_overrides_the_product_price(shop3):
    records, names = shop3
    group = only_product(map_unit("15", [records[15], records[16]], catalog(names), OPTS))
    prices = {v.variant_id: v.price for v in group.variants}
    assert prices["16-2"] == Decimal("1518.00")  # XS of product 16 has its own (edited) price
    assert prices["16-3"] == Decimal("115.00")


def test_zero_size_price_inherits_the_product_price():
    record = {"productId": 1, "productVat": 23.0, "currencyId": "PLN", "productRetailPrice": 49.2,
              "productDescriptionsLangData": [{"langId": "pol", "productName": "Kubek"}],
              "productSizesAttributes": [{"sizeId": "uniw", "productRetailPrice": 0}]}
    assert only_product(map_unit("1", [record], SizeCatalog(), OPTS)).price == Decimal("49.20")


def test_zero_price_everywhere_is_skipped_with_a_reason(demo46):
    records, names = demo46
    items = map_unit("6", [records[6]], catalog(names), OPTS)
    assert items == [Skipped(product_id="6", reason="no price (0.00) in IdoSell")]


def test_money_reads_numbers_and_strings():
    assert money("49,20") == Decimal("49.20")
    assert money(3388.82) == Decimal("3388.82")
    assert money(0) is None and money(None) is None


# -- VAT ------------------------------------------------------------------------------


def test_vat_is_an_integer(telimena):
    assert vat_rate(telimena) == 23
    assert only_product(map_unit("16212", [telimena], SizeCatalog(), OPTS)).vat == 23


@pytest.mark.parametrize("raw, expected", [(23.0, 23), ("8.0", 8), ("5", 5), (0, 0)])
def test_vat_forms(raw, expected):
    assert vat_rate({"productVat": raw}) == expected


def test_vat_free_is_zero():
    assert vat_rate({"productVat": 23.0, "productVatFree": "y"}) == 0


def test_fractional_vat_is_skipped(telimena):
    record = dict(telimena, productVat=5.5)
    items = map_unit("16212", [record], SizeCatalog(), OPTS)
    assert isinstance(items[0], Skipped) and "5.5" in items[0].reason


def test_other_currency_is_skipped(telimena):
    items = map_unit("16212", [dict(telimena, currencyId="EUR")], SizeCatalog(), OPTS)
    assert isinstance(items[0], Skipped) and "EUR" in items[0].reason


# -- stock ------------------------------------------------------------------------------


def test_stock_is_summed_over_warehouses(telimena):
    product = only_product(map_unit("16212", [telimena], SizeCatalog(), OPTS))
    assert product.stock == 4 + 1 + 5 + 5


def test_stock_counts_only_the_configured_warehouses(telimena):
    assert stock_by_size(telimena, Options(stock_ids=frozenset({1, 2}))) == {"355": 5}


def test_unknown_stock_minus_one(shop3):
    records, _ = shop3
    stock = stock_by_size(records[15], Options())
    assert stock["4"] == 8  # 6 + 2
    assert stock["3"] == 0  # -1 and -1: unknown -> the configured number, default 0
    assert stock_by_size(records[15], Options(unknown_stock=5))["3"] == 5


def test_unavailable_sizes_without_stock_elements_have_zero(shop3):
    records, names = shop3
    group = only_product(map_unit("15", [records[15], records[16]], catalog(names), OPTS))
    assert all(v.stock == 0 for v in group.variants if v.variant_id.startswith("16-"))


@pytest.mark.parametrize("quantities, unknown, expected", [
    ([-1, -1], 0, 0), ([-1, 3], 0, 3), ([-1, 0], 7, 7), ([2.5, 1], 0, 3), ([None], 0, 0), ([], 9, 0)])
def test_size_stock_rules(quantities, unknown, expected):
    assert size_stock(quantities, unknown) == expected


# -- sizes, groups, options ------------------------------------------------------------------


def test_one_size_product_is_a_plain_product(telimena):
    # size 355 of this shop is its one-size: `GET sizes/sizes` names it "uniwersalny" (IOF name=)
    product = only_product(map_unit("16212", [telimena], SizeCatalog(names={"355": "uniwersalny"}), OPTS))
    assert product.variants == ()
    assert product.sku == "76024722-1245"  # the size's external code


def _pan(pid: int, colour: str, sizes: list[tuple[str, str, float]]) -> dict:
    """A frying pan version as `products/products/search` answers it (doc section 8 shape)."""
    return {
        "productId": pid, "productDisplayedCode": f"PAT-{pid}", "productVat": 23.0, "productVatFree": "n",
        "currencyId": "PLN", "productRetailPrice": sizes[0][2], "productIsVisible": "y",
        "categoryId": 311, "categoryName": "Kuchnia/Patelnie", "sizesGroupId": 7,
        "sizesGroupName": "Pojemność", "productModificationTime": "2026-03-02 10:14:55",
        "productDescriptionsLangData": [{"langId": "pol", "productName": f"Patelnia granitowa {colour}",
                                         "productDescription": "<p>Granit.</p>"}],
        "productImages": [{"productImageId": f"{pid}_1.jpg", "productImagePriority": 1,
                           "productImageLargeUrl": f"https://sklep.example.pl/data/gfx/pictures/large/{pid}_1.jpg"}],
        "productSizesAttributes": [
            {"sizeId": sid, "sizePanelName": name, "productSizeCodeExternal": f"PAT-{pid}-{sid}",
             "productSizeCodeProducer": "", "productRetailPrice": price} for sid, name, price in sizes],
        "productStocksData": {"productStocksQuantities": [{"stockId": 1, "productSizesData": [
            {"sizeId": sid, "sizePanelName": name, "productSizeQuantity": 4} for sid, name, _ in sizes]}]},
        "productVersion": {"versionParentId": 501, "versionProductsIds": [501, 502],
                           "versionGroupNames": {"versionGroupNamesLangData": [
                               {"langId": "pol", "versionGroupName": "Kolor"}]},
                           "versionNames": {"versionNamesLangData": [{"langId": "pol", "versionName": colour}]}},
    }


PAN_SIZES = SizeCatalog(groups={"7": "Pojemność"}, names={"P": "500 ml", "R": "1 l"})


def test_a_version_with_a_single_size_keeps_its_size():
    black = _pan(501, "Czarny", [("P", "500 ml", 89.0)])
    green = _pan(502, "Zielony", [("P", "500 ml", 89.0), ("R", "1 l", 119.0)])
    group = only_product(map_unit("501", [black, green], PAN_SIZES, OPTS))
    assert {v.variant_id: v.options for v in group.variants} == {
        "501-P": {"Kolor": "Czarny", "Pojemność": "500 ml"},
        "502-P": {"Kolor": "Zielony", "Pojemność": "500 ml"},
        "502-R": {"Kolor": "Zielony", "Pojemność": "1 l"}}


def test_a_group_of_one_size_versions_has_the_version_option_only():
    black = _pan(501, "Czarny", [("uniw", "uniw", 89.0)])
    green = _pan(502, "Zielony", [("uniw", "uniw", 99.0)])
    group = only_product(map_unit("501", [black, green], SizeCatalog(names={"uniw": "uniwersalny"}), OPTS))
    assert [v.options for v in group.variants] == [{"Kolor": "Czarny"}, {"Kolor": "Zielony"}]


def test_a_one_size_version_beside_sized_ones_names_its_size_too():
    black = _pan(501, "Czarny", [("uniw", "uniw", 89.0)])
    green = _pan(502, "Zielony", [("R", "1 l", 119.0)])
    group = only_product(map_unit("501", [black, green], PAN_SIZES, OPTS))
    assert [v.options for v in group.variants] == [{"Kolor": "Czarny", "Pojemność": "uniw"},
                                                   {"Kolor": "Zielony", "Pojemność": "1 l"}]


def test_a_plain_product_with_one_real_size_is_a_variant_of_that_size():
    pan = _pan(501, "Czarny", [("P", "500 ml", 89.0)])
    del pan["productVersion"]
    product = only_product(map_unit("501", [pan], PAN_SIZES, OPTS))
    assert [(v.variant_id, v.options, v.price) for v in product.variants] == [
        ("501-P", {"Pojemność": "500 ml"}, Decimal("89.00"))]


def test_sizes_become_variants_named_by_size_group(demo46):
    records, names = demo46
    product = only_product(map_unit("10", [records[10]], catalog(names, {"": "x"}), OPTS))
    assert [(v.variant_id, v.options) for v in product.variants] == [
        ("10-U", {DEFAULT_SIZE_OPTION: "128GB"}), ("10-V", {DEFAULT_SIZE_OPTION: "256GB"}),
        ("10-W", {DEFAULT_SIZE_OPTION: "500GB"})]
    named = dict(records[10], sizesGroupId=3)
    product = only_product(map_unit("10", [named], catalog(names, {"3": "Pojemność"}), OPTS))
    assert product.variants[0].options == {"Pojemność": "128GB"}


def test_size_names_come_from_the_size_catalog(shop3):
    records, names = shop3
    group = only_product(map_unit("15", [records[15], records[16]], catalog(names), OPTS))
    assert {v.options[DEFAULT_SIZE_OPTION] for v in group.variants} == {"XS", "S", "M", "L", "XL"}
    panel = only_product(map_unit("15", [records[15], records[16]], SizeCatalog(), OPTS))
    assert {v.options[DEFAULT_SIZE_OPTION] for v in panel.variants} == {"xs", "s", "m", "l", "xl"}


def test_versions_form_one_group_with_the_version_as_option(shop3):
    records, names = shop3
    items = map_unit("15", [records[16], records[15]], catalog(names), OPTS)
    group = only_product(items)
    assert group.product_id == "15" and len(group.variants) == 10
    by_id = {v.variant_id: v for v in group.variants}
    assert by_id["15-4"].options == {"Kolor": "Szary", DEFAULT_SIZE_OPTION: "M"}
    assert by_id["16-4"].options == {"Kolor": "Beżowy", DEFAULT_SIZE_OPTION: "M"}
    assert by_id["15-4"].stock == 8
    assert group.name == "Bluzka damska H&M"


def test_version_members_keep_their_own_pictures(demo46):
    records, names = demo46
    group = only_product(map_unit("7", [records[7], records[8]], catalog(names), OPTS))
    assert {v.options["Model"] for v in group.variants} == {"Supreme", "Optimum"}
    assert len(group.variants) == 6
    urls7 = {i.url for v in group.variants if v.variant_id.startswith("7-") for i in v.images}
    urls8 = {i.url for v in group.variants if v.variant_id.startswith("8-") for i in v.images}
    assert urls7 and urls8 and urls7 != urls8
    assert {v.variant_id: v.price for v in group.variants}["7-U"] == Decimal("3388.82")


def test_identical_options_are_reported_and_the_duplicate_skipped(shop3):
    records, names = shop3
    twin = deepcopy(records[16])
    twin["productVersion"]["versionNames"]["versionNamesLangData"][0]["versionName"] = "Szary"
    items = map_unit("15", [records[15], twin], catalog(names), OPTS)
    group = only_product(items)
    assert len(group.variants) == 5
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert {s.variant_id for s in skipped} == {f"16-{n}" for n in range(2, 7)}
    assert all("same options as 15-" in s.reason for s in skipped)
    assert all(s.product_id == "15" for s in skipped)


def test_group_base_name_drops_the_version_value():
    assert base_name("Kubek emaliowany Niebieski", "Niebieski") == "Kubek emaliowany"
    assert base_name("Kubek - niebieski", "Niebieski") == "Kubek"
    assert base_name("Niebieski", "Niebieski") == "Niebieski"
    assert base_name("Kubek", None) == "Kubek"


def test_group_member_with_other_vat_is_skipped(shop3):
    records, names = shop3
    other = dict(records[16], productVat=8.0)
    items = map_unit("15", [records[15], other], catalog(names), OPTS)
    assert len(only_product(items).variants) == 5
    assert all("VAT 8" in i.reason for i in items if isinstance(i, Skipped))


# -- texts, images, categories, activity ------------------------------------------------


def test_polish_texts_by_language(demo46):
    records, names = demo46
    product = only_product(map_unit("5", [records[5]], catalog(names), OPTS))
    assert product.name.startswith("Apple iPad PRO")
    assert product.brief == "Atrakcyjny wygląd, precyzyjna konstrukcja"
    items = map_unit("5", [records[5]], catalog(names), Options(language="eng"))
    assert isinstance(items[0], Skipped) and "'eng'" in items[0].reason  # no English name recorded


def test_missing_descriptions_are_left_out(telimena):
    product = only_product(map_unit("16212", [telimena], SizeCatalog(), OPTS))
    assert product.description is None and product.brief is None
    assert product.name == "Triaction Sportowe Etui"


def test_long_description_loses_style_and_gets_absolute_images(demo46):
    records, names = demo46
    product = only_product(map_unit("5", [records[5]], catalog(names), OPTS))
    assert "<style" not in product.description
    assert 'src="https://demo46-pl.yourtechnicaldomain.com/data/include/cms/product_photo_desc/' \
           'product_photo_desc_01.jpg"' in product.description
    assert clean_html("  ") is None
    assert clean_html('<a href="//cdn.example/x">', "https://s.pl/") == '<a href="//cdn.example/x">'


def test_images_are_public_in_priority_order_keyed_by_hash(product16):
    product = only_product(map_unit("16", [product16], SizeCatalog(), OPTS))
    assert [i.url.rsplit("/", 1)[1] for i in product.images] == ["16_1.jpg", "16_2.jpg"]
    assert all(i.access is ImageAccess.PUBLIC for i in product.images)
    assert product.images[0].key == "idosell-image:6e5b4cccd2d050d6821d640c46fbb35b"


def test_image_without_hash_is_keyed_by_url(telimena):
    record = deepcopy(telimena)
    record["productImages"][0].pop("productImageHash")
    record["productImages"].append(dict(record["productImages"][0]))  # a repeated URL counts once
    product = only_product(map_unit("16212", [record], SizeCatalog(), OPTS))
    assert len(product.images) == 1 and product.images[0].key is None


def test_category_path_and_temporary_category(demo46, product16):
    records, _ = demo46
    assert category_path(records[5]) == ("WIOSNA-LATO 2011", "ATLETICO")
    assert category_path(records[7]) == ()  # id 0: "*Kategoria tymczasowa"
    assert category_path(product16) == ()
    assert category_path({"categoryId": 1, "categoryName": "Test category"}) == ("Test category",)


def test_hidden_product_is_inactive(telimena):
    product = only_product(map_unit("16212", [dict(telimena, productIsVisible="n")], SizeCatalog(), OPTS))
    assert product.active is False


def test_other_shop_makes_the_product_inactive(telimena):
    record = dict(telimena, productShops=[{"shopId": 1}])
    assert only_product(map_unit("16212", [record], SizeCatalog(), Options(shop_id=2))).active is False
    assert only_product(map_unit("16212", [record], SizeCatalog(), Options(shop_id=1))).active is True


def test_every_recorded_product_maps_to_a_product_or_a_reason(demo46, shop3):
    for records, names in (demo46, shop3):
        for pid, record in records.items():
            for item in map_unit(str(pid), [record], catalog(names), OPTS):
                assert isinstance(item, (Product, Skipped))


# -- small rules ----------------------------------------------------------------------------


def test_ean_only_for_gtin_shaped_codes():
    assert ean_of("5901234123457") == "5901234123457"
    assert ean_of(" 5901234123457 ") == "5901234123457"
    assert ean_of("ABC-1") is None and ean_of("123") is None and ean_of(None) is None


def test_change_time_takes_the_later_of_modification_and_stock_change():
    record = {"productModificationTime": "2026-03-02 10:14:55",
              "productQuantityChangedTime": "2026-03-03 08:00:00"}
    assert change_time(record) == "2026-03-03 08:00:00"
    assert change_time({}) == ""


def test_doc_example_record_maps():
    """The Admin API example of the platform doc (section 8)."""
    record = {
        "productId": 42, "productDisplayedCode": "KUB-042", "productVat": 23.0, "productVatFree": "n",
        "currencyId": "PLN", "productRetailPrice": 49.2, "productIsVisible": "y",
        "categoryId": 311, "categoryName": "Kubki",
        "productDescriptionsLangData": [{"langId": "pol", "productName": "Kubek emaliowany",
                                         "productDescription": "<p>Lekki kubek.</p>",
                                         "productLongDescription": "<p>Emalia, 400 ml.</p>"}],
        "productSizesAttributes": [
            {"sizeId": "3", "sizePanelName": "S", "productSizeCodeExternal": "KUB-042-S",
             "productSizeCodeProducer": "5901234123457", "productRetailPrice": 49.2},
            {"sizeId": "4", "sizePanelName": "M", "productSizeCodeExternal": "KUB-042-M",
             "productSizeCodeProducer": "5901234123464", "productRetailPrice": 54.0}],
        "productStocksData": {"productStocksQuantities": [{"stockId": 1, "productSizesData": [
            {"sizeId": "3", "productSizeQuantity": 5}, {"sizeId": "4", "productSizeQuantity": 0}]}]},
    }
    product = only_product(map_unit("42", [record], SizeCatalog(), OPTS))
    assert product.description == "<p>Emalia, 400 ml.</p>" and product.brief == "<p>Lekki kubek.</p>"
    assert [(v.variant_id, v.sku, v.ean, v.price, v.stock) for v in product.variants] == [
        ("42-3", "KUB-042-S", "5901234123457", Decimal("49.20"), 5),
        ("42-4", "KUB-042-M", "5901234123464", Decimal("54.00"), 0)]
    assert product.category_path == ("Kubki",)


def test_size_option_is_the_size_group_name(demo46):
    records, names = demo46
    by_record = dict(records[10], sizesGroupId=3, sizesGroupName="Pamięć")
    assert only_product(map_unit("10", [by_record], catalog(names), OPTS)).variants[0].options == {
        "Pamięć": "128GB"}
    translated = catalog(names, {"3": "Pojemność"})  # the sizes/sizes catalog wins: it is per language
    assert only_product(map_unit("10", [by_record], translated, OPTS)).variants[0].options == {
        "Pojemność": "128GB"}


def test_shop_price_is_used_for_a_version_group(shop3):
    records, names = shop3
    shop = [{"shopId": 2, "productRetailPrice": 99.0, "productShopSizesAttributes": []}]
    parent, member = dict(records[15], productShopsAttributes=shop), dict(records[16], productShopsAttributes=shop)
    group = only_product(map_unit("15", [parent, member], catalog(names), Options(shop_id=2)))
    assert group.price == Decimal("99.00")
    assert {v.price for v in group.variants if v.variant_id.startswith("15-")} == {Decimal("99.00")}
