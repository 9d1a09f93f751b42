"""A fleet in miniature: a few worker processes importing many shops against one PostgreSQL.

`python -m gwsync.testing.fleet JOBS.json` runs the jobs in order, in this process, and
prints one JSON line per job. A job names its connector (`module:Class`) and config. For
lease-contention tests, `hold_after_lock` makes a job announce that it holds the shop's
lease (touching a file) and then wait for a release file; `after_holder` makes a job start
only once that announcement exists, and `release` touches the release file when it ends.
Used by the fleet test and `bench/bench_fleet.py`.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from ..config import Resolved
from ..errors import SyncError
from ..runner import run_import
from ..sync import Engine

WAIT_LIMIT = 60.0  # seconds: a test's barrier never hangs a run for ever
FEED_CONNECTOR = "gwsync_feed.connector:FeedConnector"


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    module, _, name = job["connector"].partition(":")
    connector_cls = getattr(importlib.import_module(module), name)
    engines: list[Engine] = []

    def on_engine(engine: Engine) -> None:
        engines.append(engine)
        if job.get("hold_after_lock"):
            Path(job["hold_after_lock"]["announce"]).touch()
            _wait_for(Path(job["hold_after_lock"]["until"]))

    if job.get("after_holder"):
        _wait_for(Path(job["after_holder"]))
    started = time.time()
    result: dict[str, Any] = {"job": job["name"], "pid": os.getpid(), "started": started}
    try:
        report = run_import(connector_cls, Resolved(job["config"]), on_engine=on_engine)
        result.update(exit=report.exit_code, counts=dict(report.counts))
    except SyncError as exc:
        result.update(exit=exc.exit_code, error=str(exc))
    finally:
        if job.get("release"):
            Path(job["release"]).touch()
    result["finished"] = time.time()
    result["state_round_trips"] = getattr(engines[0].state, "round_trips", None) if engines else None
    return result


def write_feed(path: Path, shop: int, singles: int) -> int:
    """A small Google Merchant feed: single products and one group of sizes; returns its item count."""
    items = [{"g:id": f"S{shop}-{n}", "g:title": f"Kubek {shop}-{n}", "g:price": f"{10 + n % 80}.99 PLN",
              "g:availability": "in_stock", "g:quantity": str(n % 9 + 1)} for n in range(singles)]
    items += [{"g:id": f"S{shop}-G-{size}", "g:title": f"Bluza {shop} {size}", "g:price": "99.00 PLN",
               "g:availability": "in_stock", "g:quantity": "2", "g:item_group_id": f"G{shop}", "g:size": size}
              for size in ("S", "M")]
    body = "".join("<item>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items()) + "</item>\n"
                   for item in items)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/'
                    f'ns/1.0"><channel><title>fleet</title>\n{body}</channel></rss>\n', encoding="utf-8")
    return len(items)


def fleet_jobs(folder: Path, state_url: str, gateway_url: str, shops: dict[str, str], processes: int, *,
               singles: int = 3, contend: bool = True) -> tuple[list[list[dict]], dict[str, int]]:
    """Every shop's import job spread over `processes`; with `contend`, shop 0 is also started twice at once:
    the first run holds its lease until the second has tried and been refused."""
    expected = {}
    per_process: list[list[dict]] = [[] for _ in range(processes)]
    for index, (guid, key) in enumerate(shops.items()):
        feed = folder / f"feed-{index}.xml"
        expected[guid] = write_feed(feed, index, singles + index % 4)
        per_process[index % processes].append({
            "name": f"shop-{index}", "connector": FEED_CONNECTOR,
            "config": {"gateway_url": gateway_url, "shop_guid": guid, "signing_key": key, "state_dir": None,
                       "state_url": state_url, "category_map": None, "source": str(feed),
                       "shop_id": f"shop-{index}"}})
    if contend:
        held, release = folder / "shop-0.held", folder / "shop-0.release"
        first = per_process[0][0]
        first["hold_after_lock"] = {"announce": str(held), "until": str(release)}
        per_process[1].insert(0, {**first, "name": "shop-0-again", "hold_after_lock": None,
                                  "after_holder": str(held), "release": str(release)})
    return per_process, expected


def run_processes(folder: Path, per_process: list[list[dict]]) -> tuple[list[dict], list[float]]:
    """Start one worker process per job list at once; their job results and peak RSS (MB) each."""
    procs = []
    for n, jobs in enumerate(per_process):
        jobs_file = folder / f"jobs-{n}.json"
        jobs_file.write_text(json.dumps(jobs))
        procs.append(subprocess.Popen([sys.executable, "-m", "gwsync.testing.fleet", str(jobs_file)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    lines = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"fleet worker failed: {err[-2000:]}")
        lines += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [r for r in lines if "job" in r], [r["peak_rss_mb"] for r in lines if "peak_rss_mb" in r]


def main(argv: list[str]) -> None:
    jobs = json.loads(Path(argv[0]).read_text())
    for job in jobs:
        print(json.dumps(run_job(job)), flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": round(peak_mb, 1), "pid": os.getpid()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
