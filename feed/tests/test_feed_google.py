from decimal import Decimal

import pytest
from gwsync.errors import EXIT_CANNOT_RUN, ConfigError
from gwsync.models import ImageAccess
from gwsync_feed.errors import FeedError
from gwsync_feed.fake import rss
from gwsync_feed.fake import rss_item as item

FULL = item(id="A1", title="Kubek Poranek", description="Opis kubka", link="https://s.pl/a1",
            price="39.90 PLN", image_link="img/a.png", additional_image_link=["img/b.png", "https://cdn.pl/c.jpg"],
            availability="in_stock", quantity="7", gtin="5901234123457", mpn="M-1",
            product_type="Dom i ogród > Kuchnia i jadalnia", google_product_category="123")


def test_every_field_of_a_single_item(read, write_feed, tmp_path):
    result = read({"source": (write_feed(rss(FULL)))})
    product = result.products["A1"]
    assert product.name == "Kubek Poranek"
    assert product.description == "Opis kubka"
    assert product.price == Decimal("39.90") and product.vat == 23 and product.stock == 7
    assert product.sku == "A1" and product.ean == "5901234123457"
    assert product.category_path == ("Dom i ogród", "Kuchnia i jadalnia")
    assert [(i.url, i.access) for i in product.images] == [
        ((tmp_path / "img/a.png").as_uri(), ImageAccess.FETCH),
        ((tmp_path / "img/b.png").as_uri(), ImageAccess.FETCH),
        ("https://cdn.pl/c.jpg", ImageAccess.PUBLIC),
    ]
    assert product.variants == () and product.active


@pytest.mark.parametrize("fields, stock", [
    ({"availability": "out_of_stock", "quantity": "5"}, 0),
    ({"availability": "out of stock"}, 0),
    ({"availability": "preorder"}, 0),
    ({"availability": "in_stock"}, 1),  # FEED_DEFAULT_STOCK
    ({"availability": "in stock", "quantity": "12"}, 12),
    ({"quantity": "-4"}, 0),
])
def test_stock_rules(read, write_feed, fields, stock):
    result = read({"source": (write_feed(rss(item(id="A", title="T", price="10 PLN", **fields))))})
    assert result.products["A"].stock == stock


def test_default_stock_setting(read, write_feed):
    feed = write_feed(rss(item(id="A", title="T", price="10 PLN", availability="in_stock")))
    result = read({"source": feed, "default_stock": "0"})
    assert result.products["A"].stock == 0


@pytest.mark.parametrize("window, price", [
    (None, "80.00"),  # no window: the sale price applies
    ("2025-06-01T00:00+02:00/2025-06-30T23:59+02:00", "80.00"),
    ("2025-06-15/2025-06-15", "80.00"),  # a bare end date covers the whole day
    ("2025-01-01T00:00:00+0100/2025-02-01T00:00:00+0100", "100.00"),  # over
    ("2025-07-01/2025-07-31", "100.00"),  # not yet
    ("soon", "100.00"),  # unreadable: the regular price
])
def test_sale_price_window(read, write_feed, window, price):
    fields = {"sale_price": "80 PLN"} | ({"sale_price_effective_date": window} if window else {})
    feed = write_feed(rss(item(id="A", title="T", price="100 PLN", **fields)))
    result = read({"source": feed})
    assert result.products["A"].price == Decimal(price)


def test_vat_default_setting_and_item_override(read, write_feed):
    feed = write_feed(rss(item(id="A", title="T", price="10 PLN"), item(id="B", title="T", price="10 PLN", vat="5%")))
    products = read({"source": feed, "vat": "8"}).products
    assert products["A"].vat == 8 and products["B"].vat == 5


def test_google_category_path_when_no_product_type(read, write_feed):
    feed = write_feed(rss(item(id="A", title="T", price="1 PLN", google_product_category="Dom > Kuchnia"),
                          item(id="B", title="T", price="1 PLN", google_product_category="536")))
    products = read({"source": feed}).products
    assert products["A"].category_path == ("Dom", "Kuchnia") and products["B"].category_path == ()


