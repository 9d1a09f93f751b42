"""Benchmark: the Sellasist connector against the fake REST API (and image host) and the sandbox Gateway.

    .venv/bin/python bench/bench_sellasist.py [--products 2000] [--latency 0.02] [--changes]

Prints wall time, Sellasist and Gateway calls (total and per product) and the peak RSS of a full
import run as its own process, and what an immediate re-run costs; with `--changes`, also
a full import, an unchanged re-run, a run after a few changes and another re-run in-process.
Sellasist calls are the API's (two listings, one detail call per product, one call per
variant group); the Gateway copying images from the image host is not a call of the tool
(the sandbox fetches them). Not a test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gwsync.testing.bench import change_scenario, measured_run, print_rows, run_benchmark, scenario_parser
from gwsync.testing.harness import Harness
from gwsync_sellasist.connector import SellasistConnector
from gwsync_sellasist.fake import SellasistFake


def measure(h: Harness, fake: SellasistFake, label: str, products: int) -> dict:
    before = dict(fake.account.calls)
    row = measured_run(h, label, fake.url, products)
    return {**row, **{f"calls {k}": n - before.get(k, 0) for k, n in fake.account.calls.items() if k != "total"}}


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "Sellasist")
    parser.add_argument("--changes", action="store_true",
                        help="also run the change scenario in this process (re-run, 4 changes, re-run)")
    args = parser.parse_args()

    with SellasistFake.running(latency=args.latency) as fake:
        fake.seed(args.products)
        # The import as its own process: its peak RSS is the tool's alone.
        run_benchmark(SellasistConnector, fake.config(), title="Sellasist", products=args.products,
                      latency=args.gateway_latency,
                      distinct_images=sum(len(p["images"]) for p in fake.account.products.values()))
    if not args.changes:
        return
    with tempfile.TemporaryDirectory(prefix="bench-sellasist-") as tmp, \
            SellasistFake.running(latency=args.latency) as fake:
        fake.seed(args.products)
        h = Harness(SellasistConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency)
        try:
            products = fake.account.products.values()
            print(f"catalog: {args.products} Sellasist products, {sum(len(p.get('variants') or ()) for p in products)} "
                  f"variants ({fake.expected_items()} Gateway items), {sum(len(p['images']) for p in products)} "
                  f"images; Sellasist latency {args.latency * 1000:.0f} ms, Gateway latency {args.gateway_latency * 1000:.0f} ms")
            rows = change_scenario(lambda label: measure(h, fake, label, args.products), fake)
        finally:
            h.close()
    print_rows(rows)


if __name__ == "__main__":
    main()
