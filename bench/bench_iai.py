"""Benchmark: the IAI / IdoSell connector against the fake Admin API and the sandbox Gateway.

    .venv/bin/python bench/bench_iai.py [--products 2000] [--latency 0.02] [--rate-limit 25]

Prints, per run, wall time, IdoSell and Gateway calls (total and per product), writes and
peak RSS: a full import, an unchanged re-run, a run after a few changes, another re-run.
Not a test.

Every import runs as its own process; the row also has its peak RSS, Gateway 429s, the most
Gateway requests in flight, the achieved Gateway rate and a check for identities stored twice.
`--rate-limit 25`: the sandbox allows 25 requests/s (429, Retry-After: 1) and the row adds
the utilisation of that limit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gwsync.testing.bench import change_scenario, measured_run, print_rows, rate_limited, scenario_parser
from gwsync.testing.harness import Harness
from gwsync_iai.connector import IaiConnector
from gwsync_iai.fake import IdoSellFake


def measure(h: Harness, fake: IdoSellFake, label: str, products: int) -> dict:
    fake.reset_counters()
    row = measured_run(h, label, fake.base_url, products)
    return {**row, "idosell_search_calls": fake.search_calls()}


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "IdoSell")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-iai-") as tmp, \
            IdoSellFake.running(latency=args.latency) as fake:
        fake.seed(args.products)
        h = Harness(IaiConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency)
        rate_limited(h, args.rate_limit)
        try:
            print(f"catalog: {args.products} IdoSell products ({fake.expected_items()} Gateway items), "
                  f"{len(fake.images)} images; IdoSell latency {args.latency * 1000:.0f} ms, "
                  f"Gateway latency {args.gateway_latency * 1000:.0f} ms")
            rows = change_scenario(lambda label: measure(h, fake, label, args.products), fake)
        finally:
            h.close()
    print_rows(rows)


if __name__ == "__main__":
    main()
