"""Ceneo XML: one <o> per sellable item, gross prices, stock in `stock`, grouping only by an explicit rule."""

from decimal import Decimal
from pathlib import Path

FEED = str(Path(__file__).parent / "fixtures" / "ceneo" / "offers.xml")


def test_offers_map_to_products(read):
    result = read({"source": FEED})
    mug = result.products["KUB-350"]
    assert (mug.name, mug.price, mug.stock, mug.vat, mug.ean) == (
        "Kubek emaliowany 350 ml", Decimal("39.99"), 12, 23, "5901234123457")
    assert mug.category_path == ("Dom i ogród", "Kuchnia", "Kubki")
    assert [i.url for i in mug.images] == ["https://sklep.example.pl/img/kub-350.jpg",
                                           "https://sklep.example.pl/img/kub-350-2.jpg"]
    assert mug.description == "<p>Kubek z blachy emaliowanej.</p>"
    assert result.products["PRE-1"].stock == 0  # avail 110: preorder, nothing on hand
    [bad] = result.skipped
    assert bad.product_id == "BAD-1" and "not in PLN" in bad.reason


def test_without_a_group_rule_every_offer_is_its_own_product(read):
    products = read({"source": FEED}).products
    assert {"BLZ-51-M", "BLZ-51-L"} <= set(products) and not products["BLZ-51-M"].variants
    assert products["BLZ-51-L"].stock == 1  # no stock attribute, avail 7 (ships in a week): default stock


def test_group_by_an_attribute(read):
    products = read({"source": FEED, "group_by": "Kod grupy"}).products
    group = products["BLZ-51"]
    assert "BLZ-51-M" not in products
    assert group.name == "Bluza z kapturem"
    assert [(v.variant_id, v.options, v.price, v.stock) for v in group.variants] == [
        ("BLZ-51-M", {"Rozmiar": "M"}, Decimal("159.00"), 4),
        ("BLZ-51-L", {"Rozmiar": "L"}, Decimal("149.00"), 1)]
    assert not products["KUB-350"].variants  # no "Kod grupy": not grouped


def test_option_attributes_are_a_setting(read, write_feed):
    path = write_feed('<offers><o id="A1" price="10"><name>Farba biała</name><attrs><a name="Grupa">A</a>'
                      '<a name="Pojemność">1 l</a></attrs></o><o id="A2" price="18"><name>Farba biała</name>'
                      '<attrs><a name="Grupa">A</a><a name="Pojemność">2 l</a></attrs></o></offers>')
    group = read({"source": path, "group_by": "grupa", "options": "Pojemność"}).products["A"]
    assert [v.options for v in group.variants] == [{"Pojemność": "1 l"}, {"Pojemność": "2 l"}]
