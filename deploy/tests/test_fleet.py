"""The fleet test: 50 shops imported by 8 processes against one PostgreSQL and one sandbox,
with two processes started for the same shop. No duplicate, no overlap, every shop complete."""

import base64
import json
import secrets
import uuid
from collections import Counter

from gwsync.gateway.client import GatewayClient
from gwsync.sandbox import start_in_thread
from gwsync.testing.fleet import fleet_jobs, run_processes
from gwsync.testing.postgres import postgres_url  # noqa: F401  (fixture)

SHOPS = 50
PROCESSES = 8


def test_fifty_shops_eight_processes_one_postgres(tmp_path, postgres_url):  # noqa: F811
    shops = {str(uuid.uuid4()): base64.b64encode(secrets.token_bytes(32)).decode() for _ in range(SHOPS)}
    with start_in_thread(tmp_path / "gateway.sqlite", shops=shops) as sandbox:
        per_process, expected = fleet_jobs(tmp_path, postgres_url, sandbox.url, shops, PROCESSES)
        results = {r["job"]: r for r in run_processes(tmp_path, per_process)[0]}

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
        again, _ = fleet_jobs(tmp_path, postgres_url, sandbox.url, shops, PROCESSES, contend=False)
        rerun = run_processes(tmp_path, again)[0]
        assert len(rerun) == SHOPS and all(r["exit"] == 0 for r in rerun)
        assert sum(r["counts"]["created"] + r["counts"]["updated"] for r in rerun) == 0
