"""The standard suite every connector runs against its own fake platform and the sandbox.

Usage in a connector's tests:

    class TestExample(ConnectorSuite):
        connector = ExampleConnector

        @pytest.fixture
        def fake(self):
            with ExampleFake.running() as fake:
                yield fake
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from ..connector import Connector, ReadContext
from ..errors import EXIT_CANNOT_RUN, EXIT_CONFIG, EXIT_ITEMS_FAILED, EXIT_LOCKED, EXIT_OK, MassArchiveRefused
from ..models import Image, Item, Present, Product
from ..state import SqliteState, state_file
from ..stock.apply import StockWriter
from ..sync import CURSOR_KEY, clean_shop_identity
from .declared import DeclaredFactsChecks
from .fake import FakePlatform
from .harness import Harness
from .postgres import fresh_schema

# The production-like fault profile of issue 9: 10 % 5xx, 5 % answers lost after commit, the
# first write of each route lost, 429s beyond 20 requests per second.
FAULT_PROFILE = {"error_rate": 0.1, "drop_rate": 0.05, "drop_first": True, "rate_limit": 20.0,
                 "fail_paths": "^/(dashboard|organizations|webshops|uploads|downloads|storage)"}
E1_PATH = "^/dashboard/webshops/[^/]+/products/?$"


def truncated(connector_cls: type[Connector], keep: int) -> type[Connector]:
    """The connector with a read that ends, well formed, after `keep` products (a cut feed, an
    API answering an empty page): no error, and no `Present` for what was cut."""

    class Truncated(connector_cls):  # type: ignore[valid-type, misc]
        def read(self, ctx: ReadContext) -> Iterator[Item]:
            products = 0
            for item in super().read(ctx):
                if isinstance(item, Present):
                    continue
                if isinstance(item, Product):
                    products += 1
                    if products > keep:
                        return
                yield item

    Truncated.__name__ = f"Truncated{connector_cls.__name__}"
    return Truncated


def moved(connector_cls: type[Connector]) -> type[Connector]:
    """The connector as if the shop's address had changed: another source shop id."""

    class Moved(connector_cls):  # type: ignore[valid-type, misc]
        @property
        def shop(self) -> str:
            return "moved." + super().shop

    return Moved


def with_raw_image_urls(connector_cls: type[Connector]) -> type[Connector]:
    """Image URLs as feeds carry them: a space and Polish letters, not percent-encoded."""

    def raw(image: Image) -> Image:
        joiner = "&" if "?" in image.url else "?"
        return image.model_copy(update={"url": f"{image.url}{joiner}v=zdjęcie główne", "key": None})

    class RawUrls(connector_cls):  # type: ignore[valid-type, misc]
        def read(self, ctx: ReadContext) -> Iterator[Item]:
            for item in super().read(ctx):
                if isinstance(item, Product):
                    variants = tuple(v.model_copy(update={"images": tuple(raw(i) for i in v.images)})
                                     for v in item.variants)
                    item = item.model_copy(update={"images": tuple(raw(i) for i in item.images),
                                                   "variants": variants})
                yield item

    return RawUrls

CATALOG = 24  # products in the fake; big enough for several batches of work, fast enough

# The standard tests every connector also runs with its state in PostgreSQL: exactly once
# across a crash, an ambiguous create and a lost state; the lock; a re-run and a dry run.
# A connector's suite runs all of them on both stores with `state_stores = BOTH_STORES`.
ON_BOTH_STORES = frozenset({
    "test_full_import_creates_every_item_once", "test_rerun_writes_nothing", "test_dry_run_writes_nothing",
    "test_killed_run_then_rerun_is_exactly_once", "test_ambiguous_create_under_index_lag",
    "test_wiped_state_creates_nothing", "test_a_held_lock_exits_4_and_does_nothing",
})
# What only a state file can go through: PostgreSQL has its own tests of migrations (test_state_postgres).
SQLITE_ONLY = frozenset({"test_corrupt_state_is_moved_aside_and_rebuilt", "test_an_old_schema_state_is_migrated"})
BOTH_STORES = ("sqlite", "postgres")


