"""Benchmark: the Sellasist connector against the fake REST API (and image host) and the sandbox Gateway.

    .venv/bin/python bench/bench_sellasist.py [--products 2000] [--latency 0.02] [--changes] [--stock]

Prints wall time, Sellasist and Gateway calls (total and per product) and the peak RSS of a full
import run as its own process, and what an immediate re-run costs; with `--changes`, also
a full import, an unchanged re-run, a run after a few changes and another re-run in-process.
Sellasist calls are the API's (two listings, one detail call per product, one call per
variant group); the Gateway copying images from the image host is not a call of the tool
(the sandbox fetches them). With `--stock`, instead: the step-2 `stock` pass after an import,
on an unchanged shop and with 1 % of the items' stock changed (Sellasist calls, Gateway
writes, wall time). Not a test.
"""

from __future__ import annotations

import math
import tempfile
import time
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
    parser.add_argument("--stock", action="store_true", help="measure the stock pass instead of the import")
    args = parser.parse_args()
    if args.stock:
        stock_scenario(args)
        return

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


def stock_scenario(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sellasist-stock-") as tmp, \
            SellasistFake.running(latency=args.latency) as fake:
        fake.seed(args.products)
        h = Harness(SellasistConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency)
        try:
            assert h.run().exit_code == 0
            items = [(p["id"], v["id"] if v else None) for p in fake.account.products.values()
                     for v in (p.get("variants") or [None])]
            print(f"catalog: {args.products} Sellasist products, {len(items)} Gateway items; Sellasist latency "
                  f"{args.latency * 1000:.0f} ms, Gateway latency {args.gateway_latency * 1000:.0f} ms")
            rows = [stock_pass(h, fake, "stock pass, unchanged shop")]
            changed = items[::100][:math.ceil(len(items) / 100)]  # 1 % of the items
            for product_id, variant_id in changed:
                fake.set_shop_stock(product_id, variant_id, fake.shop_stock(product_id, variant_id) + 1)
            rows.append(stock_pass(h, fake, f"stock pass, {len(changed)} items changed (1 %)"))
        finally:
            h.close()
    print_rows(rows)


def stock_pass(h: Harness, fake: SellasistFake, label: str) -> dict:
    before, writes, started = dict(fake.account.calls), h.writes(), time.monotonic()
    report = h.run(stock_only=True, archive_missing=False)
    calls = {k: n - before.get(k, 0) for k, n in fake.account.calls.items()}
    return {"run": label, "seconds": round(time.monotonic() - started, 1), "exit": report.exit_code,
            "sellasist_calls": calls.get("total", 0), "list": calls.get("products", 0),
            "details": calls.get("products/{id}", 0), "groups": calls.get("variants_groups/{id}", 0),
            "gateway_writes": h.writes() - writes, "updated": report.counts["updated"],
            "unchanged": report.counts["unchanged"]}


if __name__ == "__main__":
    main()
