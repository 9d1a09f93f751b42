"""Helpers for tests that talk to the sandbox: shops with fresh keys, their tokens, a product."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from .store import Store


# The made-up test vector of gateway-api.md section 3: a key spelled out as the phrase it encodes
# (no credential), the shop and the token B1 gives them; the client and the sandbox both check it.
VECTOR_KEY = base64.b64encode(b"gateway-sync-test-signing-key-32").decode()
VECTOR_SHOP = "11111111-2222-4333-8444-555555555555"
VECTOR_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzaG9wOjExMTExMTExLTIyMjItNDMzMy04NDQ0LTU1NTU1NTU1NTU1NSIs"
    "Im9yZ2FuaXphdGlvbl9ndWlkIjoiMTExMTExMTEtMjIyMi00MzMzLTg0NDQtNTU1NTU1NTU1NTU1IiwiZ3JvdXBzIjpbInNob3BrZWVwZXIiXX0"
    ".uqb9557F6956zl9cagsx-E-pWe4Rt7hQ3fcadCAzfjs"
)


def shop_token(guid: str, key_b64: str, **extra_claims: Any) -> str:
    """The token of spec 3 (iss, organization_guid, groups), plus any extra claims."""
    claims = {"iss": f"shop:{guid}", "organization_guid": guid, "groups": ["shopkeeper"], **extra_claims}
    return jwt.encode(claims, base64.b64decode(key_b64), algorithm="HS256")


@dataclass(frozen=True)
class TestShop:
    __test__ = False  # not a pytest test class

    guid: str
    key: str  # standard base64 text, as handed to vendors

    @property
    def token(self) -> str:
        return shop_token(self.guid, self.key)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_test_shop(store: Store, guid: str | None = None) -> TestShop:
    """A shop with a fresh random 32-byte key, registered in the store."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return TestShop(store.add_shop(guid or str(uuid.uuid4()), key), key)


def sample_product(name: str = "Linen shirt", **fields: Any) -> dict[str, Any]:
    """A valid E1 product (B7 gross price) to adjust per test."""
    product = {
        "name": name,
        "base_price_type": "retail",
        "base_price": {"currency": "zł", "vat_percent": 23, "amount": 150.00},
        "vat": "VAT23",
        "images": [],
        "tag_guids": [],
    }
    product.update(fields)
    return product


def sample_item(name: str = "Linen shirt", stock_level: int = 3, **fields: Any) -> dict[str, Any]:
    return {"product": sample_product(name, **fields), "stock_level": stock_level, "for_sale": True}