def identities(products: list[dict]) -> Counter:
    return Counter(
        (p["data"]["source"]["product_id"], p["data"]["source"].get("variant_id")) for p in products
    )


class ConnectorSuite(DeclaredFactsChecks):
    connector: ClassVar[type[Connector]]
    catalog_size: ClassVar[int] = CATALOG
    # the stores every test of the suite runs on; the tests in ON_BOTH_STORES always run on both
    state_stores: ClassVar[tuple[str, ...]] = ("sqlite",)
    # with state_stores = BOTH_STORES: tests that stay on SQLite only (CI time; say why where set)
    postgres_leaves_out: ClassVar[frozenset[str]] = frozenset()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Each test that uses `gw` once per store it runs on (ids `...[sqlite]`, `...[postgres]`)."""
        if "state_store" not in metafunc.fixturenames:
            return
        name = metafunc.function.__name__
        stores = BOTH_STORES if name in ON_BOTH_STORES else self.state_stores
        if name in SQLITE_ONLY or (name in self.postgres_leaves_out and name not in ON_BOTH_STORES):
            stores = ("sqlite",)
        metafunc.parametrize("state_store", stores)

    @pytest.fixture
    def fake(self) -> Iterator[FakePlatform]:
        raise NotImplementedError("a connector's suite provides its fake platform")

    @pytest.fixture
    def state_url(self, state_store: str) -> Iterator[str | None]:
        """None (SQLite files in the harness's state dir), or a fresh PostgreSQL schema."""
        if state_store == "sqlite":
            yield None
            return
        with fresh_schema() as url:
            yield url

    @pytest.fixture
    def gw(self, fake: FakePlatform, tmp_path: Path, state_url: str | None) -> Iterator[Harness]:
        fake.seed(self.catalog_size)
        h = Harness(self.connector, fake.config(), tmp_path, state_url=state_url)
        try:
            yield h
        finally:
            h.close()

    def assert_exactly_once(self, gw: Harness, fake: FakePlatform) -> None:
        gw.clock.sleep(60)  # let an index lag (B16) pass before searching
        live = gw.products()
        counts = identities(live)
        assert [k for k, n in counts.items() if n > 1] == []
        assert len(live) == fake.expected_items()

    def source_shop(self, gw: Harness, connector_cls: type[Connector] | None = None) -> str:
        connector = (connector_cls or self.connector)(gw.config().values)
        try:
            return clean_shop_identity(connector.shop)
        finally:
            connector.close()

    def state_path(self, gw: Harness) -> Path:
        """The SQLite state file (the tests of what only a file can go through)."""
        return state_file(gw.state_dir, self.connector.platform, self.source_shop(gw), gw.sandbox.url,
                          gw.shop_guid)

    # -- import ----------------------------------------------------------------------

    def test_full_import_creates_every_item_once(self, gw: Harness, fake: FakePlatform) -> None:
        report = gw.run()
        assert report.counts["failed"] == 0, report.failures
        assert report.counts["created"] == fake.expected_items()
        assert report.exit_code == EXIT_OK
        self.assert_exactly_once(gw, fake)
        for product in gw.products():
            assert product["data"]["source"]["platform"] == self.connector.platform
            assert product["vat"].startswith("VAT") and product["base_price"]["amount"] > 0

    def test_variant_groups_share_one_tag(self, gw: Harness, fake: FakePlatform) -> None:
        gw.run()
        groups: dict[str, set[str]] = {}
        for product in gw.products():
            if product["data"].get("variants"):
                tags = {t for t in product["tag_guids"]}
                groups.setdefault(product["data"]["source"]["product_id"], set()).add(frozenset(tags))
        assert groups, "the fake catalog must contain variant groups"
        assert all(len(tag_sets) == 1 for tag_sets in groups.values())

    def test_rerun_writes_nothing(self, gw: Harness, fake: FakePlatform) -> None:
        gw.run()
        before = gw.writes()
        report = gw.run()
        assert report.writes == 0 and report.counts["failed"] == 0
        assert gw.writes() == before

    def test_changes_make_exactly_the_needed_writes(self, gw: Harness, fake: FakePlatform) -> None:
        gw.run()
        price_item = fake.change_price()
        stock_item = fake.change_stock()
        added = fake.add_product()
        removed = fake.remove_product()
        report = gw.run()
        assert report.counts["failed"] == 0, report.failures
        assert (report.counts["created"], report.counts["archived"]) == (1, 1)
        assert report.counts["updated"] == len({price_item, stock_item})
        live = identities(gw.products())
        assert (added, None) in live and (removed, None) not in live
        assert gw.run().writes == 0

    def test_dry_run_writes_nothing(self, gw: Harness, fake: FakePlatform) -> None:
        report = gw.run(dry_run=True)
        assert report.counts["created"] == fake.expected_items()
        assert gw.writes() == 0 and gw.products() == []
        assert gw.run().counts["created"] == fake.expected_items()

    # -- faults ----------------------------------------------------------------------

    @pytest.mark.parametrize("faults", [
        {"error_rate": 0.2, "seed": 7},
        {"drop_rate": 0.5, "seed": 3, "drop_mode": "reset"},
        {"drop_rate": 0.5, "seed": 5, "drop_mode": "504"},
        {"throttle_rate": 0.3, "seed": 11, "retry_after": 0},
    ], ids=["5xx", "dropped-reset", "dropped-504", "429"])
    def test_faults_keep_exactly_once(self, gw: Harness, fake: FakePlatform, faults: dict) -> None:
        gw.faults.configure(fail_paths="^/(dashboard|organizations|webshops|uploads|downloads)", **faults)
        gw.run()
        gw.faults.reset()
        final = gw.run()
        assert final.counts["failed"] == 0, final.failures
        self.assert_exactly_once(gw, fake)
        assert gw.run().writes == 0

    def test_wiped_state_creates_nothing(self, gw: Harness, fake: FakePlatform) -> None:
        gw.run()
        gw.wipe_state()
        before = gw.writes()
        report = gw.run()
        assert report.counts["created"] == 0 and report.counts["failed"] == 0
        assert gw.writes() == before
        self.assert_exactly_once(gw, fake)

    def test_killed_run_then_rerun_is_exactly_once(self, gw: Harness, fake: FakePlatform) -> None:
        gw.faults.update(latency=0.05, fail_paths="^/dashboard/webshops/")
        env = {**os.environ, **gw.env()}
        module = self.connector.__module__.rsplit(".", 1)[0]
        proc = subprocess.Popen([sys.executable, "-m", module, "import", "--workers", "2"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while gw.writes() == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # a create the dead run left in flight still commits on the Gateway: the rerun starts
        # after it has (the run's own B16 wait, on the harness clock, costs no real time)
        assert gw.sandbox.wait_idle(), "the sandbox is still serving the killed run's requests"
        gw.expire_dead_locks()
        gw.faults.reset()
        report = gw.run()
        assert report.counts["failed"] == 0, report.failures
        self.assert_exactly_once(gw, fake)

    # -- CLI -------------------------------------------------------------------------------

    def test_cli_import_and_rerun(self, gw: Harness, fake: FakePlatform) -> None:
        first = gw.cli(["import"])
        assert first.exit_code == EXIT_OK, first.output
        second = gw.cli(["import"])
        assert second.exit_code == EXIT_OK
        assert "created 0, updated 0" in second.stdout and "archived 0" in second.stdout

    def test_check_sees_both_sides(self, gw: Harness, fake: FakePlatform) -> None:
        result = gw.cli(["check"])
        assert result.exit_code == EXIT_OK, result.output
        assert self.connector.title in result.stdout and "Gateway" in result.stdout

    def test_bad_credentials_exit_3_with_one_line(self, gw: Harness, fake: FakePlatform) -> None:
        for command in (["import"], ["check"]):
            result = gw.cli(command, env=gw.env(fake.bad_config()))
            assert result.exit_code == EXIT_CANNOT_RUN, result.output
            errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and "Traceback" not in result.output

    def test_no_secret_in_output_report_or_state(self, gw: Harness, fake: FakePlatform, tmp_path: Path) -> None:
        report_file = tmp_path / "report.json"
        outputs = [gw.cli(["import", "--report", str(report_file), "-v"]).output,
                   gw.cli(["import", "--dry-run", "-v"]).output,
                   gw.cli(["check", "-v"]).output,
                   gw.cli(["import"], env=gw.env(fake.bad_config())).output,
                   gw.cli(["--help"]).output, gw.cli(["import", "--help"]).output]
        files = [report_file.read_bytes(), *gw.state_blobs()]
        for secret in [*fake.secrets(), gw.signing_key]:
            assert all(secret not in text for text in outputs)
            assert all(secret.encode() not in blob for blob in files)

    def test_every_command_has_help(self, gw: Harness) -> None:
        for command in (["--help"], ["import", "--help"], ["check", "--help"], ["stock", "--help"],
                        ["serve", "--help"], ["state", "--help"]):
            result = gw.cli(command)
            assert result.exit_code == 0 and "Usage" in result.stdout

    def test_serve_has_a_stock_writer_or_says_why_not(self, gw: Harness) -> None:
        connector = self.connector(gw.config().values)
        try:
            writer = connector.stock_writer()
        finally:
            connector.close()
        if writer is not None:
            assert isinstance(writer, StockWriter)
            return
        assert self.connector.no_stock_write, "a connector without a stock writer says why (no_stock_write)"
        result = gw.cli(["serve", "--port", "0"])
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert self.connector.no_stock_write in " ".join(result.stderr.split())

    # -- issue 9: nothing lost or doubled under faults, stale state, lag, empty reads ---------

    def test_fault_profile_run_and_one_rerun_end_complete_and_exactly_once(
            self, gw: Harness, fake: FakePlatform, tmp_path: Path) -> None:
        gw.faults.configure(seed=17, **FAULT_PROFILE)
        gw.run()
        final = gw.run()  # the faults stay on
        gw.faults.reset()
        assert final.counts["failed"] == 0, final.failures
        self.assert_exactly_once(gw, fake)
        orphans = [t["name"] for t in gw.shop_tags() if t["type"] == "variant" and not t["product_guids"]]
        assert orphans == []
        with Harness(self.connector, gw.connector_config, tmp_path / "clean") as clean:
            clean.run()  # the same catalog without faults: every image it hosts must be there too
            expected = {k: len(p["images"]) for k, p in _by_identity(clean.products()).items()}
        assert {k: len(p["images"]) for k, p in _by_identity(gw.products()).items()} == expected
        for product in gw.products():
            for url in product["images"]:
                assert requests.get(url, timeout=10).status_code == 200

    def test_an_image_failing_on_our_side_fails_its_item_until_it_lands(self, gw: Harness,
                                                                        fake: FakePlatform) -> None:
        gw.faults.configure(error_rate=1.0, error_status=507, fail_paths="^/(uploads|downloads|storage)")
        first = gw.run()
        gw.faults.reset()
        failed = {p.identity for p in first.failures}
        assert failed, "the fake catalog must contain products with images"
        assert first.exit_code == EXIT_ITEMS_FAILED
        assert all("image" in p.reason for p in first.failures)
        failed_products = {_identity_key(i)[0] for i in failed}
        live = {_key(p)[0] for p in gw.products()}
        assert failed_products.isdisjoint(live)  # never written without an image that failed here
        second = gw.run()
        assert second.counts["failed"] == 0, second.failures
        self.assert_exactly_once(gw, fake)
        landed = [p for p in gw.products() if _key(p)[0] in failed_products]
        assert landed and any(p["images"] for p in landed)  # with the images that failed before
        assert second.images["uploaded"] + second.images["copied"] > 0

    def test_state_restored_from_an_older_copy_creates_no_duplicate(self, gw: Harness,
                                                                    fake: FakePlatform) -> None:
        gw.run()
        backup = gw.state_snapshot()
        fake.add_product()
        assert gw.run().counts["created"] == 1
        gw.restore_state(backup)
        report = gw.run(full=True)
        assert report.counts["created"] == 0 and report.counts["failed"] == 0, report.failures
        self.assert_exactly_once(gw, fake)

    @pytest.mark.parametrize("fault", [{"drop_first": True}, {"fail_next": 1}],
                             ids=["created-answer-lost", "not-created"])
    def test_ambiguous_create_under_index_lag(self, gw: Harness, fake: FakePlatform, fault: dict) -> None:
        # E4 sees a write only 1.5 s after it committed; the engine waits out GATEWAY_SEARCH_LAG
        # (2 s, on the test clock) before it looks: adopted when it was created, created when not.
        gw.faults.configure(index_lag_ms=1500, fail_paths=E1_PATH, **fault)
        report = gw.run()
        assert report.counts["failed"] == 0, report.failures
        assert report.counts["created"] == fake.expected_items()
        self.assert_exactly_once(gw, fake)

    @pytest.mark.parametrize("keep", [0, 2], ids=["empty", "truncated"])
    def test_an_empty_or_truncated_read_archives_nothing(self, gw: Harness, fake: FakePlatform,
                                                         keep: int) -> None:
        gw.run()
        gw.connector_cls = truncated(self.connector, keep)
        with pytest.raises(MassArchiveRefused, match="--allow-mass-archive"):
            gw.run(full=True)
        result = gw.cli(["import", "--full"])
        assert result.exit_code == EXIT_CANNOT_RUN
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "mass-archive guard" in errors[0] and "--allow-mass-archive" in errors[0]
        assert gw.run(full=True, archive_missing=False).counts["archived"] == 0
        gw.connector_cls = self.connector
        self.assert_exactly_once(gw, fake)
        gw.connector_cls = truncated(self.connector, keep)
        allowed = gw.run(full=True, allow_mass_archive=True)
        assert allowed.counts["archived"] > 0 and len(gw.products()) < fake.expected_items()

    def test_a_failed_item_does_not_freeze_the_cursor_and_is_retried(self, gw: Harness,
                                                                     fake: FakePlatform) -> None:
        gw.faults.configure(fail_next=2, error_status=507, fail_paths=E1_PATH)
        first = gw.run()
        gw.faults.reset()
        assert first.counts["failed"] > 0 and first.complete
        with gw.open_state() as state:
            kept = {entry.product_id for entry in state.retries()}
            cursor = state.get_meta(CURSOR_KEY)
        assert kept and {p.identity.split("|")[2] for p in first.failures} <= kept
        second = gw.run()
        assert second.counts["failed"] == 0, second.failures
        self.assert_exactly_once(gw, fake)
        with gw.open_state() as state:
            assert state.retries() == []
            # a connector that keeps a cursor had it moved by the run with the failure: never frozen
            assert (cursor is None) == (state.get_meta(CURSOR_KEY) is None)

    def test_corrupt_state_is_moved_aside_and_rebuilt(self, gw: Harness, fake: FakePlatform) -> None:
        gw.run()
        path = self.state_path(gw)
        for extra in gw.state_dir.glob(path.name + "-*"):
            extra.unlink()
        path.write_bytes(b"this is not a database" * 100)
        before, images = gw.writes(), gw.image_calls()
        report = gw.run()
        assert any("moved aside" in note for note in report.notes)
        assert list(gw.state_dir.glob(path.name + ".corrupt-*"))
        assert (report.writes, gw.writes(), gw.image_calls()) == (0, before, images)
        self.assert_exactly_once(gw, fake)

    def test_an_old_schema_state_is_migrated(self, gw: Harness, fake: FakePlatform) -> None:
        gw.run()
        db = sqlite3.connect(self.state_path(gw))
        db.executescript("DROP TABLE retries; DROP INDEX IF EXISTS variant_tags_guid; PRAGMA user_version = 0;")
        db.close()
        before = gw.writes()
        report = gw.run()
        assert report.counts["failed"] == 0 and gw.writes() == before
        with SqliteState(self.state_path(gw)) as state:
            assert state.schema_version() == state.latest_version()

    def test_wiped_state_hosts_no_image_again(self, gw: Harness, fake: FakePlatform) -> None:
        gw.run()
        gw.wipe_state()
        before, images = gw.writes(), gw.image_calls()
        report = gw.run()
        assert report.writes == 0 and report.counts["failed"] == 0
        assert (gw.writes(), gw.image_calls()) == (before, images)

    def test_user_info_in_url_settings_never_leaks(self, gw: Harness, fake: FakePlatform,
                                                   tmp_path: Path) -> None:
        secret = "gwsync-userinfo-" + os.urandom(6).hex()
        urls = [s for s in self.connector.settings if s.kind == "url" and gw.connector_config.get(s.key)]
        config = {**gw.connector_config}
        for setting in urls:
            value = str(config[setting.key])
            config[setting.key] = value.replace("://", f"://{secret}@", 1)
        report_file = tmp_path / "report.json"
        result = gw.cli(["import", "--report", str(report_file), "-v"], env=gw.env(config))
        assert result.exit_code in (EXIT_OK, EXIT_CONFIG), result.output
        assert secret not in result.output
        blobs = gw.state_blobs()
        if report_file.exists():
            blobs.append(report_file.read_bytes())
        assert all(secret.encode() not in blob for blob in blobs)
        assert all(secret not in json.dumps(p["data"]) for p in gw.products())

    def test_changed_shop_address_stops_and_migrate_source_moves_the_catalog(
            self, gw: Harness, fake: FakePlatform) -> None:
        gw.run()
        old = self.source_shop(gw)
        before = gw.writes()
        gw.connector_cls = moved(self.connector)
        refused = gw.cli(["import"])
        assert refused.exit_code == EXIT_CONFIG, refused.output
        assert f"gateway-{self.connector.platform} migrate-source --from {old}" in refused.stderr
        assert gw.writes() == before
        migrated = gw.cli(["migrate-source", "--from", old])
        assert migrated.exit_code == EXIT_OK, migrated.output
        report = gw.run()
        assert (report.counts["created"], report.counts["failed"]) == (0, 0), report.failures
        new = self.source_shop(gw, gw.connector_cls)
        gw.clock.sleep(60)
        assert {p["data"]["source"]["shop"] for p in gw.products()} == {new}
        self.assert_exactly_once(gw, fake)

    def test_unencoded_image_urls_are_percent_encoded(self, gw: Harness, fake: FakePlatform) -> None:
        gw.connector_cls = with_raw_image_urls(self.connector)
        report = gw.run()
        assert report.counts["failed"] == 0, report.failures
        assert report.image_problems == [] and report.images["uploaded"] + report.images["copied"] > 0
        sent = [e["body"]["url"] for e in gw.sandbox.store.journal(route="downloads")]
        assert all(url.isascii() and " " not in url for url in sent)

    def test_a_held_lock_exits_4_and_does_nothing(self, gw: Harness, fake: FakePlatform) -> None:
        with gw.open_state(lock=True):  # the file lock, or the PostgreSQL lease
            result = gw.cli(["import"])
        assert result.exit_code == EXIT_LOCKED and "another run" in result.stderr
        assert gw.writes() == 0


def _key(product: dict[str, Any]) -> tuple[str, str | None]:
    source = product["data"]["source"]
    return source["product_id"], source.get("variant_id")


def _identity_key(identity: str) -> tuple[str, str | None]:
    _, _, product_id, variant_id = identity.split("|", 3)
    return product_id, variant_id or None


def _by_identity(products: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {_key(p): p for p in products}
