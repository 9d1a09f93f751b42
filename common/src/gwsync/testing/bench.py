"""Benchmark helper: import into a sandbox with latency, in a child process, and print figures.

The import runs as its own process (`python -m gwsync_<platform> import`) so that its
peak RSS is the tool's alone, not the sandbox's or the fake platform's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..connector import Connector
from .fake import FakePlatform
from .harness import Harness
from .postgres import schema_on, server_url


# Runs the tool's module as __main__ and writes its own peak RSS (kB) at exit. /proc's VmHWM
# starts afresh at exec; getrusage's ru_maxrss would carry over the forking parent's size.
_CHILD = """
import atexit, resource, runpy, sys
def _peak(path=sys.argv[1]):
    try:
        with open("/proc/self/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
    with open(path, "w") as out:
        out.write(str(kb))
atexit.register(_peak)
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def import_once(h: Harness, module: str, report_file: Path, extra_env: Mapping[str, str]) -> tuple[dict, float, float]:
    """One `import` as a child process: (its JSON report, wall seconds, its own peak RSS in MB)."""
    env = {**os.environ, **h.env(), **extra_env}
    peak_file = report_file.with_suffix(".rss")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CHILD, str(peak_file), module, "import", "--report", str(report_file)],
                   env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False)
    seconds = time.perf_counter() - started
    return json.loads(report_file.read_text()), seconds, int(peak_file.read_text()) / 1024


def rate_limited(h: Harness, per_second: float) -> None:
    """The sandbox enforces a request-rate limit (B12): beyond it 429 with `Retry-After: 1`."""
    if per_second:
        h.faults.update(rate_limit=per_second, retry_after=1)


def exactly_once(h: Harness) -> dict[str, int]:
    """Products of the shop on the sandbox, and source identities that exist more than once."""
    rows = h.sandbox.store._query(
        "SELECT json_extract(doc, '$.data.source.product_id') AS p, "
        "json_extract(doc, '$.data.source.variant_id') AS v, count(*) AS n "
        "FROM products WHERE owner = ? GROUP BY p, v", [h.shop_guid])
    return {"gateway_products": sum(r["n"] for r in rows), "duplicates": sum(r["n"] - 1 for r in rows)}


def gateway_figures(report: dict, h: Harness, gateway_calls: int) -> dict[str, Any]:
    """429s, highest in flight and achieved rate (the client's), utilisation (the sandbox's limit)."""
    rate = report["calls"].get("gateway_rate") or {}
    throttled = report["calls"]["throttled"]
    row: dict[str, Any] = {
        "gateway_429": throttled, "gateway_429_share": round(throttled / max(gateway_calls, 1), 4),
        "max_in_flight": rate.get("max_in_flight"), "achieved_per_s": rate.get("achieved_per_second"),
        "paused_s": rate.get("paused_seconds"),
    }
    settings = h.faults.settings()
    limit = h.faults.rate_figures
    if settings.rate_limit and limit.first is not None and limit.last is not None:
        # what the bucket could have admitted over the import: its rate, plus the burst it starts with
        burst = settings.rate_limit_burst or round(settings.rate_limit)
        could = settings.rate_limit * (limit.last - limit.first) + burst
        row.update({"allowed_per_s": settings.rate_limit, "admitted_per_s": round(limit.achieved_rate(), 2),
                    "utilisation": round(limit.admitted / could, 3)})
    return row


def run_benchmark(connector_cls: type[Connector], config: Mapping[str, Any], *, title: str, products: int,
                  latency: float = 0.02, extra_env: Mapping[str, str] | None = None,
                  distinct_images: int | None = None, rate_limit: float = 0.0) -> dict[str, Any]:
    """Import, then re-run at once; print and return the figures."""
    module = connector_cls.__module__.rsplit(".", 1)[0]
    with tempfile.TemporaryDirectory(prefix="gwsync-bench-") as tmp, \
            Harness(connector_cls, config, Path(tmp), sandbox_latency=latency) as h:
        rate_limited(h, rate_limit)
        first, seconds, rss = import_once(h, module, Path(tmp) / "first.json", extra_env or {})
        gateway = urlsplit(h.sandbox.url).netloc
        limits = gateway_figures(first, h, _calls(first, gateway))
        h.faults.update()  # the re-run's own figures
        again, again_seconds, _ = import_once(h, module, Path(tmp) / "again.json", extra_env or {})
        once = exactly_once(h)
    items = first["counts"]["created"] + first["counts"]["unchanged"]
    figures = {
        "products": products, "gateway_items": items, "seconds": round(seconds, 1),
        "platform_calls": _calls(first, gateway, platform=True), "gateway_calls": _calls(first, gateway),
        "images_hosted": first["images"].get("uploaded", 0) + first["images"].get("copied", 0),
        "distinct_images": distinct_images, "peak_rss_mb": round(rss, 1),
        "throttled": first["calls"]["throttled"], "failed": first["counts"]["failed"],
        "rerun_writes": sum(again["counts"][k] for k in ("created", "updated", "archived")),
        "rerun_platform_calls": _calls(again, gateway, platform=True),
        "rerun_gateway_calls": _calls(again, gateway),
        "rerun_seconds": round(again_seconds, 1), **limits, **once,
    }
    _print(title, latency, figures)
    return figures


def _calls(report: dict, gateway_host: str, platform: bool = False) -> int:
    """Calls to the sandbox Gateway, or to everything else (the platform and its image hosts)."""
    per_host = report["calls"]["per_host"]
    gateway = per_host.get(gateway_host, 0)
    return sum(per_host.values()) - gateway if platform else gateway


