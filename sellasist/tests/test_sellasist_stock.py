"""Step 2 for Sellasist: the `stock` pass (shop -> Gateway) through the fake; `serve` is refused.

No stock write of Sellasist's API is confirmed (README, "Step 2"), so the standard `StockSuite`,
which applies Gateway events to the shop, does not apply; these tests pin the one-way half and
the refusal instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gwsync.errors import ConfigError
from gwsync.gateway.payload import item_from_view
from gwsync.stock.serve import stock_service
from gwsync.testing.harness import Harness
from gwsync_sellasist.connector import SellasistConnector
from gwsync_sellasist.fake import SellasistFake

CATALOG = 30


@pytest.fixture
def fake() -> Iterator[SellasistFake]:
    with SellasistFake.running() as fake:
        fake.seed(CATALOG)
        yield fake


@pytest.fixture
def gw(fake: SellasistFake, tmp_path: Path) -> Iterator[Harness]:
    with Harness(SellasistConnector, fake.config(), tmp_path) as h:
        assert h.run().exit_code == 0
        yield h


def stock_pass(gw: Harness):
    report = gw.run(stock_only=True, archive_missing=False)
    assert report.exit_code == 0
    return report


def gateway_items(gw: Harness) -> dict[tuple[str, str | None], dict]:
    """Gateway products by their Sellasist identity (product id, variant id)."""
    return {(p["data"]["source"]["product_id"], p["data"]["source"].get("variant_id")): p for p in gw.products()}


def variant_product(fake: SellasistFake) -> dict:
    return next(p for p in fake.account.products.values() if len(p.get("variants") or ()) >= 2)


def simple_product(fake: SellasistFake) -> dict:
    return next(p for p in fake.account.products.values() if not p.get("variants"))


def calls_during(fake: SellasistFake, run) -> dict[str, int]:
    before = dict(fake.account.calls)
    run()
    return {k: n - before.get(k, 0) for k, n in fake.account.calls.items() if n - before.get(k, 0)}


# -- serve: refused, with the reason ---------------------------------------------------------

def test_serve_refuses_in_one_line_that_says_why(gw, fake):
    result = gw.cli(["serve", "--port", "0"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "no safe way to write stock" in lines[0] and "quantity" in lines[0]
    assert fake.account.calls["writes"] == 0


def test_the_service_is_never_built_so_no_event_can_be_accepted(gw):
    with pytest.raises(ConfigError, match="Sellasist has no safe way to write stock"), \
            stock_service(SellasistConnector, gw.config()):
        pass


# -- the stock pass: what reaches the Gateway --------------------------------------------------

def test_a_sale_in_the_shop_reaches_exactly_the_variant_or_product_it_belongs_to(gw, fake):
    product = variant_product(fake)
    sold, sibling = product["variants"][0]["id"], product["variants"][1]["id"]
    simple = simple_product(fake)["id"]
    before = gateway_items(gw)
    fake.set_shop_stock(product["id"], sold, fake.shop_stock(product["id"], sold) + 7)
    fake.set_shop_stock(simple, None, 3)

    report = stock_pass(gw)

    after = gateway_items(gw)
    assert after[(product["id"], sold)]["stock_level"] == fake.shop_stock(product["id"], sold)
    assert after[(product["id"], sibling)]["stock_level"] == before[(product["id"], sibling)]["stock_level"]
    assert after[(simple, None)]["stock_level"] == 3
    assert report.counts["updated"] == 2 and report.counts["created"] == report.counts["archived"] == 0
    # a product with variants has no Gateway item of its own: its own `quantity` is never sent
    assert (product["id"], None) not in after


def test_a_product_quantity_beside_variants_is_not_taken_for_their_stock(gw, fake):
    product = variant_product(fake)
    fake.account.products[product["id"]]["quantity"] = "999.000"  # the product's own field (§9)
    report = stock_pass(gw)
    assert report.counts["updated"] == 0
    assert all(p["stock_level"] != 999 for p in gw.products())


def test_a_price_change_reaches_the_gateway_in_the_stock_pass(gw, fake):
    product_id, _ = fake.change_price()
    new_price = float(fake.account.products[product_id]["price"])
    report = stock_pass(gw)
    assert report.counts["updated"] == 1
    assert gateway_items(gw)[(product_id, None)]["base_price"]["amount"] == pytest.approx(new_price)


def test_a_sale_right_after_the_pass_read_the_item_lands_with_the_next_pass(gw, fake):
    product = simple_product(fake)
    fake.set_shop_stock(product["id"], None, 10)
    fake.sell_after_next_read(product["id"], None, 4)
    stock_pass(gw)
    assert gateway_items(gw)[(product["id"], None)]["stock_level"] == 10  # what the pass read
    assert fake.shop_stock(product["id"], None) == 6
    stock_pass(gw)
    assert gateway_items(gw)[(product["id"], None)]["stock_level"] == 6


def test_a_product_gone_from_the_shop_is_left_to_the_import_which_archives_it(gw, fake):
    gone = fake.remove_product()
    report = stock_pass(gw)
    assert report.counts["archived"] == 0
    assert (gone, None) in gateway_items(gw)  # the stock pass never archives
    assert gw.run().exit_code == 0
    assert (gone, None) not in gateway_items(gw)


# -- what it costs ------------------------------------------------------------------------------

def test_an_unchanged_shop_costs_one_listing_and_the_details_and_no_gateway_write(gw, fake):
    stock_pass(gw)
    writes = gw.writes()
    groups = {p["variants_group_id"] for p in fake.account.products.values() if p.get("variants")}

    calls = calls_during(fake, lambda: stock_pass(gw))

    assert gw.writes() == writes
    assert calls["products"] == 1  # one listing (30 products: one short page), not the import's two
    assert calls["products/{id}"] == CATALOG  # no bulk read on record: one detail call per product
    assert calls["variants_groups/{id}"] == len(groups)
    assert calls["total"] == 1 + CATALOG + len(groups)
    assert "writes" not in calls


def test_the_import_reads_the_list_twice_and_the_stock_pass_once(gw, fake):
    imported = calls_during(fake, lambda: gw.run())
    passed = calls_during(fake, lambda: stock_pass(gw))
    assert imported["products"] == 2 and passed["products"] == 1
    assert imported["products/{id}"] == passed["products/{id}"] == CATALOG


def test_the_shop_never_receives_anything_but_reads(gw, fake):
    fake.change_stock()
    fake.change_price()
    stock_pass(gw)
    gw.cli(["serve", "--port", "0"])
    assert fake.account.calls["writes"] == 0


def test_a_gateway_sale_stays_until_the_shop_figure_changes(gw, fake):
    """One-way: a sale on the Gateway is not undone by a pass that finds the shop unchanged."""
    product = simple_product(fake)
    fake.set_shop_stock(product["id"], None, 9)
    stock_pass(gw)
    view = gateway_items(gw)[(product["id"], None)]
    gw.gateway.update_product(view["guid"], {**item_from_view(view), "stock_level": 8})  # sold on the Gateway

    assert stock_pass(gw).counts["updated"] == 0
    assert gateway_items(gw)[(product["id"], None)]["stock_level"] == 8
    fake.set_shop_stock(product["id"], None, 5)  # the shop's figure changes: it is the one sent
    stock_pass(gw)
    assert gateway_items(gw)[(product["id"], None)]["stock_level"] == 5
