"""PrestaShop's `stock` pass through the fake webservice: what it reads, what it writes."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from gwsync.models import gross_from_net
from gwsync.testing.harness import Harness
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import PrestaShopFake
from gwsync_prestashop.mapping import SpecificPrice
from gwsync_prestashop.stock_read import promotion_digests, promotions_changed, stock_updates

BULK_READS = {"/": 1, "configurations": 1, "specific_prices": 1, "products": 1, "stock_availables": 1}


@pytest.fixture
def fake():
    with PrestaShopFake.running() as fake:
        fake.seed(12, variant_share=0.5)
        yield fake


@pytest.fixture
def gw(fake, tmp_path):
    with Harness(PrestaShopConnector, fake.config(), tmp_path) as h:
        assert h.run().exit_code == 0
        yield h


def stock_pass(gw: Harness, fake: PrestaShopFake):
    fake.calls.clear()
    fake.shop.requests.clear()
    return gw.run(stock_only=True, archive_missing=False)


def calls(fake: PrestaShopFake) -> dict[str, int]:
    return {k: v for k, v in fake.calls.items() if k != "total"}


def queries(fake: PrestaShopFake, resource: str) -> list[dict[str, str]]:
    out = []
    for path in fake.shop.requests:
        parts = urlsplit(path)
        if parts.path.rstrip("/").endswith(f"/api/{resource}"):
            out.append({k: v[0] for k, v in parse_qs(parts.query).items()})
    return out


def item(gw: Harness, product_id: int, variant_id: int | None = None) -> dict:
    wanted = (str(product_id), str(variant_id) if variant_id else None)
    return next(p for p in gw.products() if (p["data"]["source"]["product_id"],
                                            p["data"]["source"].get("variant_id")) == wanted)


def simple_ids(fake: PrestaShopFake) -> list[int]:
    return [pid for pid, p in sorted(fake.shop.products.items()) if not p["associations"].get("combinations")]


def with_combinations(fake: PrestaShopFake) -> int:
    return next(pid for pid, p in sorted(fake.shop.products.items()) if p["associations"].get("combinations"))


def test_the_first_pass_prices_every_item_from_narrow_lists_and_writes_nothing(gw, fake):
    writes = gw.writes()
    report = stock_pass(gw, fake)
    assert report.exit_code == 0 and gw.writes() == writes
    assert report.counts["unchanged"] == fake.expected_items()
    assert report.counts["unimported"] == 0  # a product's total row (combination 0) is never sent
    for resource in ("products", "combinations", "stock_availables"):
        assert all(q.get("display") != "full" for q in queries(fake, resource)), resource


def test_an_unchanged_shop_costs_its_bulk_reads_and_no_gateway_write(gw, fake):
    stock_pass(gw, fake)
    writes = gw.writes()
    report = stock_pass(gw, fake)
    assert report.exit_code == 0 and gw.writes() == writes
    assert calls(fake) == BULK_READS  # no taxes, no combinations: nothing needed a price
    (changed,) = queries(fake, "products")
    assert changed["date"] == "1" and changed["filter[date_upd]"].startswith("[")
    assert report.counts["unchanged"] == fake.expected_items()


def test_a_stock_only_change_lands_without_any_product_read_again(gw, fake):
    stock_pass(gw, fake)
    simple, parent = simple_ids(fake)[0], with_combinations(fake)
    combination = int(fake.shop.products[parent]["associations"]["combinations"][0]["id"])
    fake.set_shop_stock(str(simple), None, 41)  # as an order or a stock movement: date_upd untouched
    fake.set_shop_stock(str(parent), str(combination), 3)
    writes = gw.writes()
    report = stock_pass(gw, fake)
    assert report.counts["updated"] == 2 and gw.writes() == writes + 2
    assert item(gw, simple)["stock_level"] == 41 and item(gw, parent, combination)["stock_level"] == 3
    assert calls(fake) == BULK_READS


def test_a_price_change_lands_with_the_products_tax_and_nothing_else(gw, fake):
    stock_pass(gw, fake)
    pid, _ = fake.change_price()  # the back office saves the product: date_upd moves
    net = Decimal(fake.shop.products[int(pid)]["price"])
    report = stock_pass(gw, fake)
    assert report.counts["updated"] == 1
    assert Decimal(str(item(gw, int(pid))["base_price"]["amount"])) == gross_from_net(net, Decimal(23))
    assert calls(fake) == {**BULK_READS, "tax_rule_groups": 1, "tax_rules": 1, "taxes": 1, "combinations": 1}
    (combos,) = queries(fake, "combinations")
    assert combos["filter[id_product]"] == f"[{pid}]" and combos["display"] == "[id,id_product,price]"


def test_a_combination_impact_saved_with_its_product_lands_on_that_variant_only(gw, fake):
    stock_pass(gw, fake)
    parent = with_combinations(fake)
    product = fake.shop.products[parent]
    first, *others = [int(c["id"]) for c in product["associations"]["combinations"]]
    before = {cid: item(gw, parent, cid)["base_price"]["amount"] for cid in others}
    fake.shop.combinations[first]["price"] = "8.130081"  # +10.00 gross at 23 %
    product["date_upd"] = fake.shop.tick()
    report = stock_pass(gw, fake)
    expected = gross_from_net(Decimal(product["price"]) + Decimal("8.130081"), Decimal(23))
    assert Decimal(str(item(gw, parent, first)["base_price"]["amount"])) == expected
    assert {cid: item(gw, parent, cid)["base_price"]["amount"] for cid in others} == before
    assert report.counts["updated"] == 1


def test_a_promotion_that_starts_and_ends_without_a_product_change_lands_both_times(gw, fake):
    stock_pass(gw, fake)
    pid = simple_ids(fake)[1]
    regular = Decimal(str(item(gw, pid)["base_price"]["amount"]))
    promotion = fake.shop.add_specific_price(pid, reduction="0.200000")  # date_upd untouched
    assert stock_pass(gw, fake).counts["updated"] == 1
    assert Decimal(str(item(gw, pid)["base_price"]["amount"])) == (regular * Decimal("0.8")).quantize(Decimal("0.01"))
    (read,) = queries(fake, "products")[1:]  # the promoted product, by id, narrow
    assert read["filter[id]"] == f"[{pid}]" and read["display"] == "[id,date_upd,active,price,id_tax_rules_group]"
    del fake.shop.specific_prices[promotion["id"]]
    assert stock_pass(gw, fake).counts["updated"] == 1
    assert Decimal(str(item(gw, pid)["base_price"]["amount"])) == regular


def test_a_product_switched_off_is_left_to_the_import(gw, fake):
    stock_pass(gw, fake)
    pid = simple_ids(fake)[0]
    fake.shop.products[pid]["active"] = "0"
    fake.shop.products[pid]["date_upd"] = fake.shop.tick()
    fake.set_shop_stock(str(pid), None, 99)
    writes = gw.writes()
    report = stock_pass(gw, fake)
    assert report.exit_code == 0 and gw.writes() == writes and item(gw, pid)["stock_level"] != 99


def test_the_next_pass_after_a_change_costs_only_bulk_reads_again(gw, fake):
    stock_pass(gw, fake)
    fake.change_price()
    stock_pass(gw, fake)
    writes = gw.writes()
    assert stock_pass(gw, fake).counts["updated"] == 0 and gw.writes() == writes
    assert calls(fake) == BULK_READS  # the window's overlap brought the product back: not priced again


# -- the pure pieces --------------------------------------------------------------------------

def test_stock_updates_send_combinations_not_their_total_and_only_known_products():
    stock = {("1", "0"): 9, ("1", "11"): 4, ("1", "12"): 5, ("2", "0"): 7, ("3", "0"): 1, ("4", "0"): 2}
    prices = {"1": {"11": Decimal("10.00"), "12": Decimal(0)}, "2": {None: Decimal("5.50")}}
    got = [(u.product_id, u.variant_id, u.stock, u.price)
           for u in stock_updates(stock, known={"1", "2", "4"}, prices=prices, leave_out={"4"})]
    assert got == [("1", "11", 4, Decimal("10.00")), ("1", "12", 5, None), ("2", None, 7, Decimal("5.50"))]


def test_promotions_changed_names_started_ended_and_changed_ones():
    def promo(reduction: str) -> SpecificPrice:
        return SpecificPrice(price=Decimal(-1), reduction=Decimal(reduction), reduction_type="percentage",
                             tax_included=True)
    before = promotion_digests({("1", "0"): promo("0.1"), ("2", "0"): promo("0.1"), ("3", "0"): promo("0.2")})
    now = promotion_digests({("2", "0"): promo("0.1"), ("3", "0"): promo("0.3"), ("4", "7"): promo("0.1")})
    assert promotions_changed(before, now) == {"1", "3", "4"}
    assert promotions_changed(None, now) == {"2", "3", "4"}
    assert Counter(promotions_changed(now, now)) == Counter()
