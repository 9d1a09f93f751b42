from decimal import Decimal

import pytest
from gwsync.models import Product, Skipped, build_product, gross_from_net, to_money


@pytest.mark.parametrize("net, rate, gross", [
    ("121.138211", 23, "149.00"), ("145.528455", 23, "179.00"), ("23.9", 23, "29.40"),
    ("10.00", 0, "10.00"), ("0.125", 0, "0.13"), ("4.065041", 23, "5.00"),
])
def test_gross_from_net_rounds_half_up_to_cents(net, rate, gross):
    assert gross_from_net(net, rate) == Decimal(gross)


def test_to_money_accepts_platform_spellings():
    assert to_money("12,50") == Decimal("12.50")
    assert to_money(" 7 ") == Decimal("7.00")
    with pytest.raises(ValueError):
        to_money("abc")
    with pytest.raises(ValueError):
        to_money("NaN")


def test_build_product_turns_a_bad_record_into_a_skip_with_reason():
    skipped = build_product(12, name="", price="10", vat=23)
    assert isinstance(skipped, Skipped) and skipped.product_id == "12"
    assert "name" in skipped.reason
    negative = build_product(13, name="X", price="10", vat=23, stock=-2)
    assert isinstance(negative, Skipped) and "stock" in negative.reason


def test_blank_optional_text_becomes_none():
    product = build_product(1, name="Mug", price="9.99", vat=23, sku="  ", description="")
    assert isinstance(product, Product)
    assert product.sku is None and product.description is None and product.price == Decimal("9.99")


def test_variant_ids_must_be_unique_within_a_product():
    variant = {"variant_id": "1", "options": {"Size": "M"}}
    result = build_product(1, name="Shirt", price="10", vat=23, variants=[variant, variant])
    assert isinstance(result, Skipped) and "repeat" in result.reason
