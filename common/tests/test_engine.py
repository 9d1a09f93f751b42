"""The engine against the sandbox, driven by a scripted connector."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from gwsync import sync
from gwsync.connector import Connector, ReadContext
from gwsync.errors import ConfigError, HttpError, MassArchiveRefused
from gwsync.gateway import client as gateway_client
from gwsync.models import Image, ImageAccess, Item, Present, Product, Seen, Skipped, StockUpdate, Variant
from gwsync.plan import Kind
from gwsync.state import SqliteState
from gwsync.testing import Harness, serve
from gwsync.testing.postgres import postgres_url  # noqa: F401  (fixture)
from gwsync.testing.images import png as tiny_png
from werkzeug.wrappers import Response


class Scripted(Connector):
    """Yields whatever the test put into config["items"]; raises config["fail_after"] items in."""

    platform = "scripted"
    title = "Scripted"

    @property
    def shop(self) -> str:
        return self.config.get("shop", "test-shop")

    def check(self) -> str:
        return "scripted"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        self.config["contexts"].append(ctx)
        items = self.config["items"]
        if ctx.cursor is not None and "changed" in self.config:  # an incremental read
            items = self.config["changed"]
        if ctx.cursor is not None and self.config.get("decide_full"):
            ctx.full = True  # as a daily full read decided by the connector's cursor
        for index, item in enumerate(items):
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


# -- issue 9 / 10 / 12: retries, lag, stale state, guard, retry list, exact dry runs -------

def state_of(gw) -> SqliteState:
    return SqliteState(next(p for p in gw.state_dir.glob("scripted-*.sqlite")))


def test_a_rejected_item_does_not_freeze_the_cursor_and_lands_from_the_retry_list(gw, monkeypatch):
    real = sync.build_item

    def build(sellable, urls, tags):
        item = real(sellable, urls, tags)
        if sellable.source.product_id == "2":
            item["product"]["vat"] = "VAT23.0"
        return item

    monkeypatch.setattr(sync, "build_item", build)
    gw.connector_config.update(cursor="c1", changed=[])
    first = run(gw, [simple("1"), simple("2"), simple("3")])
    assert first.counts["failed"] == 1 and first.complete
    with state_of(gw) as state:
        assert state.get_meta("cursor") == "c1" and [e.product_id for e in state.retries()] == ["2"]
    monkeypatch.setattr(sync, "build_item", real)
    second = run(gw, [simple("1"), simple("2"), simple("3")])  # incremental: the connector yields nothing
    assert gw.connector_config["contexts"][-1].cursor == "c1"
    assert (second.counts["created"], second.counts["failed"], second.counts["archived"]) == (1, 0, 0)
    assert len(gw.products()) == 3
    with state_of(gw) as state:
        assert state.retries() == []


def test_an_incremental_read_archives_only_ids_absent_from_its_listing(gw):
    gw.connector_config["cursor"] = "c1"
    run(gw, [simple("1"), simple("2"), simple("3"), shirt()])
    gw.connector_config["changed"] = [simple("1", price="11.00")]  # forgets the unchanged ones
    quiet = run(gw, [])
    assert (quiet.counts["updated"], quiet.counts["archived"]) == (1, 0)
    gw.connector_config["changed"] = [shirt().model_copy(update={"variants": shirt().variants[:2]})]
    retired = run(gw, [])
    assert retired.counts["archived"] == 1  # an explicitly retired variant still goes
    gw.connector_config["changed"] = [Present(product_ids=("1", "2", "100"))]
    listed = run(gw, [])
    assert listed.counts["archived"] == 1 and ("3", None) not in by_identity(gw.products())


def test_mass_archive_guard_refuses_then_allows(gw):
    run(gw, [simple(str(i)) for i in range(30)])
    with pytest.raises(MassArchiveRefused, match="would archive 25 of 30 live products.*--allow-mass-archive"):
        run(gw, [simple(str(i)) for i in range(5)])
    assert len(gw.products()) == 30
    assert gw.run(archive_missing=False).counts["archived"] == 0
    assert gw.run(allow_mass_archive=True).counts["archived"] == 25
    with pytest.raises(MassArchiveRefused):  # an empty read of a small catalog is refused too
        run(gw, [])


def test_dry_run_plans_exactly_what_the_real_run_does_with_field_diffs(gw, tmp_path):
    files = tmp_path / "feed-v1"
    files.mkdir()
    (files / "a.png").write_bytes(tiny_png((1, 2, 3)))
    items = [simple("1", images=(Image(url=(files / "a.png").as_uri()),)), simple("2"), shirt()]
    run(gw, items)
    moved = tmp_path / "feed-v2"  # the feed moved: same images under new paths
    files.rename(moved)
    changed = [simple("1", images=(Image(url=(moved / "a.png").as_uri()),)),
               simple("2", price="8.50", stock=0), simple("4")]
    before = gw.writes()
    dry = run(gw, changed, dry_run=True)
    assert gw.writes() == before
    real = run(gw, changed)
    assert dry.counts == real.counts
    assert (real.counts["updated"], real.counts["created"], real.counts["archived"]) == (1, 1, 3)
    update = next(a for a in dry.plan if a.kind is Kind.UPDATE)
    assert str(update).endswith("price 10.00 -> 8.50, stock 5 -> 0")
    plan = dry.as_dict()["plan"]
    assert {"action": "update", "item": "scripted|test-shop|2|", "name": "Product 2",
            "changes": [{"field": "price", "old": "10.00", "new": "8.50"},
                        {"field": "stock", "old": 5, "new": 0}]} in plan
    assert sorted(a["action"] for a in plan) == sorted(a["action"] for a in real.as_dict()["plan"])


def test_a_lost_tag_answer_is_adopted_by_name_and_no_tag_is_orphaned(gw):
    gw.faults.configure(drop_next=1, fail_paths="^/webshops/[^/]+/tags")
    report = run(gw, [shirt()])
    assert report.counts["failed"] == 0 and report.counts["created"] == 3
    tags = [t for t in gw.shop_tags() if t["type"] == "variant"]
    assert len(tags) == 1 and len(tags[0]["product_guids"]) == 3


def test_a_tag_left_without_products_is_adopted_but_another_groups_is_not(gw):
    orphan, created = gw.gateway.create_variant_tag("Shirt")
    assert created
    run(gw, [shirt("100"), shirt("200")])
    tags = {t["name"]: t for t in gw.shop_tags() if t["type"] == "variant"}
    assert set(tags) == {"Shirt", "Shirt (scripted 200)"} or set(tags) == {"Shirt", "Shirt (scripted 100)"}
    assert tags["Shirt"]["guid"] == orphan and len(tags["Shirt"]["product_guids"]) == 3


def test_429_and_503_on_creates_are_sent_again(gw):
    gw.faults.configure(throttle_next=1, retry_after=0, fail_paths="^/dashboard/webshops/[^/]+/products/?$")
    first = run(gw, [simple("1"), simple("2")])
    gw.faults.configure(fail_next=1, error_status=503, fail_paths="^/webshops/")
    second = run(gw, [simple("1"), simple("2"), shirt()])
    assert (first.counts["created"], second.counts["created"]) == (2, 3)
    assert first.counts["failed"] == second.counts["failed"] == 0 and len(gw.products()) == 5


def test_a_stale_state_is_checked_before_each_create_batch(gw):
    run(gw, [simple("1")])
    backup = {p: p.read_bytes() for p in gw.state_dir.glob("*.sqlite*")}
    run(gw, [simple("1"), simple("2")])
    for path in gw.state_dir.glob("*.sqlite*"):
        path.unlink()
    for path, data in backup.items():
        path.write_bytes(data)
    report = run(gw, [simple("1"), simple("2"), simple("3")])
    assert (report.counts["created"], report.counts["unchanged"]) == (1, 2)
    assert len(gw.products()) == 3


@pytest.mark.parametrize("fault, adopted", [({"drop_next": 1}, True), ({"fail_next": 1}, False)])
def test_ambiguous_create_waits_out_the_search_lag(gw, fault, adopted):
    waits = []
    gw.faults.configure(index_lag_ms=1500, fail_paths="^/dashboard/webshops/[^/]+/products/?$", **fault)

    def sleep(seconds):
        waits.append(seconds)
        gw.clock.sleep(seconds)

    gw.connector_config["items"] = [simple("1"), simple("2")]
    report = gw.run(sleep=sleep, search_lag=2.0)
    assert waits == [2.0] and report.counts["created"] == 2 and report.counts["failed"] == 0
    gw.clock.sleep(5)
    assert len(gw.products()) == 2
    creates = gw.sandbox.store.journal(route="create_products")
    assert len(creates) == (1 if adopted else 2)


def test_an_image_the_gateway_cannot_host_fails_its_item_whole(gw):
    with serve(lambda e, s: Response(tiny_png((4, 4, 4)), content_type="image/png")(e, s)) as images:
        items = [shirt().model_copy(update={"images": (Image(url=f"{images.url}/shirt.png"),)}), simple("1")]
        gw.faults.configure(error_rate=1.0, error_status=507, fail_paths="^/uploads")
        first = run(gw, items)
        gw.faults.reset()
        assert first.exit_code == 1 and first.failures[0].identity == "scripted|test-shop|100|"
        assert "image upload failed" in first.failures[0].reason
        assert set(by_identity(gw.products())) == {("1", None)}
        second = run(gw, items)
    assert second.counts["created"] == 3 and second.counts["failed"] == 0
    assert all(p["images"] for p in gw.products() if p["data"]["source"]["product_id"] == "100")


def test_raw_image_urls_are_percent_encoded_for_the_gateway_copy(gw):
    served = []

    def app(environ, start_response):
        served.append(environ["PATH_INFO"])
        return Response(tiny_png((5, 5, 5)), content_type="image/png")(environ, start_response)

    with serve(app) as images:
        image = Image(url=f"{images.url}/zdjęcie główne.png", access=ImageAccess.PUBLIC)
        report = run(gw, [simple("1", images=(image,))])
    assert report.image_problems == [] and report.images["copied"] == 1
    assert gw.products()[0]["images"] and served == ["/zdjęcie główne.png".encode().decode("latin-1")]


def test_state_loss_recovers_image_mappings_from_the_gateway(gw):
    image = Image(url="https://cdn.example/p/1.jpg", access=ImageAccess.PUBLIC)
    items = [simple("1", images=(image,)), shirt()]
    run(gw, items)
    for path in gw.state_dir.glob("*.sqlite*"):
        path.unlink()
    before, calls = gw.writes(), gw.image_calls()
    report = run(gw, items)
    assert (report.writes, report.images["copied"]) == (0, 0)
    assert (gw.writes(), gw.image_calls()) == (before, calls)
    product = by_identity(gw.products())[("1", None)]
    assert "cdn.example" not in json.dumps(product["data"]["images_source"])


def test_user_info_never_reaches_the_source_identity(gw):
    gw.connector_config["shop"] = "apikey123:secret@shop.example/pl"
    run(gw, [simple("1")])
    assert gw.products()[0]["data"]["source"]["shop"] == "shop.example/pl"
    assert all(b"apikey123" not in p.read_bytes() for p in gw.state_dir.rglob("*") if p.is_file())


def test_another_source_shop_of_the_platform_stops_the_import(gw):
    run(gw, [simple("1"), simple("2")])
    gw.connector_config["shop"] = "new-address"
    with pytest.raises(sync.SourceMoved, match="migrate-source --from test-shop"):
        run(gw, [simple("1"), simple("2")])
    assert len(gw.products()) == 2


def test_a_second_source_shop_on_purpose_imports_beside_the_first(gw):
    run(gw, [simple("1"), simple("2")])
    gw.connector_config["shop"] = "second-shop"
    assert run(gw, [simple("1")], allow_second_source=True).counts["created"] == 1
    shops = sorted(p["data"]["source"]["shop"] for p in gw.products())  # live ones: the first shop's stay
    assert shops == ["second-shop", "test-shop", "test-shop"]


def test_a_postgresql_state_gives_exact_dry_runs_and_keeps_nothing_of_them(gw, postgres_url):  # noqa: F811
    gw.connector_config["state_url"] = postgres_url
    run(gw, [simple("1"), simple("2"), shirt()])
    changed = [simple("1", price="12.00"), simple("3")]
    dry = run(gw, changed, dry_run=True)
    dry_again = run(gw, changed, dry_run=True)  # the first dry run left nothing behind
    real = run(gw, changed)
    assert dry.counts == dry_again.counts == real.counts
    assert (real.counts["updated"], real.counts["created"], real.counts["archived"]) == (1, 1, 4)
    assert run(gw, changed).writes == 0


def test_a_full_read_the_connector_decided_archives_what_it_did_not_list(gw):
    catalog = [simple(str(n)) for n in range(20)]
    gw.connector_config["cursor"] = "c1"
    run(gw, catalog)
    gw.connector_config.update(changed=catalog[1:], decide_full=True)  # product 0 left the shop
    report = run(gw, catalog)
    assert report.counts["archived"] == 1
    assert "0" not in {p["data"]["source"]["product_id"] for p in gw.products()}


def test_the_state_keeps_a_bounded_record_of_a_run_and_the_report_file_everything():
    from gwsync.http import CallStats
    from gwsync.report import RECORDED_PROBLEMS, Report

    report = Report("listing", CallStats())
    for n in range(RECORDED_PROBLEMS + 5):
        report.fail(f"listing|shop|{n}|", f"Mug {n}", "the Gateway rejected it")
    report.skip("listing|shop|x|", "Cup", "no price")
    report.planned("create listing|shop|1|")
    record, full = report.as_record(), report.as_dict()
    assert len(record["failed"]) == RECORDED_PROBLEMS and record["left_out"] == {"failed": 5}
    assert record["failed"][0] == full["failed"][0] and len(record["skipped"]) == 1
    assert "plan" not in record and record["planned"] == 1
    assert len(full["failed"]) == RECORDED_PROBLEMS + 5 and len(full["plan"]) == 1 and "left_out" not in full