def _print(title: str, latency: float, f: dict[str, Any]) -> None:
    per = max(f["products"], 1)
    lines = [
        f"{title}: {f['products']} products -> {f['gateway_items']} Gateway products, "
        f"{latency * 1000:.0f} ms latency per call",
        f"  wall time            {f['seconds']} s",
        f"  platform calls       {f['platform_calls']} ({f['platform_calls'] / per:.3f} per product)",
        f"  Gateway calls        {f['gateway_calls']} ({f['gateway_calls'] / per:.3f} per product)",
        f"  images hosted        {f['images_hosted']}"
        + (f" for {f['distinct_images']} distinct images" if f["distinct_images"] is not None else ""),
        f"  429s seen            {f['throttled']} ({f['gateway_429_share'] * 100:.2f} % of Gateway calls)",
        f"  most in flight       {f['max_in_flight']} Gateway requests",
        f"  achieved rate        {f['achieved_per_s']} Gateway API requests/s",
        *([f"  rate limit           {f['allowed_per_s']} req/s allowed, {f['admitted_per_s']} admitted/s: "
           f"utilisation {f['utilisation'] * 100:.1f} %"] if "utilisation" in f else []),
        f"  failed items         {f['failed']}",
        f"  on the Gateway       {f['gateway_products']} products, {f['duplicates']} duplicates",
        f"  peak RSS             {f['peak_rss_mb']} MB",
        f"  re-run               {f['rerun_writes']} writes, {f['rerun_platform_calls']} platform calls, "
        f"{f['rerun_gateway_calls']} Gateway calls, {f['rerun_seconds']} s",
    ]
    print("\n".join(lines))


def change_scenario(measure: Callable[[str], dict[str, Any]], fake: FakePlatform) -> list[dict[str, Any]]:
    """A full import, an unchanged re-run, one of each change, and another re-run."""
    rows = [measure("full import"), measure("re-run (no change)")]
    fake.change_price()
    fake.change_stock()
    fake.add_product()
    fake.remove_product()
    rows += [measure("after 1 price, 1 stock, 1 new, 1 removed"), measure("re-run (no change)")]
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        print(" | ".join(f"{k}={v}" for k, v in row.items()))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the bench process (fake shop + sandbox Gateway, not the import): {peak_mb:.0f} MB")


def scenario_parser(description: str, platform: str) -> argparse.ArgumentParser:
    """The options every connector benchmark takes; also quiets the servers' access logs."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--products", type=int, default=2000, help="products in the fake shop")
    parser.add_argument("--latency", type=float, default=0.02, help=f"seconds per {platform} request")
    parser.add_argument("--gateway-latency", type=float, default=0.02, help="seconds per Gateway request")
    parser.add_argument("--rate-limit", type=float, default=0.0,
                        help="the sandbox Gateway allows this many requests/s (429, Retry-After: 1); 0: no limit")
    parser.add_argument("--state", choices=("sqlite", "postgres"), default="sqlite",
                        help="where the state lives; postgres: a fresh schema on GWSYNC_TEST_POSTGRES "
                             "(default 127.0.0.1:5432), dropped afterwards")
    return parser


@contextmanager
def state_url(kind: str) -> Iterator[str | None]:
    """None (SQLite files), or the URL of a fresh PostgreSQL schema for the benchmark's runs."""
    if kind != "postgres":
        yield None
        return
    with schema_on(server_url(), prefix="gwsync_bench") as url:
        yield url


def measured_run(h: Harness, label: str, platform_url: str, products: int,
                 connector_cls: type[Connector] | None = None) -> dict[str, Any]:
    """One import as its own process (so its peak RSS is the tool's alone), timed, with its calls
    split between platform and Gateway, 429s, requests in flight, achieved rate and utilisation."""
    cls = connector_cls or h.connector_cls
    module = cls.__module__.rsplit(".", 1)[0]
    platform_host = urlsplit(platform_url).netloc
    h.faults.update()  # fresh rate-limit figures (and a full bucket) per run
    with tempfile.TemporaryDirectory(prefix="gwsync-bench-run-") as tmp:
        report, seconds, rss = import_once(h, module, Path(tmp) / "report.json", {})
    hosts = report["calls"]["per_host"]
    platform = hosts.get(platform_host, 0)
    gateway = sum(hosts.values()) - platform
    return {
        "run": label, "seconds": round(seconds, 1), **counts(report["counts"]),
        "platform_calls": platform, "platform_per_product": round(platform / products, 4),
        "gateway_calls": gateway, "gateway_per_product": round(gateway / products, 3),
        "writes": sum(report["counts"][k] for k in ("created", "updated", "archived")),
        "complete": report["complete"], "peak_rss_mb": round(rss, 1), **gateway_figures(report, h, gateway),
        "items_per_create_call": items_per_create(report), **exactly_once(h),
        "state_calls": report["calls"].get("state"),
        "state_calls_per_product": round((report["calls"].get("state") or 0) / products, 3),
    }


def items_per_create(report: dict) -> float | None:
    """How full the E1 batches were (100 at most)."""
    calls = sum(n for route, n in report["calls"]["per_route"].items()
                if route.endswith("POST /dashboard/webshops/{id}/products"))
    return round(report["counts"]["created"] / calls, 1) if calls else None


def counts(values: Mapping[str, int]) -> dict[str, int]:
    return {k: values[k] for k in ("created", "updated", "unchanged", "archived", "failed", "skipped")}
