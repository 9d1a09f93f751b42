from decimal import Decimal

import pytest
from gwsync_feed.values import clean_ean, parse_bool, parse_price, parse_stock, parse_vat, split_path


@pytest.mark.parametrize("text, expected", [
    ("123.45 PLN", "123.45"), ("PLN 123.45", "123.45"), ("12,50 zł", "12.50"), ("99", "99.00"),
    ("1 234,56 PLN", "1234.56"), ("1.234,56", "1234.56"), ("1,234.56 PLN", "1234.56"),
    ("1\u00a0299,00 zł", "1299.00"), ("10.005", "10.01"),
])
def test_prices(text, expected):
    assert parse_price(text) == Decimal(expected)


@pytest.mark.parametrize("text, reason", [
    ("12 EUR", "not in PLN"), ("0.00 PLN", "not above zero"), ("abc", "not"), ("1.2.3", "not a number"),
    ("-5 PLN", "not above zero"),
])
def test_bad_prices(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_price(text)


@pytest.mark.parametrize("text, rate", [("23", 23), ("8%", 8), ("0.05", 5), ("zw", 0), (" 0 ", 0)])
def test_vat(text, rate):
    assert parse_vat(text) == rate


@pytest.mark.parametrize("text", ["7.5", "abc", "150"])
def test_bad_vat(text):
    with pytest.raises(ValueError):
        parse_vat(text)


@pytest.mark.parametrize("text, stock", [("12", 12), ("5,0000", 5), ("2.5", 2), ("-3", 0), ("1 200", 1200)])
def test_stock(text, stock):
    assert parse_stock(text) == stock


def test_ean_needs_a_valid_check_digit():
    assert clean_ean("5901234123457") == "5901234123457"
    assert clean_ean("5901234123458") is None
    assert clean_ean("12345") is None
    assert clean_ean(None) is None


def test_bool_and_path():
    assert parse_bool("TAK") is True and parse_bool("0") is False
    with pytest.raises(ValueError):
        parse_bool("maybe")
    assert split_path(" A > B >> C ") == ("A", "B", "C")
