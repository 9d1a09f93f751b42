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

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from ..connector import Connector
from ..errors import EXIT_CANNOT_RUN, EXIT_OK
from .declared import DeclaredFactsChecks
from .fake import FakePlatform
from .harness import Harness

CATALOG = 24  # products in the fake; big enough for several batches of work, fast enough


def identities(products: list[dict]) -> Counter:
    return Counter(
        (p["data"]["source"]["product_id"], p["data"]["source"].get("variant_id")) for p in products
    )


class ConnectorSuite(DeclaredFactsChecks):
    connector: ClassVar[type[Connector]]
    catalog_size: ClassVar[int] = CATALOG

    @pytest.fixture
    def fake(self) -> Iterator[FakePlatform]:
        raise NotImplementedError("a connector's suite provides its fake platform")

    @pytest.fixture
    def gw(self, fake: FakePlatform, tmp_path: Path) -> Iterator[Harness]:
        fake.seed(self.catalog_size)
        h = Harness(self.connector, fake.config(), tmp_path)
        try:
            yield h
        finally:
            h.close()

    def assert_exactly_once(self, gw: Harness, fake: FakePlatform) -> None:
        live = gw.products()
        counts = identities(live)
        assert [k for k, n in counts.items() if n > 1] == []
        assert len(live) == fake.expected_items()

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
        for path in gw.state_dir.glob("*.sqlite*"):
            path.unlink()
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
        files = [report_file.read_bytes()] + [p.read_bytes() for p in gw.state_dir.rglob("*") if p.is_file()]
        for secret in [*fake.secrets(), gw.signing_key]:
            assert all(secret not in text for text in outputs)
            assert all(secret.encode() not in blob for blob in files)

    def test_every_command_has_help(self, gw: Harness) -> None:
        for command in (["--help"], ["import", "--help"], ["check", "--help"]):
            result = gw.cli(command)
            assert result.exit_code == 0 and "Usage" in result.stdout