def test_bad_items_are_skipped_with_reasons(read, write_feed):
    feed = write_feed(rss(
        item(title="no id", price="1 PLN"),
        item(id="B", price="1 PLN"),
        item(id="C", title="T"),
        item(id="D", title="T", price="12 USD"),
        item(id="E", title="T", price="0.00 PLN"),
        item(id="F", title="T", price="1 PLN", vat="7.5"),
        item(id="G", title="ok", price="1 PLN"),
    ))
    result = read({"source": feed})
    reasons = {s.product_id: s.reason for s in result.skipped}
    assert reasons == {
        "item #1": "item #1: no g:id", "B": "item #2: no title", "C": "item #3: no g:price",
        "D": "item #4: price '12 USD' is not in PLN (only PLN prices are imported)",
        "E": "item #5: price '0.00 PLN' is not above zero",
        "F": "item #6: not a VAT rate: '7.5' (expected a whole percent such as 23)",
    }
    assert list(result.products) == ["G"]


def _variant(vid, group, title, **options):
    return item(id=vid, item_group_id=group, title=title, price="49 PLN", quantity="3", **options)


def test_adjacent_variants_form_one_product_with_a_base_name(read, write_feed):
    feed = write_feed(rss(
        _variant("T-S", "T", "Koszulka Basic czarna S", size="S", color="czarna"),
        _variant("T-M", "T", "Koszulka Basic czarna M", size="M", color="czarna"),
        _variant("T-L", "T", "Koszulka Basic - czarna, L", size="L", color="czarna"),
    ))
    result = read({"source": feed})
    product = result.products["T"]
    assert product.name == "Koszulka Basic"
    assert [(v.variant_id, v.options) for v in product.variants] == [
        ("T-S", {"Kolor": "czarna", "Rozmiar": "S"}), ("T-M", {"Kolor": "czarna", "Rozmiar": "M"}),
        ("T-L", {"Kolor": "czarna", "Rozmiar": "L"})]
    assert product.stock == 9 and all(v.price == Decimal("49.00") for v in product.variants)


def test_non_adjacent_variants_are_still_one_product(read, write_feed):
    feed = write_feed(rss(
        _variant("S-1", "S", "Sweter Halny (czerwony)", color="czerwony"),
        item(id="X", title="Kubek", price="5 PLN"),
        _variant("Q-1", "Q", "Czapka", material="wełna"),
        _variant("S-2", "S", "Sweter Halny (niebieski)", color="niebieski"),
        _variant("Q-2", "Q", "Czapka", material="akryl"),
    ))
    result = read({"source": feed})
    assert [i.product_id for i in result.items] == ["X", "Q", "S"]  # single items stream first
    products = result.products
    assert products["S"].name == "Sweter Halny"
    assert [v.variant_id for v in products["S"].variants] == ["S-1", "S-2"]
    assert [v.options for v in products["Q"].variants] == [{"Materiał": "wełna"}, {"Materiał": "akryl"}]


def test_titles_that_differ_share_their_common_words(read, write_feed):
    feed = write_feed(rss(_variant("C-1", "C", "Czapka Pompon czerwona", color="czerwony"),
                          _variant("C-2", "C", "Czapka Pompon zielona", color="zielony")))
    assert read({"source": feed}).products["C"].name == "Czapka Pompon"


def test_group_members_without_options_get_a_fallback_option(read, write_feed):
    feed = write_feed(rss(_variant("Z-1", "Z", "Zestaw mały"), _variant("Z-2", "Z", "Zestaw duży")))
    product = read({"source": feed}).products["Z"]
    assert product.name == "Zestaw"
    assert [v.options for v in product.variants] == [{"Wariant": "mały"}, {"Wariant": "duży"}]


def test_a_group_of_one_plain_item_is_an_item(read, write_feed):
    feed = write_feed(rss(_variant("P-1", "P", "Plakat"), _variant("K-1", "K", "Kurtka M", size="M")))
    products = read({"source": feed}).products
    assert products["P-1"].variants == ()
    assert products["K"].name == "Kurtka" and products["K"].variants[0].options == {"Rozmiar": "M"}


