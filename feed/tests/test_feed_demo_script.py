"""`make demo` (scripts/demo.py): reuses only a sandbox holding the demo shop, never links a failed import;
its step-2 part lowers the demo PrestaShop shop's stock after a sale on the Gateway."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from gwsync.sandbox import start_in_thread

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


def demo(tmp_path: Path, port: int, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DEMO_DIR": str(tmp_path / "demo"), "DEMO_PORT": str(port), **env},
                          stdin=subprocess.DEVNULL, check=False)


@pytest.fixture
def foreign(tmp_path):
    """Another sandbox (not the demo's) already listening: the demo must not import into it."""
    server = start_in_thread(tmp_path / "other.sqlite",
                             shops={str(uuid.uuid4()): base64.b64encode(os.urandom(32)).decode()})
    yield server
    server.stop()


def test_demo_starts_its_own_sandbox_when_the_port_holds_another_and_reuses_it(tmp_path, foreign):
    port = int(foreign.url.rsplit(":", 1)[1])
    try:
        first = demo(tmp_path, port)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"port {port} is taken" in first.stdout
        link = re.search(r"See the import: (?P<root>http://127\.0\.0\.1:(?P<port>\d+))/shops/[0-9a-f-]+",
                         first.stdout)
        assert link and int(link["port"]) != port
        assert foreign.store.shops()[0]["products"] == 0
        shop_page = link[0].removeprefix("See the import: ")
        page = requests.get(shop_page, timeout=10)
        assert page.status_code == 200 and "Kubek ceramiczny Poranek 350 ml" in page.text
        assert "Demo shop (sample feed)" in requests.get(link["root"], timeout=10).text

        step2 = re.search(r"a sale of 1 on the Gateway .*: shop stock (?P<before>\d+) -> (?P<after>\d+)", first.stdout)
        assert step2 and int(step2["after"]) == int(step2["before"]) - 1
        agree = re.search(r"stock pass: .*the item sold: Gateway stock (\d+), shop stock (\d+)", first.stdout)
        assert agree and agree[1] == agree[2] == step2["after"]

        again = demo(tmp_path, port)
        assert again.returncode == 0 and shop_page in again.stdout
        assert "created 0, updated 0" in again.stdout
        assert "import: created 0" in again.stdout  # the demo PrestaShop shop is the same shop again
    finally:
        stopped = demo(tmp_path, port, "--stop")
    assert "demo sandbox stopped" in stopped.stdout
    with pytest.raises(requests.ConnectionError):
        requests.get(link["root"], timeout=2)


def test_a_failed_demo_import_prints_no_link(tmp_path, foreign):
    port = int(foreign.url.rsplit(":", 1)[1])
    try:
        result = demo(tmp_path, port, DEMO_FEED=str(tmp_path / "missing.xml"))
        assert result.returncode == 2
        assert "See the import" not in result.stdout and "The demo import failed (exit code 2)" in result.stdout
        assert "FEED_SOURCE: no feed file" in result.stderr
    finally:
        demo(tmp_path, port, "--stop")


def test_make_clean_stops_the_demo_sandbox_before_removing_its_files():
    root = SCRIPT.parents[1]
    commands = subprocess.run(["make", "-n", "-C", str(root), "clean"], capture_output=True, text=True,
                              check=True).stdout.splitlines()
    stop = next(i for i, c in enumerate(commands) if "scripts/demo.py --stop" in c)
    remove = next(i for i, c in enumerate(commands) if c.startswith("rm -rf") and ".demo" in c)
    assert stop < remove
