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
import sys
import time
from pathlib import Path
from typing import Any

from ..config import Resolved
from ..errors import SyncError
from ..runner import run_import
from ..sync import Engine

WAIT_LIMIT = 60.0  # seconds: a test's barrier never hangs a run for ever


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


def main(argv: list[str]) -> None:
    jobs = json.loads(Path(argv[0]).read_text())
    for job in jobs:
        print(json.dumps(run_job(job)), flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": round(peak_mb, 1), "pid": os.getpid()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
