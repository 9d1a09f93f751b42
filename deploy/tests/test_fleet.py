"""The fleet test: 50 shops imported by 8 processes against one PostgreSQL and one sandbox,
with two processes started for the same shop. No duplicate, no overlap, every shop complete."""

import base64
import json
import secrets
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from gwsync.gateway.client import GatewayClient
from gwsync.sandbox import start_in_thread
from gwsync.testing.postgres import postgres_url  # noqa: F401  (fixture)
from gwsync_feed.fake import rss, rss_item

SHOPS = 50
PROCESSES = 8


def write_feed(path: Path, shop: int) -> int:
    """A small catalog: a few single products and one group of sizes; returns its item count."""
    items = [rss_item(id=f"S{shop}-{n}", title=f"Kubek {shop}-{n}", price=f"{10 + n}.99 PLN",
                      availability="in_stock", quantity=str(n + 1)) for n in range(3 + shop % 4)]
    items += [rss_item(id=f"S{shop}-G-{size}", title=f"Bluza {shop} {size}", price="99.00 PLN",
                       availability="in_stock", quantity="2", item_group_id=f"G{shop}", size=size)
              for size in ("S", "M")]
    path.write_text(rss(*items), encoding="utf-8")
    return len(items)


def fleet_jobs(tmp_path: Path, url: str, gateway_url: str, shops: dict[str, str]) -> tuple[list[list[dict]], dict]:
    expected = {}
    per_process: list[list[dict]] = [[] for _ in range(PROCESSES)]
    for index, (guid, key) in enumerate(shops.items()):
        feed = tmp_path / f"feed-{index}.xml"
        expected[guid] = write_feed(feed, index)
        job = {"name": f"shop-{index}", "connector": "gwsync_feed.connector:FeedConnector",
               "config": {"gateway_url": gateway_url, "shop_guid": guid, "signing_key": key,
                          "state_dir": None, "state_url": url, "category_map": None,
                          "source": str(feed), "shop_id": f"shop-{index}"}}
        per_process[index % PROCESSES].append(job)
    # shop-0 twice at once: process 0 holds its lease until process 1 has tried and been refused
    held, release = tmp_path / "shop-0.held", tmp_path / "shop-0.release"
    first = per_process[0][0]
    first["hold_after_lock"] = {"announce": str(held), "until": str(release)}
    per_process[1].insert(0, {**first, "name": "shop-0-again", "hold_after_lock": None,
                              "after_holder": str(held), "release": str(release)})
    return per_process, expected


def run_processes(tmp_path: Path, per_process: list[list[dict]]) -> list[dict]:
    procs = []
    for n, jobs in enumerate(per_process):
        jobs_file = tmp_path / f"jobs-{n}.json"
        jobs_file.write_text(json.dumps(jobs))
        procs.append(subprocess.Popen([sys.executable, "-m", "gwsync.testing.fleet", str(jobs_file)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    lines = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        lines += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if "job" in line]


def test_fifty_shops_eight_processes_one_postgres(tmp_path, postgres_url):  # noqa: F811
    shops = {str(uuid.uuid4()): base64.b64encode(secrets.token_bytes(32)).decode() for _ in range(SHOPS)}
    with start_in_thread(tmp_path / "gateway.sqlite", shops=shops) as sandbox:
        per_process, expected = fleet_jobs(tmp_path, postgres_url, sandbox.url, shops)
        results = {r["job"]: r for r in run_processes(tmp_path, per_process)}

        refused = results.pop("shop-0-again")
        assert refused["exit"] == 4, refused
        assert "holds its lease" in refused["error"] and "until" in refused["error"]
        assert f":{results['shop-0']['pid']}:" in refused["error"]  # the holder is named
        assert refused["finished"] < results["shop-0"]["finished"]  # refused while the other ran
        assert all(r["exit"] == 0 for r in results.values()), [r for r in results.values() if r["exit"]]
        assert len(results) == SHOPS

        for guid, key in shops.items():
            gateway = GatewayClient(sandbox.url, guid, base64.b64decode(key))
            try:
                products = list(gateway.query([], include_archived=True))
            finally:
                gateway.close()
            sources = Counter(json.dumps(p["data"]["source"], sort_keys=True) for p in products)
            assert len(products) == expected[guid], guid  # every shop complete
            assert max(sources.values()) == 1  # and nothing twice

        # one more round: the shared state knows everything, so nothing is written
        rerun = run_processes(tmp_path, [[{**j, "hold_after_lock": None, "after_holder": None, "release": None}
                                          for j in jobs if j["name"] != "shop-0-again"] for jobs in per_process])
        assert all(r["exit"] == 0 for r in rerun)
        assert sum(r["counts"]["created"] + r["counts"]["updated"] for r in rerun) == 0
