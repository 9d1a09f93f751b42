from decimal import Decimal

import pytest
from gwsync.kit import decimal_or_none


@pytest.mark.parametrize("value, expected", [
    (12, Decimal(12)), (12.5, Decimal("12.5")), (Decimal("12.50"), Decimal("12.50")), ("121.138211", Decimal("121.138211")),
    (" 12,50 ", Decimal("12.50")), ("-3", Decimal(-3)), ("58.000", Decimal("58.000")),
    (None, None), ("", None), ("  ", None), ("n/a", None), ("NaN", None), ("Infinity", None), (True, None),
    (False, None), ("1.234,56", None),
])
def test_numbers_in_every_shape_apis_send_them(value, expected):
    assert decimal_or_none(value) == expected
