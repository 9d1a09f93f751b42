"""State round trips per page, not per product (issue 18), on both stores; intents before E1."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from gwsync.connector import Connector, ReadContext
from gwsync.models import Image, Item, Product, Variant
from gwsync.runner import run_import
from gwsync.sync import Options
from gwsync.testing import Harness
from gwsync.testing.images import png
from gwsync.testing.postgres import postgres_url  # noqa: F401  (fixture)

PAGE = 100  # Options.batch_size: products per page of state reads, items per E1 call


class Catalog(Connector):
    """`count` products: every fifth one a group of three sizes, each with one of three images."""

    platform = "catalog"
    title = "Catalog"

    @property
    def shop(self) -> str:
        return "catalog-shop"

    def check(self) -> str:
        return "ok"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        for n in range(self.config["count"]):
            own = self.config.get("own_images")  # a folder with one image per product
            image = Image(url=(Path(own) / f"{n}.png" if own else Path(self.config["images"][n % 3])).as_uri())
            sizes = tuple(Variant(variant_id=f"{n}-{s}", options={"Size": s}, stock=1) for s in "SML") \
                if n % 5 == 0 else ()
            yield Product(product_id=str(n), name=f"Mug {n}", price=Decimal("12.50") + self.config["bump"],
                          vat=23, stock=3, images=(image,), variants=sizes)


@pytest.fixture(params=["sqlite", "postgres"])
def harness(request, tmp_path) -> Iterator[Harness]:
    state_url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    images = []
    for n in range(3):
        path = tmp_path / f"image-{n}.png"
        path.write_bytes(png((80 * n, 0, 0)))
        images.append(str(path))
    with Harness(Catalog, {"count": 0, "images": images, "bump": Decimal(0)}, tmp_path,
                 state_url=state_url) as h:
        yield h


def state_calls(h: Harness, count: int, bump: str = "0") -> int:
    h.connector_config.update(count=count, bump=Decimal(bump))
    report = h.run()
    assert report.counts["failed"] == 0, report.failures
    assert report.state_calls is not None
    return report.state_calls


def test_state_calls_grow_per_page_not_per_product(harness):
    # 60 more products (one more page) on import, on an unchanged re-run and on a run updating every
    # item: at most a few dozen more state calls, where one call per product would cost hundreds
    small_import, small_rerun = state_calls(harness, 40), state_calls(harness, 40)
    big_import, big_rerun = state_calls(harness, 300), state_calls(harness, 300)
    new_groups = 300 // 5 - 40 // 5  # each new variant tag is saved as soon as E9 made it
    assert big_import - small_import <= 3 * 12 + new_groups  # created 260 products (364 items), 3 more pages
    assert big_rerun - small_rerun <= 3 * 5
    updated = state_calls(harness, 300, bump="1")
    assert updated - big_rerun <= 3 * 5 + 4  # every item updated: its saves batched, not one per item
    assert state_calls(harness, 300, bump="1") == big_rerun


def test_an_image_heavy_first_import_records_its_images_a_page_at_a_time(harness, tmp_path):
    # one image of its own per product: recorded one by one, they cost 2 state calls each (a lookup
    # by content hash, then the mapping), and each new variant tag 1; in bulk, a few a page
    folder = tmp_path / "own"
    folder.mkdir()
    for n in range(300):
        (folder / f"{n}.png").write_bytes(png((n % 256, n // 256, 7)))
    harness.connector_config.update(own_images=str(folder))
    calls = state_calls(harness, 300)
    assert harness.image_calls() >= 300  # each image hosted
    assert calls <= 3 * 20  # 3 pages: items, images and variant tags a batch at a time
    with harness.open_state() as state:
        assert len(state.images_by_keys([(folder / f"{n}.png").as_uri() for n in range(300)])) == 300
    assert state_calls(harness, 300) <= 3 * 5  # the re-run finds every image with its page


def test_a_create_batchs_intents_are_committed_before_it_is_sent(harness):
    harness.connector_config.update(count=150)
    checked: list[int] = []
    tagged: list[str] = []

    def on_engine(engine) -> None:
        send = engine.gateway.create_products

        def checked_send(items: list[dict]) -> list[dict]:
            with harness.open_state() as other:  # another connection: sees committed rows only
                pending = {identity for identity, _ in other.intents()}
                # the images and variant tags the items name are recorded before the items go out
                tags_known = all(other.variant_tag_group(guid) for item in items
                                 for guid in item["product"].get("tag_guids") or [])
                images_known = all(other.image_by_key(Path(path).as_uri()) for path in harness.connector_config["images"])
            wanted = {_identity(item) for item in items}
            assert wanted <= pending and tags_known and images_known
            tagged.extend(guid for item in items for guid in item["product"].get("tag_guids") or [])
            checked.append(len(items))
            return send(items)

        engine.gateway.create_products = checked_send

    options = Options(workers=4, sleep=harness.clock.sleep)
    report = run_import(Catalog, harness.config(), options=options, on_engine=on_engine)
    assert report.counts["failed"] == 0, report.failures[:2]
    assert report.counts["created"] == 150 + 2 * 30 and sum(checked) == report.counts["created"]
    assert len(tagged) == 30 * 3  # the sizes of the 30 groups, each naming its group's tag
    with harness.open_state() as state:
        assert state.intents() == []  # each batch's saves cleared its intents with them


def _identity(item: dict) -> str:
    source = item["product"]["data"]["source"]  # E1 items: {"product": {...}, "stock_level": ...}
    return "|".join([source["platform"], source["shop"], source["product_id"], source.get("variant_id") or ""])


def test_the_harness_state_helpers_work_on_either_store(harness):
    state_calls(harness, 12)
    assert any(b"Mug 11" in blob for blob in harness.state_blobs())  # what the no-secret test searches
    backup = harness.state_snapshot()
    harness.wipe_state()
    with harness.open_state() as state:
        assert state.items_of_products(["11"]) == {"11": []}
    harness.restore_state(backup)
    with harness.open_state() as state:
        assert [i.guid is not None for i in state.items_of_products(["11"])["11"]] == [True]


class Crash(BaseException):
    """The process dying right after an E1 was sent: nothing after it runs."""


def test_a_rerun_right_after_a_crash_finds_the_create_the_search_does_not_show_yet(harness):
    # B16: the crashed run's E1 committed, but the search sees it only 2 s later; a rerun started
    # at once waits out what is left of the lag before looking its interrupted creates up
    harness.connector_config.update(count=3)
    harness.faults.update(index_lag_ms=2000)

    def crash_after_sending(engine) -> None:
        send = engine.gateway.create_products

        def send_then_die(items: list[dict]) -> list[dict]:
            send(items)
            raise Crash

        engine.gateway.create_products = send_then_die

    with pytest.raises(Crash):
        run_import(Catalog, harness.config(), options=Options(workers=1, sleep=harness.clock.sleep),
                   on_engine=crash_after_sending)
    with harness.open_state() as state:
        assert len(state.intents()) == 5 and 0 <= state.intent_age() < 2
    waited = harness.clock.now()
    report = harness.run()
    assert report.counts["failed"] == 0 and report.counts["created"] == 0, report.failures
    assert harness.clock.now() - waited >= 1.0  # the lag, less the intents' age, on the harness clock
    harness.clock.sleep(2)
    assert len(harness.products()) == 5
    with harness.open_state() as state:
        assert state.intents() == [] and state.intent_age() is None


def test_a_variant_tag_made_by_a_run_that_died_before_recording_it_is_adopted_not_made_again(harness):
    # new tags are recorded in bulk before the writes that name them: a crash in between leaves on
    # the Gateway a tag that no product carries and the state does not know; the next run adopts it
    harness.connector_config.update(count=10)  # groups: products 0 and 5, three sizes each
    left, created = harness.gateway.create_variant_tag("Mug 0")  # what the dead run made
    assert created
    report = harness.run()
    assert report.counts["failed"] == 0, report.failures
    tags = [t for t in harness.shop_tags() if t.get("type") == "variant"]
    assert sorted(t["name"] for t in tags) == ["Mug 0", "Mug 5"] and left in {t["guid"] for t in tags}
    carried: dict[str, set[str]] = {}
    for product in harness.products():
        for guid in product["tag_guids"]:
            carried.setdefault(guid, set()).add(product["data"]["source"]["product_id"])
    assert carried[left] == {"0"} and sorted(map(sorted, carried.values())) == [["0"], ["5"]]
