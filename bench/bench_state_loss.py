"""Benchmark: what a re-run costs after the state directory is lost (Shoper bench catalog).

    .venv/bin/python bench/bench_state_loss.py [--products 200] [--latency 0] [--gateway-latency 0]

Imports the fake Shoper shop into the sandbox, deletes every state file, runs the
import again and prints the Gateway writes of both runs, counted by the sandbox:
product writes (E1, PUT, archive, tags) and image hosting calls (E14 grants, E15
uploads, E16 copies). Not a test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gwsync.testing.bench import scenario_parser
from gwsync.testing.harness import Harness
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake

IMAGE_ROUTES = ("uploads", "storage_post", "downloads")


def gateway_writes(h: Harness) -> dict[str, int]:
    counters = h.sandbox.store.counters()
    images = sum(counters.get(route, {}).get("requests", 0) for route in IMAGE_ROUTES)
    return {"product_writes": h.writes(), "image_calls": images}


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after}


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "Shoper")
    parser.set_defaults(products=200, latency=0.0, gateway_latency=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-state-loss-") as tmp, \
            ShoperFake.running(args.products, latency=args.latency, rate_limit=False) as fake:
        h = Harness(ShoperConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency)
        try:
            start = gateway_writes(h)
            first = h.run()
            after_first = gateway_writes(h)
            for path in h.state_dir.glob("*.sqlite*"):
                path.unlink()
            second = h.run()
            after_second = gateway_writes(h)
        finally:
            h.close()
    print(f"catalog: {args.products} Shoper products -> {fake.expected_items()} Gateway items")
    print(f"first import        {delta(after_first, start)}  counts {first.counts}")
    print(f"re-run, state lost  {delta(after_second, after_first)}  counts {second.counts}")
    print(f"re-run writes total {sum(delta(after_second, after_first).values())}")


if __name__ == "__main__":
    main()
