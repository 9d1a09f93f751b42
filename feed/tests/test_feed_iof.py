"""IdoSell IOF 3.0 on recorded feeds of real shops (tests/fixtures/idosell, see its README)."""

from decimal import Decimal
from pathlib import Path

import pytest
from gwsync.errors import ConfigError
from gwsync_feed.connector import FeedConnector

FIXTURES = Path(__file__).parent / "fixtures" / "idosell"


def variants(product) -> dict:
    return {v.variant_id: (v.options, v.price, v.stock) for v in product.variants}


def test_full_feed_of_the_demo_shop(read):
    result = read({"source": str(FIXTURES / "demo46_full_feed_marketplace10000.xml")})
    products = result.products
    assert sorted(products) == ["10", "11", "12", "5", "7", "9"]
    # one-size ("uniw") products are plain products under the IdoSell product id
    ipad = products["5"]
    assert (ipad.variants, ipad.price, ipad.stock, ipad.vat) == ((), Decimal("5143.13"), 0, 23)
    assert ipad.category_path == ("WIOSNA-LATO 2011", "ATLETICO")
    assert ipad.images[0].url.endswith("/pictures/large/5/0/5_3.jpg")  # the first large image
    assert products["11"].stock == 1  # in stock, quantity -1 (unknown): FEED_DEFAULT_STOCK
    assert products["9"].stock == 0  # on_order
    # sizes are variants, priced per size; unavailable sizes have no stock
    assert variants(products["10"])["10-U"] == ({"Rozmiar": "128GB"}, Decimal("323.13"), 0)
    [skipped] = result.skipped
    assert (skipped.product_id, skipped.reason) == ("6", "item #2: no gross price on the size or the product")


def test_version_group_is_one_product_with_the_same_option_names(read):
    """Products 7 and 8 form a group (first_product_id 7) told apart by "Model"."""
    group = read({"source": str(FIXTURES / "demo46_full_feed_marketplace10000.xml")}).products["7"]
    found = variants(group)
    assert found["7-U"] == ({"Model": "Supreme", "Rozmiar": "128GB"}, Decimal("3388.82"), 1)
    assert found["8-W"] == ({"Model": "Optimum", "Rozmiar": "500GB"}, Decimal("3223.13"), 1)
    assert len(found) == 6 and group.name == "Playstation 4 Slim"


def test_stock_is_summed_over_warehouses(read):
    group = read({"source": str(FIXTURES / "demo46_shop3_full_feed_two_grouped_products.xml")}).products["15"]
    found = variants(group)
    assert found["15-4"] == ({"Kolor": "Szary", "Rozmiar": "M"}, Decimal("115.00"), 8)  # 6 + 2
    assert found["15-2"][2] == 0  # unavailable
    assert found["16-2"] == ({"Kolor": "Beżowy", "Rozmiar": "XS"}, Decimal("1518.00"), 0)
    assert group.name == "Bluzka damska H&M" and group.vat == 23


def test_one_size_in_a_version_group_keeps_only_the_version_option(read, write_feed):
    one = (FIXTURES / "telimena_product_16212_no_short_desc.xml").read_text()
    grouped = one.replace("</sizes>", "</sizes><group id=\"3\" first_product_id=\"16212\"><group_by_parameter>"
                          "<name xml:lang=\"pol\">Kolor</name><product_value><name xml:lang=\"pol\">Czarny"
                          "</name></product_value></group_by_parameter></group>")
    path = write_feed(f'<offer file_format="IOF" version="3.0"><products currency="PLN">{grouped}</products></offer>')
    [product] = read({"source": path}).products.values()
    assert [(v.variant_id, v.options) for v in product.variants] == [("16212-355", {"Kolor": "Czarny"})]


def test_recorded_product_without_descriptions(read, write_feed):
    """telimena.pl: one size "uniwersalny" (id 355, not "uniw"), four warehouses, no description."""
    product = (FIXTURES / "telimena_product_16212_no_short_desc.xml").read_text()
    path = write_feed(f'<offer file_format="IOF" version="3.0"><products currency="PLN">{product}</products></offer>')
    found = read({"source": path}).products["16212"]
    assert (found.name, found.price, found.stock, found.description) == (
        "Triaction Sportowe Etui", Decimal("78.00"), 15, None)
    assert found.sku == "16212-355" and found.variants == ()


def test_bundle_parts_are_not_products(read):
    """A bundle lists its parts as nested <product> elements; only the bundle itself is an item."""
    ids = read({"source": str(FIXTURES / "demo46_full_feed_marketplace10000.xml")}).products
    assert "28" not in ids and ids["9"].name == "Playstation 4 zestaw VR"


def test_foreign_currency_is_skipped(read, write_feed):
    path = write_feed('<offer><products><product id="1" currency="EUR" vat="23"><description><name>X</name>'
                      '</description><sizes><size id="uniw"><price gross="5"/></size></sizes></product>'
                      '</products></offer>')
    [skipped] = read({"source": path}).skipped
    assert "currency EUR" in skipped.reason


def test_light_feed_is_refused_with_the_fix(write_feed):
    path = write_feed('<offer file_format="IOF" version="3.0"><products><product id="1"><sizes><size id="uniw">'
                      '<stock quantity="3"/></size></sizes></product></products></offer>')
    with pytest.raises(ConfigError, match="IOF light.xml .*full.xml"):
        FeedConnector({"source": path}).check()


def test_ean_from_the_size_code_producer(read, write_feed):
    path = write_feed('<offer><products><product id="1" vat="8.0"><description><name>Herbata</name></description>'
                      '<sizes><size id="a" name="100 g" code_producer="5901234123457"><price gross="12.5"/></size>'
                      '<size id="b" name="250 g" code_producer="123"><price gross="25"/></size></sizes>'
                      '</product></products></offer>')
    product = read({"source": path}).products["1"]
    assert [(v.ean, v.options) for v in product.variants] == [
        ("5901234123457", {"Rozmiar": "100 g"}), (None, {"Rozmiar": "250 g"})]
    assert product.vat == 8
