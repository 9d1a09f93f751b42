"""Benchmark: the Subiekt GT connector on a SQLite company database and the sandbox Gateway.

    .venv/bin/python bench/bench_subiektgt.py [--rows 10000] [--photo-share 0.05] [--gateway-latency 0.02]

Generates goods for the e-shop until `--rows` tw__Towar rows (30 % of products are models
of 2-4 sizes, each size its own row), plus the rows an import leaves out. Each import runs
as its own process (`python -m gwsync_subiektgt import`, so the peak RSS is the tool's):
a full import, an immediate re-run, a run after one price, one stock, one new and one
deleted good, and another re-run. Prints per run: wall time, database queries (by table),
Gateway calls, writes and peak RSS. Not a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

from gwsync.testing.bench import import_once
from gwsync.testing.harness import Harness
from gwsync_subiektgt.connector import SubiektGTConnector
from gwsync_subiektgt.database import DB_HOST
from gwsync_subiektgt.fake import SubiektFake

ROWS_PER_PRODUCT = 1.6  # 70 % lone goods, 30 % models of 3 sizes on average


def rows_for_shop(path: Path) -> tuple[int, int]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM tw__Towar WHERE tw_Rodzaj = 1 AND tw_Usuniety = 0 "
                            "AND tw_SklepInternet = 1").fetchone()[0]
        photos = conn.execute("SELECT COUNT(*) FROM tw_ZdjecieTw").fetchone()[0]
    return rows, photos


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="tw__Towar rows for the e-shop")
    parser.add_argument("--photo-share", type=float, default=0.05, help="share of goods with photos (BLOBs)")
    parser.add_argument("--gateway-latency", type=float, default=0.02, help="seconds per Gateway request")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-subiektgt-") as tmp, SubiektFake.running(Path(tmp)) as fake:
        fake.seed(round(args.rows / ROWS_PER_PRODUCT), photo_share=args.photo_share)
        rows, photos = rows_for_shop(fake.path)
        print(f"catalog: {rows} tw__Towar rows for the e-shop ({fake.expected_items()} Gateway items, "
              f"{len(fake.models)} models), {photos} photos as BLOBs; Gateway latency "
              f"{args.gateway_latency * 1000:.0f} ms, no rate limit set (the adaptive rate finds the Gateway's)")
        with Harness(SubiektGTConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency) as h:
            gateway = urlsplit(h.sandbox.url).netloc

            def measure(label: str) -> None:
                report, seconds, rss = import_once(h, "gwsync_subiektgt", Path(tmp) / "report.json", {})
                routes = report["calls"]["per_route"]
                queries = {r.split(" ", 1)[1]: n for r, n in routes.items() if r.startswith(DB_HOST)}
                c = report["counts"]
                print(f"{label}: {seconds:.1f} s, {sum(queries.values())} queries "
                      f"{json.dumps(queries, ensure_ascii=False)}, Gateway calls "
                      f"{report['calls']['per_host'].get(gateway, 0)}, created {c['created']}, updated "
                      f"{c['updated']}, archived {c['archived']}, failed {c['failed']}, images uploaded "
                      f"{report['images'].get('uploaded', 0)}, peak RSS so far {rss:.1f} MB")

            measure("full import")
            measure("re-run (no change)")
            fake.change_price()
            fake.change_stock()
            fake.add_product()
            fake.remove_product()
            measure("after 1 price, 1 stock, 1 new, 1 deleted")
            measure("re-run (no change)")


if __name__ == "__main__":
    main()
