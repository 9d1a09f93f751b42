"""The connector's read: units of work, incremental windows, removals, call counts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from gwsync.connector import ReadContext
from gwsync.kit import cursor_text
from gwsync.models import Present, Product
from gwsync_iai.connector import IaiConnector
from gwsync_iai.fake import IdoSellFake


@pytest.fixture
def fake():
    with IdoSellFake.running() as fake:
        yield fake


def full_read(connector: IaiConnector) -> tuple[list, ReadContext]:
    ctx = ReadContext()
    return list(connector.read(ctx)), ctx


def incremental(connector: IaiConnector, first: ReadContext, items: list) -> tuple[list, ReadContext]:
    known = frozenset(i.product_id for i in items)
    ctx = ReadContext(cursor=first.new_cursor, full=False, known_product_ids=known)
    return list(connector.read(ctx)), ctx


def products(items) -> dict[str, Product]:
    return {i.product_id: i for i in items if isinstance(i, Product)}


def accounted(items) -> set[str]:
    """Every product id a read reports: yielded items and the ids it says are still present."""
    out = set()
    for item in items:
        out.update(item.product_ids if isinstance(item, Present) else [item.product_id])
    return out


def test_full_read_calls_scale_with_pages(fake):
    fake.seed(450)
    items, ctx = full_read(IaiConnector(fake.config()))
    assert sum(len(p.variants) or 1 for p in products(items).values()) == fake.expected_items()
    assert fake.search_calls() == 5  # ceil(450 / 100)
    assert fake.calls["GET sizes/sizes"] == 1
    assert ctx.new_cursor


def test_group_members_on_different_pages_form_one_unit(fake):
    fake.seed(99)
    fake._add_group(2)  # ids 100 and 101: split over pages 1 and 2
    items, _ = full_read(IaiConnector(fake.config()))
    group = products(items)["100"]
    assert {v.variant_id.split("-")[0] for v in group.variants} == {"100", "101"}
    assert "101" not in products(items)


def test_unchanged_rerun_reads_little_and_accounts_for_everything(fake):
    fake.seed(300)
    connector = IaiConnector(fake.config())
    items, first = full_read(connector)
    fake.reset_counters()
    again, ctx = incremental(connector, first, items)
    ids = accounted(again)
    assert ids == {i.product_id for i in items}
    assert sum(isinstance(i, Present) for i in again) == 1  # one Present, not one Seen per product
    assert sum(isinstance(i, Product) for i in again) <= 3  # only the overlap is re-read
    assert fake.search_calls() <= 6  # trash, deleted, changes on the cursor's day (+ siblings)
    assert json.loads(ctx.new_cursor)["since"] >= json.loads(first.new_cursor)["since"]


def test_stock_change_without_modification_time_is_read(fake):
    fake.seed(40)
    connector = IaiConnector(fake.config())
    items, first = full_read(connector)
    pid, _ = fake.change_stock()
    again, _ = incremental(connector, first, items)
    assert products(again)[pid].stock == products(items)[pid].stock + 3


def test_changed_group_member_rereads_the_whole_group(fake):
    fake.seed(12)
    connector = IaiConnector(fake.config())
    items, first = full_read(connector)
    group = next(p for p in products(items).values() if len({v.variant_id.split("-")[0] for v in p.variants}) == 2)
    member = int(group.variants[-1].variant_id.split("-")[0])
    fake.touch(member, productRetailPrice=1.0)
    again, _ = incremental(connector, first, items)
    assert len(products(again)[group.product_id].variants) == len(group.variants)


def test_removed_product_is_not_seen_and_hidden_is_inactive(fake):
    fake.seed(20)
    connector = IaiConnector(fake.config())
    items, first = full_read(connector)
    removed = fake.remove_product()
    fake.hide_product(1)
    again, _ = incremental(connector, first, items)
    assert removed not in accounted(again)
    assert products(again)["1"].active is False


def test_future_cursor_yields_only_present(fake):
    fake.seed(10)
    connector = IaiConnector(fake.config())
    items, _ = full_read(connector)
    future = cursor_text(datetime.now() + timedelta(days=3), tz="Europe/Warsaw")
    ctx = ReadContext(cursor=future, full=False, known_product_ids=frozenset({"1", "2"}))
    assert list(connector.read(ctx)) == [Present(product_ids=("1", "2"))]
    assert json.loads(ctx.new_cursor)["since"] == json.loads(future)["since"]


def test_incremental_window_is_sent_as_dates(fake):
    fake.seed(3)
    connector = IaiConnector(fake.config())
    ctx = ReadContext(cursor=cursor_text(datetime(2026, 3, 2, 10, 14, 55), tz="Europe/Warsaw"), full=False)
    list(connector.read(ctx))
    windows = [r["json"]["params"].get("productDate") for r in fake.requests if r["json"]]
    assert {"productDateMode": "modified_and_quantity_changed", "productDateBegin": "2026-03-02",
            "productDateEnd": windows[-1]["productDateEnd"]} in windows


def test_shop_identity_and_pasted_api_url():
    connector = IaiConnector({"url": "https://Client1234.idosell.com/api/admin/v8/", "api_key": "k" * 16})
    assert connector.shop == "client1234.idosell.com"
    assert connector.client.http.base_url == "https://Client1234.idosell.com/api/admin/v8/"


def test_stock_setting_is_validated():
    from gwsync.errors import ConfigError
    with pytest.raises(ConfigError, match="IAI_STOCKS"):
        IaiConnector({"url": "https://s.pl", "api_key": "k" * 16, "stocks": "M1"})
    assert IaiConnector({"url": "https://s.pl", "api_key": "k" * 16, "stocks": "1, 2"}).options.stock_ids == {1, 2}


def test_product_joining_a_version_group_is_not_seen_on_its_own(fake):
    fake.seed(8)
    connector = IaiConnector(fake.config())
    items, first = full_read(connector)
    lone = [pid for pid in (1, 2, 5, 6) if str(pid) in products(items)][:2]
    assert len(lone) == 2
    version = {"versionParentId": lone[0], "versionProductsIds": lone,
               "versionGroupNames": {"versionGroupNamesLangData": [{"langId": "pol", "versionGroupName": "Kolor"}]}}
    for n, pid in enumerate(lone):
        names = {"versionNamesLangData": [{"langId": "pol", "versionName": f"Kolor {n}"}]}
        fake.touch(pid, productVersion={**version, "versionNames": names})
    again, _ = incremental(connector, first, items)
    assert str(lone[1]) not in accounted(again)  # not present: its old product is archived
    group = products(again)[str(lone[0])]
    assert {v.variant_id.split("-")[0] for v in group.variants} == {str(p) for p in lone}


def test_a_product_deleted_mid_read_hides_no_other(fake):
    fake.seed(250)
    connector = IaiConnector(fake.config())
    live = sorted(fake.products)
    # between pages 1 and 2 the shop deletes a product of page 1: every later product moves
    # one place up, and the first product of page 2 would slide onto page 1, already read
    fake.before_page[1] = lambda: fake.products.pop(live[3]) and fake.status.pop(live[3], None)
    items, _ = full_read(connector)
    read = {int(i.variant_id.split("-")[0]) for p in products(items).values() for i in p.variants}
    read |= {int(pid) for pid in products(items)}
    assert set(live) - {live[3]} <= read
    assert fake.search_calls() <= 5  # 3 pages, plus the step back over the shifted page


def test_a_full_read_comes_at_least_daily(fake):
    fake.seed(20)
    connector = IaiConnector(fake.config())
    items, first = full_read(connector)
    known = frozenset(i.product_id for i in items)
    stale = json.loads(first.new_cursor)
    stale["full_at"] = (datetime.fromisoformat(stale["full_at"]) - timedelta(hours=25)).isoformat()
    ctx = ReadContext(cursor=json.dumps(stale), full=False, known_product_ids=known)
    fake.reset_counters()
    again = list(connector.read(ctx))
    # a full read lists every product itself, and says the listing is complete
    assert [i for i in again if isinstance(i, Present)] == [Present(product_ids=())]
    assert accounted(again) == {i.product_id for i in items}
    assert any("full read" in note for note in ctx.notes)
    assert not any(r["json"]["params"].get("returnProducts") in ("in_trash", "deleted")
                   for r in fake.requests if r["json"])


def test_a_product_gone_without_a_trace_is_caught_by_the_daily_full_read(fake):
    fake.seed(20)
    connector = IaiConnector(fake.config())
    items, first = full_read(connector)
    known = frozenset(i.product_id for i in items)
    gone = next(pid for pid in sorted(fake.products, reverse=True)
                if str(pid) in known and not fake._grouped(fake.products[pid]))
    fake.products.pop(gone)  # deleted with no trash entry and no modification time: no window sees it
    fake.status.pop(gone, None)
    again, ctx = incremental(connector, first, items)
    assert str(gone) in accounted(again)  # the incremental read cannot know
    stale = json.loads(ctx.new_cursor)
    stale["full_at"] = (datetime.fromisoformat(stale["full_at"]) - timedelta(hours=24)).isoformat()
    daily = ReadContext(cursor=json.dumps(stale), full=False, known_product_ids=known)
    assert str(gone) not in accounted(connector.read(daily))  # absent from the full read: archived
    assert daily.full
