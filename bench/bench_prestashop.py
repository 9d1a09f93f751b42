"""Benchmark: the PrestaShop connector against the fake webservice and the sandbox Gateway.

    .venv/bin/python bench/bench_prestashop.py [--products 2000] [--latency 0.02] [--rate-limit 25]
                                               [--state postgres]

A generated shop (40 % of products with 2-6 combinations, 1-4 images each) behind the given
latency. Prints, per run, wall time, PrestaShop and Gateway calls (total and per product),
image downloads, writes and peak RSS: a full import, an immediate re-run, a run after one
price change, one stock change, one new and one removed product, and another re-run.
Not a test.

Every import runs as its own process; the row also has its peak RSS, Gateway 429s, the most
Gateway requests in flight, the achieved Gateway rate and a check for identities stored twice.
`--rate-limit 25`: the sandbox allows 25 requests/s (429, Retry-After: 1) and the row adds
the utilisation of that limit. `state_calls` are the queries and transactions the state store
served (`--state postgres`: PostgreSQL round trips).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gwsync.testing.bench import change_scenario, measured_run, print_rows, rate_limited, scenario_parser, state_url
from gwsync.testing.harness import Harness
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import PrestaShopFake


def measure(h: Harness, fake: PrestaShopFake, label: str, products: int) -> dict:
    fake.calls.clear()
    row = measured_run(h, label, fake.url, products)
    images = fake.calls.get("images", 0)
    return {**row, "of_which_images": images, "api_calls_without_images": row["platform_calls"] - images}


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "PrestaShop")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-prestashop-") as tmp, \
            PrestaShopFake.running(latency=args.latency) as fake, state_url(args.state) as url:
        fake.seed(args.products)
        shop = fake.shop
        images = sum(len(p["associations"]["images"]) for p in shop.products.values())
        h = Harness(PrestaShopConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency,
                    state_url=url)
        rate_limited(h, args.rate_limit)
        try:
            print(f"catalog: {args.products} PrestaShop products, {len(shop.combinations)} combinations "
                  f"({fake.expected_items()} Gateway items), {images} images; PrestaShop latency "
                  f"{args.latency * 1000:.0f} ms, Gateway latency {args.gateway_latency * 1000:.0f} ms, state in {args.state}")
            rows = change_scenario(lambda label: measure(h, fake, label, args.products), fake)
        finally:
            h.close()
    print_rows(rows)


if __name__ == "__main__":
    main()
