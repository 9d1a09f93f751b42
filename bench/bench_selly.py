"""Benchmark: the Selly connector against the fake table API (and shop site) and the sandbox Gateway.

    .venv/bin/python bench/bench_selly.py [--products 2000] [--latency 0.02] [--changes]

Prints wall time, Selly and Gateway calls (total and per product) and the peak RSS of a full
import run as its own process, and what an immediate re-run costs; with `--changes`, also
a full import, an unchanged re-run, a run after a few changes and another re-run in-process.
Selly calls are the table API's; the Gateway copying pictures from the shop's site is not
counted as a platform call of the tool (the sandbox fetches them, not the tool). Not a test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gwsync.testing.bench import change_scenario, measured_run, print_rows, run_benchmark, scenario_parser
from gwsync.testing.harness import Harness
from gwsync_selly.connector import SellyConnector
from gwsync_selly.fake import SellyFake


def measure(h: Harness, fake: SellyFake, label: str, products: int) -> dict:
    before = dict(fake.shop.calls)
    row = measured_run(h, label, fake.url, products)
    api = sum(n - before.get(k, 0) for k, n in fake.shop.calls.items() if k.startswith(("table ", "coin", "token")))
    return {**row, "selly_api_calls": api, "picture_fetches_by_gateway": fake.shop.calls["site"] - before.get("site", 0)}


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "Selly")
    parser.add_argument("--changes", action="store_true",
                        help="also run the change scenario in this process (re-run, 4 changes, re-run)")
    args = parser.parse_args()

    with SellyFake.running(latency=args.latency) as fake:
        fake.seed(args.products)
        # The import as its own process: its peak RSS is the tool's alone.
        run_benchmark(SellyConnector, fake.config(), title="Selly", products=args.products,
                      latency=args.gateway_latency,
                      distinct_images=len(fake.shop.tables["produkty_zdjecia"]))
    if not args.changes:
        return
    with tempfile.TemporaryDirectory(prefix="bench-selly-") as tmp, \
            SellyFake.running(latency=args.latency) as fake:
        fake.seed(args.products)
        h = Harness(SellyConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency)
        try:
            tables = fake.shop.tables
            print(f"catalog: {args.products} Selly products, {len(tables['produkty_warianty'])} variants "
                  f"({fake.expected_items()} Gateway items), {len(tables['produkty_zdjecia'])} pictures; "
                  f"Selly latency {args.latency * 1000:.0f} ms, Gateway latency {args.gateway_latency * 1000:.0f} ms")
            rows = change_scenario(lambda label: measure(h, fake, label, args.products), fake)
        finally:
            h.close()
    print_rows(rows)


if __name__ == "__main__":
    main()
