"""Benchmark (not a test): step 2 for PrestaShop, both directions.

    .venv/bin/python bench/bench_stock.py [--part events|pass|both] [--products 200] [--events 400]
                                          [--workers 4] [--pass-products 10000] [--changed 0.01]
                                          [--latency 0.02] [--gateway-latency 0.02]

`events`: imports a PrestaShop catalog into the sandbox, starts `serve` on a real socket, and
posts signed stock events from 8 concurrent senders (as the Gateway's retrying deliverer
would); prints events per second from the first post to the last event applied to the shop,
the shop calls per event, and checks that every sale landed exactly once.

`pass`: imports a shop of `--pass-products` products (no latency, no images: only the
set-up), then, with the latency on both sides, times `stock` passes in this process: the
first one (no stock cursor yet: every price), an unchanged one, and one after `--changed` of
the products changed (half of them a stock change only, half a price change saved in the
back office); then the same three with the catalog read every connector gets by default
(`Connector.read_stock`), for comparison. Prints platform calls, Gateway calls and writes and
wall time per pass, and checks every changed item on the Gateway.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from gwsync.connector import Connector
from gwsync.models import gross_from_net
from gwsync.testing import Harness
from gwsync.testing.bench import scenario_parser
from gwsync.testing.bench_events import events_end_to_end
from gwsync_prestashop.connector import PrestaShopConnector
from gwsync_prestashop.fake import PrestaShopFake


def main() -> None:
    parser = scenario_parser(__doc__.splitlines()[0], "PrestaShop")
    parser.set_defaults(products=200)
    parser.add_argument("--part", choices=("events", "pass", "both"), default="both")
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4, help="serve --workers")
    parser.add_argument("--pass-products", type=int, default=10_000, help="products in the stock pass's shop")
    parser.add_argument("--changed", type=float, default=0.01, help="share of products changed before a pass")
    args = parser.parse_args()
    logging.getLogger("waitress").setLevel(logging.ERROR)
    if args.part in ("events", "both"):
        serve_events(args)
    if args.part in ("pass", "both"):
        stock_passes(args)


def serve_events(args: argparse.Namespace) -> None:
    with PrestaShopFake.running(latency=args.latency) as fake, \
            tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp, \
            Harness(PrestaShopConnector, fake.config(), Path(tmp), sandbox_latency=args.gateway_latency) as h:
        fake.seed(args.products)
        assert h.run().exit_code == 0
        targets = [(p["guid"], identity_of(p)) for p in h.products()]
        run = events_end_to_end(PrestaShopConnector, h, fake, targets, events=args.events, workers=args.workers,
                                shop_calls=lambda: fake.calls["total"])
    run.print(f"step 2, PrestaShop, {args.latency * 1000:.0f} ms shop latency",
              ": read, guard read, PUT; at most 4 PrestaShop requests in flight")


def identity_of(product: dict) -> tuple[str, str | None]:
    source = product["data"]["source"]
    return source["product_id"], source.get("variant_id")


class CatalogReadStock(PrestaShopConnector):
    """The connector as it was before its own `read_stock`: the pass is the incremental catalog read."""

    read_stock = Connector.read_stock


def stock_passes(args: argparse.Namespace) -> None:
    with PrestaShopFake.running() as fake, tempfile.TemporaryDirectory(prefix="bench-stock-pass-") as tmp, \
            Harness(PrestaShopConnector, fake.config(), Path(tmp)) as h:
        fake.seed(args.pass_products, images=(0, 0))
        started = time.perf_counter()
        imported = h.run(workers=8)
        assert imported.exit_code == 0, imported.summary_line()
        print(f"stock pass, PrestaShop: {args.pass_products} products, {len(fake.shop.combinations)} combinations "
              f"({fake.expected_items()} Gateway items; imported in {time.perf_counter() - started:.0f} s without "
              f"latency); now {args.latency * 1000:.0f} ms per PrestaShop call, "
              f"{args.gateway_latency * 1000:.0f} ms per Gateway call")
        fake.server.latency = args.latency
        h.faults.update(latency=args.gateway_latency)
        rng = random.Random(11)
        rows = []
        for label, connector in (("stock pass (own read)", PrestaShopConnector),
                                 ("before: catalog read", CatalogReadStock)):
            h.connector_cls = connector
            rows.append(one_pass(h, fake, f"{label}, first"))
            rows.append(one_pass(h, fake, f"{label}, unchanged"))
            expected = change_share(fake, rng, args.changed)
            rows.append(one_pass(h, fake, f"{label}, {args.changed:.0%} changed", expected))
    width = max(len(r["run"]) for r in rows)
    print(f"  {'run':<{width}}  shop calls  Gateway calls  Gateway writes  wall time  items wrong")
    for r in rows:
        print(f"  {r['run']:<{width}}  {r['shop']:>10}  {r['gateway']:>13}  {r['writes']:>14}  "
              f"{r['seconds']:>7.1f} s  {r['wrong']:>11}")


def one_pass(h: Harness, fake: PrestaShopFake, label: str,
             expected: dict[tuple[str, str | None], tuple[int, Decimal | None]] | None = None) -> dict:
    fake.calls.clear()
    writes = h.writes()
    started = time.perf_counter()
    report = h.run(stock_only=True, archive_missing=False)
    seconds = time.perf_counter() - started
    assert report.exit_code == 0, report.summary_line()
    hosts = report.stats.per_host()
    gateway = hosts.get(urlsplit(h.sandbox.url).netloc, 0)
    wrong = 0
    if expected:
        on_gateway = {(p["data"]["source"]["product_id"], p["data"]["source"].get("variant_id")): p
                      for p in h.products()}
        for key, (stock, price) in expected.items():
            landed = on_gateway[key]
            wrong += int(landed["stock_level"]) != stock or (
                price is not None and Decimal(str(landed["base_price"]["amount"])) != price)
    return {"run": label, "shop": fake.calls["total"], "gateway": gateway, "writes": h.writes() - writes,
            "seconds": seconds, "wrong": wrong}


def change_share(fake: PrestaShopFake, rng: random.Random,
                 share: float) -> dict[tuple[str, str | None], tuple[int, Decimal | None]]:
    """Change `share` of the products: half a sale in the shop (stock only, `date_upd` untouched),
    half a new price saved in the back office (`date_upd` moves). Returns what the Gateway must show."""
    shop = fake.shop
    chosen = rng.sample(sorted(shop.products), max(2, round(len(shop.products) * share)))
    expected: dict[tuple[str, str | None], tuple[int, Decimal | None]] = {}
    for n, pid in enumerate(chosen):
        product = shop.products[pid]
        combination = next((int(c["id"]) for c in product["associations"].get("combinations", [])), 0)
        key = (str(pid), str(combination) if combination else None)
        row = shop.stock_row(pid, combination)
        if n % 2 == 0:
            row["quantity"] = str(int(row["quantity"]) + 7)
            expected[key] = (int(row["quantity"]), None)
        else:
            product["price"] = f"{Decimal(product['price']) + Decimal('8.130081'):.6f}"
            product["date_upd"] = shop.tick()
            rate = Decimal({"1": 23, "2": 8}[product["id_tax_rules_group"]])
            impact = Decimal(shop.combinations[combination]["price"]) if combination else Decimal(0)
            expected[key] = (int(row["quantity"]), gross_from_net(Decimal(product["price"]) + impact, rate))
    return expected


if __name__ == "__main__":
    main()
