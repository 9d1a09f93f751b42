import base64
import secrets

import jwt
import pytest
from gwsync.errors import ConfigError
from gwsync.gateway.auth import TokenSource, build_token, decode_signing_key, parse_shop_guid
from gwsync.sandbox.testkit import VECTOR_KEY, VECTOR_SHOP, VECTOR_TOKEN

def test_token_matches_the_documented_vector():
    assert build_token(VECTOR_SHOP, decode_signing_key(VECTOR_KEY), issued_at=None) == VECTOR_TOKEN


def test_token_source_adds_expiry_and_refreshes_before_it():
    key = secrets.token_bytes(32)
    now = [1_000_000.0]
    source = TokenSource(VECTOR_SHOP, key, clock=lambda: now[0])
    first = source.header()
    claims = jwt.decode(first.split()[1], key, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["iss"] == f"shop:{VECTOR_SHOP}" and claims["groups"] == ["shopkeeper"]
    assert claims["exp"] - claims["iat"] == 3600
    now[0] += 60
    assert source.header() == first
    now[0] += 3300
    assert source.header() != first


@pytest.mark.parametrize("text", ["not base64!!", "", base64.b64encode(b"short").decode()])
def test_bad_signing_key_is_a_config_error_without_the_value(text):
    with pytest.raises(ConfigError) as err:
        decode_signing_key(text)
    assert "GATEWAY_SIGNING_KEY" in str(err.value)
    assert not text or text not in str(err.value)


def test_shop_guid_must_be_a_uuid():
    assert parse_shop_guid(VECTOR_SHOP.upper()) == VECTOR_SHOP
    with pytest.raises(ConfigError, match="GATEWAY_SHOP_GUID"):
        parse_shop_guid("shop-1")