def test_a_bad_variant_is_skipped_and_the_rest_imported(read, write_feed):
    feed = write_feed(rss(_variant("V-1", "V", "Buty 38", size="38"),
                          item(id="V-2", item_group_id="V", title="Buty 39", size="39", price="abc"),
                          _variant("V-1", "V", "Buty 38", size="38"),
                          item(id="V-3", item_group_id="V", title="Buty 40", size="40", price="9 PLN", vat="8")))
    result = read({"source": feed})
    assert [(s.variant_id, s.reason) for s in result.skipped] == [
        ("V-2", "item #2: not a price: 'abc'"),
        ("V-1", "item #3: id 'V-1' repeats within the group"),
        ("V-3", "item #4: VAT 8% differs from the group's 23%"),
    ]
    assert [v.variant_id for v in result.products["V"].variants] == ["V-1"]


def test_a_group_with_no_good_member_is_skipped(read, write_feed):
    feed = write_feed(rss(item(id="W-1", item_group_id="W", title="T")))
    result = read({"source": feed})
    assert [(s.product_id, s.variant_id) for s in result.skipped] == [("W", "W-1"), ("W", None)]


def test_repeated_ids_are_reported_not_yielded_twice(read, write_feed):
    feed = write_feed(rss(item(id="A", title="T", price="1 PLN"), item(id="A", title="T2", price="2 PLN")))
    result = read({"source": feed})
    assert [i.product_id for i in result.items] == ["A"]
    assert result.ctx.notes == ["repeated ids ignored: 1, e.g. item #2 repeats g:id 'A' of item #1"]


def test_atom_feed(read, write_feed):
    atom = ('<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">'
            '<title>t</title><entry><g:id>A</g:id><title>Kubek</title><summary>Opis</summary>'
            '<link href="https://s.pl/a"/><g:price>5 PLN</g:price></entry></feed>')
    product = read({"source": (write_feed(atom, "feed.atom"))}).products["A"]
    assert (product.name, product.description, product.price) == ("Kubek", "Opis", Decimal("5.00"))


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id><title>&lol9;</title></item></channel></rss>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id><title>&secret;</title></item></channel></rss>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">
<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id><title>x</title><g:price>1 PLN</g:price></item></channel></rss>
"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
def test_hostile_xml_is_refused_not_expanded(read, write_feed, xml):
    with pytest.raises(FeedError, match="refused: the XML declares entities") as err:
        read({"source": write_feed(xml)})
    assert err.value.exit_code == EXIT_CANNOT_RUN


def test_an_external_dtd_is_never_fetched(read, write_feed):
    # Old RSS feeds name a DTD; expat does not load it (nothing listens on port 9).
    assert list(read({"source": write_feed(EXTERNAL_DTD)}).products) == ["1"]


def test_broken_xml_names_the_line(read, write_feed):
    feed = write_feed(rss(item(id="A", title="T", price="1 PLN")) + "<oops>")
    with pytest.raises(FeedError, match=r"not well-formed XML at line \d+"):
        read({"source": feed})


def test_other_xml_is_not_taken_for_a_feed(read, write_feed):
    with pytest.raises(ConfigError, match="root <products> is not a feed format"):
        read({"source": (write_feed("<products><product/></products>"))})


def test_demo_feed(read, examples):
    result = read({"source": str(examples / "demo.xml")})
    products = list(result.products.values())
    assert len(products) == 28 and not result.skipped and result.ctx.notes == []
    assert sum(len(p.variants) or 1 for p in products) == 46
    shirts = result.products["KOS-400"]
    assert shirts.name == "Koszula Oxford" and len(shirts.variants) == 4
    urls = {i.url for p in products for i in p.images} | {i.url for p in products for v in p.variants for i in v.images}
    assert len(urls) == 6 and all((examples / "images" / u.rsplit("/", 1)[-1]).is_file() for u in urls)
