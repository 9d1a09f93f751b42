"""The engine against the sandbox, driven by a scripted connector."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from gwsync import sync
from gwsync.connector import Connector, ReadContext
from gwsync.errors import ConfigError, HttpError
from gwsync.gateway import client as gateway_client
from gwsync.models import Image, ImageAccess, Item, Product, Seen, Skipped, StockUpdate, Variant
from gwsync.testing import Harness, serve
from gwsync.testing.images import png as tiny_png
from werkzeug.wrappers import Response


class Scripted(Connector):
    """Yields whatever the test put into config["items"]; raises config["fail_after"] items in."""

    platform = "scripted"
    title = "Scripted"

    @property
    def shop(self) -> str:
        return "test-shop"

    def check(self) -> str:
        return "scripted"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        self.config["contexts"].append(ctx)
        for index, item in enumerate(self.config["items"]):
            if index == self.config.get("fail_after"):
                raise HttpError("page 3 answered HTTP 500")
            yield item
        ctx.new_cursor = self.config.get("cursor")


def simple(pid: str, price: str = "10.00", **fields: Any) -> Product:
    return Product(product_id=pid, name=fields.pop("name", f"Product {pid}"), price=Decimal(price), vat=23,
                   stock=fields.pop("stock", 5), **fields)


def shirt(pid: str = "100", name: str = "Shirt") -> Product:
    variants = [Variant(variant_id=f"{pid}-{s}", options={"Size": s, "Colour": "blue"}, stock=2) for s in "SML"]
    return Product(product_id=pid, name=name, price=Decimal("99.90"), vat=23, variants=tuple(variants))


@pytest.fixture
def gw(tmp_path):
    config = {"items": [], "contexts": []}
    with Harness(Scripted, config, tmp_path) as h:
        yield h


def run(gw, items, **kwargs):
    gw.connector_config["items"] = items
    return gw.run(**kwargs)


def by_identity(products):
    return {(p["data"]["source"]["product_id"], p["data"]["source"]["variant_id"]): p for p in products}


def test_variants_share_a_tag_and_carry_their_options(gw):
    report = run(gw, [shirt(), shirt("200", name="Shirt"), simple("1")])
    assert report.counts["created"] == 7 and report.exit_code == 0
    products = by_identity(gw.products())
    first = [products[("100", f"100-{s}")] for s in "SML"]
    second = [products[("200", f"200-{s}")] for s in "SML"]
    assert {p["name"] for p in first} == {"Shirt – S, blue", "Shirt – M, blue", "Shirt – L, blue"}
    assert first[0]["data"]["variants"] == {"Size": "S", "Colour": "blue"}
    assert len({tuple(p["tag_guids"]) for p in first}) == 1
    assert len({tuple(p["tag_guids"]) for p in second}) == 1
    assert first[0]["tag_guids"] != second[0]["tag_guids"]  # same name, different groups
    assert "data" in products[("1", None)] and "variants" not in products[("1", None)]["data"]
    assert products[("1", None)]["base_price"] == {"currency": "zł", "vat_percent": 23, "amount": 10.0}


def test_unchanged_rerun_and_state_rebuild_cost_no_writes(gw):
    items = [shirt(), simple("1"), simple("2")]
    run(gw, items)
    writes = gw.writes()
    assert run(gw, items).writes == 0
    for path in gw.state_dir.glob("*.sqlite*"):
        path.unlink()
    rebuilt = run(gw, items)
    assert (rebuilt.writes, rebuilt.counts["unchanged"]) == (0, 5)
    assert gw.writes() == writes


def test_zero_price_is_skipped_with_a_reason_and_the_run_goes_on(gw):
    report = run(gw, [simple("1", price="0"), simple("2"), Skipped(product_id="3", reason="no name")])
    assert report.counts["created"] == 1 and report.counts["skipped"] == 2
    assert report.exit_code == 0 and report.exit_code_for(fail_on={"skipped"}) == 1  # issue 12.5
    assert {p.reason for p in report.skips} == {"price is zero or missing", "no name"}


def test_gone_and_inactive_products_are_archived_and_can_come_back(gw):
    run(gw, [simple("1"), simple("2"), simple("3"), shirt()])
    gone = shirt().model_copy(update={"variants": shirt().variants[:2]})
    report = run(gw, [simple("1"), simple("2", active=False), gone])
    assert report.counts["archived"] == 3  # 2 inactive, 3 gone, one size gone
    live = by_identity(gw.products())
    assert set(live) == {("1", None), ("100", "100-S"), ("100", "100-M")}
    back = run(gw, [simple("1"), simple("2"), gone])
    assert back.counts["updated"] == 1 and ("2", None) in by_identity(gw.products())


def test_a_failed_read_archives_nothing(gw):
    run(gw, [simple("1"), simple("2"), simple("3")])
    gw.connector_config["fail_after"] = 1
    report = run(gw, [simple("1"), simple("2"), simple("3")])
    assert report.exit_code == 3 and not report.complete and report.counts["archived"] == 0
    assert len(gw.products()) == 3


def test_incremental_reads_keep_seen_products_and_apply_stock_updates(gw):
    gw.connector_config["cursor"] = "2026-11-01"
    run(gw, [simple("1"), simple("2"), shirt()])
    report = run(gw, [Seen(product_id="1"), StockUpdate(product_id="2", stock=9),
                      StockUpdate(product_id="100", variant_id="100-S", stock=2)])
    assert (report.counts["updated"], report.counts["unchanged"], report.counts["archived"]) == (1, 1, 0)
    assert by_identity(gw.products())[("2", None)]["stock_level"] == 9
    assert gw.connector_config["contexts"][-1].cursor == "2026-11-01"
    gw.run(full=True)
    assert gw.connector_config["contexts"][-1].full is True
    assert gw.connector_config["contexts"][-1].cursor is None


def test_categories_resolve_by_full_path_and_unknown_ones_are_counted(gw):
    report = run(gw, [simple("1", category_path=("Kobieta", "Akcesoria", "Paski")),
                      simple("2", category_path=("Moje", "Paski"))])
    tags = gw.gateway.category_tags()
    names = {t["guid"]: t["name"] for t in tags}
    product = by_identity(gw.products())[("1", None)]
    assert [names[g] for g in product["tag_guids"]] == ["Paski", "Akcesoria", "Kobieta"]
    assert report.uncategorised == {"Moje > Paski": 1}


def test_images_are_uploaded_once_and_broken_ones_do_not_stop_the_product(gw, tmp_path):
    hits = Counter()

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        hits[path] += 1
        if path.startswith("/img"):
            return Response(tiny_png(), content_type="image/png")(environ, start_response)
        if path == "/page":
            return Response("<html>", content_type="text/html")(environ, start_response)
        return Response("nope", status=404)(environ, start_response)

    with serve(app) as images:
        shared = [Image(url=f"{images.url}/img/a.png"), Image(url=f"{images.url}/img/copy-of-a.png")]
        broken = [Image(url=f"{images.url}/missing.png"), Image(url=f"{images.url}/page")]
        items = [simple("1", images=tuple(shared)), simple("2", images=tuple(shared + broken))]
        report = run(gw, items)
        again = run(gw, items)
    assert report.images["uploaded"] == 1 and report.counts["failed"] == 0
    assert {p.reason.split(": ", 1)[1] for p in report.image_problems} >= {"HTTP 404", "not an image (text/html)"}
    assert all(p.identity.endswith("|2|") for p in report.image_problems)
    assert len(by_identity(gw.products())[("2", None)]["images"]) == 1
    assert again.images["uploaded"] == 0 and again.writes == 0
    assert hits["/img/a.png"] == 1


def test_public_images_are_copied_by_the_gateway_once(gw):
    image = Image(url="https://cdn.example/p/1.jpg", access=ImageAccess.PUBLIC)
    report = run(gw, [simple("1", images=(image,)), simple("2", images=(image,))])
    assert report.images["copied"] == 1 and report.images["reused"] == 1


def test_a_rejected_item_is_reported_and_the_rest_of_the_batch_lands(gw, monkeypatch):
    real = sync.build_item

    def build(sellable, urls, tags):
        item = real(sellable, urls, tags)
        if sellable.source.product_id == "2":
            item["product"]["vat"] = "VAT23.0"
        return item

    monkeypatch.setattr(sync, "build_item", build)
    report = run(gw, [simple("1"), simple("2"), simple("3")])
    assert report.counts["created"] == 2 and report.counts["failed"] == 1
    assert report.failures[0].identity == "scripted|test-shop|2|" and "vat" in report.failures[0].reason


def test_full_scans_partition_beyond_the_query_window(gw, monkeypatch):
    run(gw, [simple(str(i)) for i in range(250)])
    monkeypatch.setattr(gateway_client, "QUERY_WINDOW", 120)
    found = list(gw.gateway.products_of_source("scripted", "test-shop"))
    assert len(found) == 250 and len({p["guid"] for p in found}) == 250


def test_dropped_create_answers_are_adopted_not_duplicated(gw):
    gw.faults.configure(drop_next=1, fail_paths="^/dashboard/webshops/")
    report = run(gw, [simple(str(i)) for i in range(5)])
    assert report.counts["created"] == 5 and report.counts["failed"] == 0
    assert len(gw.products()) == 5


def test_a_second_run_for_the_same_shop_waits_for_nothing(gw):
    from gwsync.errors import LockHeld
    from gwsync.state import ShopLock, state_file

    path = state_file(gw.state_dir, "scripted", "test-shop", gw.sandbox.url, gw.shop_guid)
    with ShopLock(path), pytest.raises(LockHeld):
        run(gw, [simple("1")])


def test_concurrent_workers_create_each_item_once(gw):
    items = [simple(str(i)) for i in range(150)] + [shirt(str(1000 + i)) for i in range(20)]
    report = run(gw, items, workers=8)
    assert report.counts["created"] == 210 and threading.active_count() < 50
    assert len(gw.products()) == 210


def test_wiped_state_with_uploaded_images_costs_no_upload_and_no_write(gw):
    def app(environ, start_response):
        return Response(tiny_png((9, 9, 9)), content_type="image/png")(environ, start_response)

    with serve(app) as images:
        items = [simple("1", images=(Image(url=f"{images.url}/1.png"),)), shirt()]
        run(gw, items)
        for path in gw.state_dir.glob("*.sqlite*"):
            path.unlink()
        report = run(gw, items)
    assert report.writes == 0 and report.images["uploaded"] == 0


def test_a_skipped_variant_is_not_archived_and_inactive_waits_for_a_complete_read(gw):
    run(gw, [shirt(), simple("1")])
    partial = shirt().model_copy(update={"variants": shirt().variants[1:]})
    report = run(gw, [Skipped(product_id="100", variant_id="100-S", reason="bad size"), partial, simple("1")])
    assert report.counts["archived"] == 0 and ("100", "100-S") in by_identity(gw.products())
    gw.connector_config["fail_after"] = 1
    failed = run(gw, [simple("1", active=False), simple("2")])
    assert failed.counts["archived"] == 0 and ("1", None) in by_identity(gw.products())


def test_a_product_listed_twice_is_created_once(gw):
    report = run(gw, [simple("1"), simple("1", price="12.00"), shirt(), shirt()])
    assert report.counts["created"] == 4 and len(gw.products()) == 4
    assert sum("twice" in note for note in report.notes) == 2


def test_products_read_before_a_config_error_are_still_written(gw, monkeypatch):
    original = Scripted.read

    def read(self, ctx):
        try:
            yield from original(self, ctx)
        except HttpError:
            raise ConfigError("FEED_CSV_MAPPING: column 'price' is missing") from None

    monkeypatch.setattr(Scripted, "read", read)
    gw.connector_config["fail_after"] = 2
    with pytest.raises(ConfigError):
        run(gw, [simple("1"), simple("2"), simple("3")])
    assert len(gw.products()) == 2
