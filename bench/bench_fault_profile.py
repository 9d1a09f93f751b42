"""Benchmark: the Shoper bench catalog under issue 9's fault profile (10 % 5xx, 5 % answers lost
after commit, the first write of each route lost, 429s beyond 20 requests per second).

    .venv/bin/python bench/bench_fault_profile.py [--products 200] [--seed 1]

Runs the import, then a re-run with the faults still on, and prints the faults injected,
what each run created and failed, and what the Gateway holds: missing items, duplicates,
orphan variant tags. Not a test.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from gwsync.testing.bench import scenario_parser
from gwsync.testing.harness import Harness
from gwsync.testing.suite import FAULT_PROFILE
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "Shoper")
    parser.set_defaults(products=200, latency=0.0, gateway_latency=0.0)
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault draws")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp, \
            ShoperFake.running(args.products, latency=args.latency, rate_limit=False) as fake:
        h = Harness(ShoperConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency)
        try:
            h.faults.configure(seed=args.seed, **FAULT_PROFILE)
            runs = [h.run(), h.run()]
            injected = h.sandbox.store.fault_counts()
            h.faults.reset()
            h.clock.sleep(60)  # past any index lag
            live = h.products()
            orphans = [t for t in h.shop_tags() if t["type"] == "variant" and not t["product_guids"]]
        finally:
            h.close()
    counts = Counter((p["data"]["source"]["product_id"], p["data"]["source"]["variant_id"]) for p in live)
    print(f"catalog: {args.products} Shoper products -> {fake.expected_items()} Gateway items")
    print(f"faults injected: {injected}")
    for n, report in enumerate(runs, 1):
        print(f"run {n}: created {report.counts['created']}, failed {report.counts['failed']}, "
              f"exit {report.exit_code}")
    print(f"on the Gateway: {len(live)} live, missing {fake.expected_items() - len(counts)}, "
          f"duplicates {sum(n - 1 for n in counts.values())}, orphan variant tags {len(orphans)}")


if __name__ == "__main__":
    main()
