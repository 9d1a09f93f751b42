"""Benchmark: the Magento 2 connector against the fake REST API and the sandbox Gateway.

    .venv/bin/python bench/bench_magento.py [--configurables 2000] [--children 3] [--latency 0.02] [--oauth]

A generated shop of configurable products with size/colour children (one image per parent,
MSI stock in two sources) behind the given latency on every Magento and Gateway request.
The import runs as its own process (its peak RSS is the tool's alone), then again at once.
Prints wall time, Magento API calls (by resource), Gateway calls per product and peak RSS.
Not a test.
"""

from __future__ import annotations

import argparse
import logging

from gwsync.testing.bench import run_benchmark
from gwsync_magento.connector import MagentoConnector
from gwsync_magento.fake import MagentoFake


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configurables", type=int, default=2000)
    parser.add_argument("--children", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request, both sides")
    parser.add_argument("--oauth", action="store_true", help="sign with OAuth 1.0a instead of a bearer token")
    args = parser.parse_args()

    with MagentoFake.running(latency=args.latency, oauth=args.oauth) as fake:
        fake.seed_configurables(args.configurables, children=args.children)
        items = fake.expected_items()
        print(f"catalog: {args.configurables} configurables x {args.children} children = {items} Gateway items, "
              f"{len(fake.shop.products)} Magento products, {len(fake.shop.source_items)} MSI source items; "
              f"{'OAuth 1.0a' if args.oauth else 'bearer token'}")
        fake.calls.clear()
        figures = run_benchmark(MagentoConnector, fake.config(), title="Magento", products=args.configurables,
                                latency=args.latency, distinct_images=args.configurables)
        api = {k: v for k, v in sorted(fake.calls.items()) if k != "images"}
        print(f"  Magento API calls, both runs, by resource: {api} (+ {fake.calls['images']} image downloads "
              "by the Gateway)")
        print(f"  Gateway calls per Gateway item: {figures['gateway_calls'] / max(items, 1):.3f}")


if __name__ == "__main__":
    main()
