"""Benchmark (not a test): a fleet of shops imported by a few processes against one PostgreSQL.

    .venv/bin/python bench/bench_fleet.py [--shops 50] [--processes 8] [--products 20] [--latency 0.02]

Prints wall time, PostgreSQL round trips per product, and the peak RSS of each worker
process, for a first import and an immediate re-run. Needs the PostgreSQL server of
`gwsync.testing.postgres` (GWSYNC_TEST_POSTGRES, default 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import base64
import secrets
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from gwsync.sandbox import start_in_thread
from gwsync.testing.fleet import fleet_jobs, run_processes
from gwsync.testing.postgres import server_url, with_schema


def measure(label: str, folder: Path, jobs: list[list[dict]]) -> None:
    started = time.perf_counter()
    results, rss = run_processes(folder, jobs)
    seconds = time.perf_counter() - started
    products = sum(r["counts"]["created"] + r["counts"]["unchanged"] + r["counts"]["updated"] for r in results)
    trips = sum(r["state_round_trips"] or 0 for r in results)
    failed = [r for r in results if r["exit"] != 0]
    print(f"{label:<10} {seconds:7.1f} s  {len(results)} shops, {products} products, "
          f"{trips} PostgreSQL round trips ({trips / max(products, 1):.2f} per product), "
          f"peak RSS per process {min(rss):.0f}-{max(rss):.0f} MB, failed {len(failed)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--products", type=int, default=20, help="single products per shop (plus 2 variants)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every Gateway call")
    args = parser.parse_args()
    schema = f"gwsync_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        shops = {str(uuid.uuid4()): base64.b64encode(secrets.token_bytes(32)).decode() for _ in range(args.shops)}
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp, \
                start_in_thread(Path(tmp) / "gateway.sqlite", shops=shops) as sandbox:
            sandbox.faults.update(latency=args.latency)
            jobs, _ = fleet_jobs(Path(tmp), with_schema(server_url(), schema), sandbox.url, shops,
                                 args.processes, singles=args.products, contend=False)
            print(f"fleet: {args.shops} shops, {args.processes} processes, one PostgreSQL, "
                  f"{args.latency * 1000:.0f} ms Gateway latency")
            measure("import", Path(tmp), jobs)
            measure("re-run", Path(tmp), jobs)
    finally:
        with psycopg.connect(server_url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
