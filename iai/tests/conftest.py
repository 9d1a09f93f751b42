"""Fixtures for the IdoSell tests.

The recorded IdoSell files (tests/fixtures/, copied from shared/fixtures/idosell) are IOF 3.0 feed products, not
Admin API search results. `iof_to_admin` re-expresses one feed <product> in the Admin
API's field names, field by field as the platform doc's mapping table (section 5) pairs
them, so that the mapping's business rules run on the recorded values.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IAIEXT = "{http://www.iai-shop.com/developers/iof/extensions.phtml}"


def _float(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


def iof_to_admin(product: ET.Element, siblings: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """One IOF <product> as an Admin API search record (doc section 5, column by column)."""
    pid = int(product.get("id"))
    texts: dict[str, dict[str, str]] = {}
    for element in product.find("description") or ():
        lang = element.get(XML_LANG)
        key = {"name": "productName", "short_desc": "productDescription",
               "long_desc": "productLongDescription"}.get(element.tag)
        if lang and key:
            texts.setdefault(lang, {"langId": lang})[key] = (element.text or "").strip()
    category = product.find("category")
    producer = product.find("producer")
    record: dict[str, Any] = {
        "productId": pid,
        "productVat": float(product.get("vat")),
        "productVatFree": "n",
        "currencyId": product.get("currency"),
        "productRetailPrice": _float(product.find("price").get("gross")),
        "productIsVisible": "y",
        "categoryId": int(category.get("id")),
        "categoryName": category.get("name"),
        "producerName": producer.get("name") if producer is not None else None,
        "productDescriptionsLangData": list(texts.values()),
        "productImages": [
            {"productImageLargeUrl": image.get("url"), "productImageHash": image.get("hash"),
             "productImagePriority": n}
            for n, image in enumerate(product.findall("images/large/image"), start=1)],
        "productSizesAttributes": [],
        "productStocksData": {"productStocksQuantities": []},
    }
    stocks: dict[int, list[dict[str, Any]]] = {}
    for size in product.findall("sizes/size"):
        price = size.find("price")
        record["productSizesAttributes"].append({
            "sizeId": size.get("id"),
            "sizePanelName": size.get("panel_name"),
            "productSizeCodeExternal": size.get(f"{IAIEXT}code_external"),
            "productSizeCodeProducer": size.get("code_producer"),
            "productRetailPrice": _float(price.get("gross")) if price is not None else None,
        })
        for stock in size.findall("stock"):
            stocks.setdefault(int(stock.get("id")), []).append(
                {"sizeId": size.get("id"), "productSizeQuantity": int(stock.get("quantity"))})
    record["productStocksData"]["productStocksQuantities"] = [
        {"stockId": sid, "productSizesData": rows} for sid, rows in sorted(stocks.items())]
    group = product.find("group")
    if group is not None:
        by = group.find("group_by_parameter")
        record["productVersion"] = {
            "versionParentId": int(group.get("first_product_id")),
            "versionProductsIds": (siblings or {}).get(group.get("id"), [pid]),
            "versionGroupNames": {"versionGroupNamesLangData": [
                {"langId": n.get(XML_LANG), "versionGroupName": (n.text or "").strip()}
                for n in by.findall("name")]},
            "versionNames": {"versionNamesLangData": [
                {"langId": n.get(XML_LANG), "versionName": (n.text or "").strip()}
                for n in by.findall("product_value/name")]},
        }
    return record


def size_names(product: ET.Element) -> dict[str, str]:
    """What `GET sizes/sizes` would say for these sizes: the shop-facing names."""
    return {s.get("id"): s.get("name") for s in product.findall("sizes/size") if s.get("name")}


def load_feed(name: str) -> tuple[dict[int, dict[str, Any]], dict[str, str]]:
    root = ET.parse(FIXTURES / name).getroot()
    products = [p for p in root.iter("product") if p.get("id") and p.find("sizes") is not None]
    groups: dict[str, list[int]] = {}
    for p in products:
        group = p.find("group")
        if group is not None:
            groups.setdefault(group.get("id"), []).append(int(p.get("id")))
    names: dict[str, str] = {}
    for p in products:
        names.update(size_names(p))
    return {int(p.get("id")): iof_to_admin(p, groups) for p in products}, names


@pytest.fixture(scope="session")
def demo46() -> tuple[dict[int, dict[str, Any]], dict[str, str]]:
    return load_feed("demo46_full_feed_marketplace10000.xml")


@pytest.fixture(scope="session")
def shop3() -> tuple[dict[int, dict[str, Any]], dict[str, str]]:
    return load_feed("demo46_shop3_full_feed_two_grouped_products.xml")


@pytest.fixture(scope="session")
def telimena() -> dict[str, Any]:
    root = ET.parse(FIXTURES / "telimena_product_16212_no_short_desc.xml").getroot()
    return iof_to_admin(root)


@pytest.fixture(scope="session")
def product16() -> dict[str, Any]:
    root = ET.parse(FIXTURES / "demo46_shop3_product_16.xml").getroot()
    return iof_to_admin(root)
