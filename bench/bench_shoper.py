"""Benchmark: the Shoper connector against the fake WebAPI (leaky bucket on) and the sandbox Gateway.

    .venv/bin/python bench/bench_shoper.py [--products 2000] [--latency 0.02] [--rate-limit 25]

Prints wall time, platform and Gateway calls per product, 429s seen, peak RSS and
what a re-run and a run after a few changes cost. Not a test.

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
from gwsync_shoper.connector import ShoperConnector
from gwsync_shoper.fake import ShoperFake


def run(h: Harness, fake: ShoperFake, label: str, products: int) -> dict:
    before_api, before_429 = fake.api_calls(), fake.shop.throttled
    before_subs = sum(fake.shop.sub_requests.values())
    row = measured_run(h, label, fake.url, products)
    return {**row, "platform_calls_seen_by_shop": fake.api_calls() - before_api,
            "sub_requests": sum(fake.shop.sub_requests.values()) - before_subs,
            "http_429": fake.shop.throttled - before_429}


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "Shoper")
    parser.add_argument("--bulk-per-request", action="store_true",
                        help="the fake charges each bulk sub-request to the bucket (default: one per bulk call)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-shoper-") as tmp, \
            ShoperFake.running(args.products, latency=args.latency, rate_limit=True,
                               bulk_per_request=args.bulk_per_request) as fake:
        h = Harness(ShoperConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency)
        rate_limited(h, args.rate_limit)
        try:
            print(f"catalog: {args.products} products, {len(fake.shop.stocks)} stock rows "
                  f"({fake.expected_items()} Gateway items), {len(fake.shop.images)} images; "
                  f"platform latency {args.latency * 1000:.0f} ms, Gateway latency "
                  f"{args.gateway_latency * 1000:.0f} ms, bucket {fake.shop.bucket.limit} calls / "
                  f"{fake.shop.bucket.bandwidth:g} per s, bulk charged "
                  f"{'per sub-request' if args.bulk_per_request else 'as one call'}")
            rows = change_scenario(lambda label: run(h, fake, label, args.products), fake)
        finally:
            h.close()
    print_rows(rows)


if __name__ == "__main__":
    main()
