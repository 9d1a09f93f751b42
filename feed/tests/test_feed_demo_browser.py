"""The demo import as a vendor sees it: the sandbox page rendered in a real headless Chromium.

Needs Debian's `chromium` (`.ci/run` installs it) and the `playwright` Python package (no
browser download: it drives /usr/bin/chromium). Under CI=true a missing browser fails the
test; on a workstation without one it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from gwsync.testing.harness import Harness
from gwsync_feed.connector import FeedConnector

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _browser_or_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def chromium():
    reason = _browser_or_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser test cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def demo(tmp_path):
    with Harness(FeedConnector, {"source": str(EXAMPLES / "demo.xml"), "shop_id": "demo"}, tmp_path) as gw:
        result = gw.cli(["import"])
        assert result.exit_code == 0, result.output
        yield gw


def _rows(page) -> list[dict]:
    """Each product row as the vendor reads it (cells by column)."""
    return page.eval_on_selector_all("tbody tr:not(.group)", """rows => rows.map(r => {
        const c = r.querySelectorAll('td');
        return {name: c[0].querySelector('div').innerText, price: c[1].innerText, vat: c[2].innerText,
                stock: c[3].innerText, options: [...c[5].querySelectorAll('span')].map(s => s.innerText),
                categories: [...c[7].querySelectorAll('div')].map(d => d.innerText),
                archived: r.classList.contains('archived')};
    })""")


def test_the_demo_import_looks_right_in_a_real_browser(chromium, demo):
    products = demo.products()
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{demo.sandbox.url}/shops/{demo.shop_guid}", wait_until="load")

    rows = {row["name"]: row for row in _rows(page)}
    assert len(rows) == len(products) > 0

    # spot checks against the feed itself (demo.xml)
    mug = rows["Kubek ceramiczny Poranek 350 ml"]
    assert mug["price"].startswith("39.00") and mug["vat"] == "VAT23" and mug["stock"] == "25"
    assert mug["categories"] == ["Dom i ogród > Kuchnia i jadalnia"]
    tee = rows["Koszulka bawełniana Basic – czarny, M"]
    assert tee["stock"] == "14" and tee["price"].startswith("49.00")
    assert set(tee["options"]) == {"Kolor: czarny", "Rozmiar: M"}
    assert tee["categories"] == ["Kobieta > Odzież > T-shirty i topy"]
    assert rows["Koszulka bawełniana Basic – czarny, XL"]["stock"] == "0"

    # every product: gross price, VAT, stock and categories as the Gateway holds them
    for product in products:
        row = rows[product["name"]]
        gross = Decimal(str(product["price"]["final"]["unit"]["amount"]))
        assert row["price"].startswith(f"{gross:.2f}") and "net " in row["price"]
        assert row["vat"] == product["vat"] and row["stock"] == str(product["stock_level"])
        assert row["categories"], f"{product['name']} shows no category"

    # variant groups: one header per group, with the group's size, each member with its options
    groups = page.locator("tr.group").all_inner_texts()
    assert "Variant group “Koszulka bawełniana Basic” · 4 products" in groups
    tags = Counter(t["guid"] for p in products for t in p.get("tags", []) if t["type"] == "variant")
    assert len(groups) == len(tags) > 0
    assert sorted(int(g.rsplit("·", 1)[1].split()[0]) for g in groups) == sorted(tags.values())
    members = page.locator("tr.member").all()
    assert len(members) == sum(tags.values())
    assert all(m.locator("td.opts span").count() > 0 for m in members)

    # every thumbnail actually loaded (lazy images are scrolled into view first)
    images = page.locator("td.thumbs img").all()
    assert len(images) == sum(min(4, len(p.get("images") or [])) for p in products) > 0
    for image in images:
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle())
    widths = page.eval_on_selector_all("td.thumbs img", "imgs => imgs.map(i => [i.src, i.naturalWidth])")
    broken = [src for src, width in widths if width <= 0]
    assert not broken, f"thumbnails that did not load: {broken}"
