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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..connector import Connector
from ..report import Report
from .fake import FakePlatform
from .harness import Harness


def import_once(h: Harness, module: str, report_file: Path, extra_env: Mapping[str, str]) -> tuple[dict, float, float]:
    env = {**os.environ, **h.env(), **extra_env}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", module, "import", "--report", str(report_file)], env=env,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False)
    seconds = time.perf_counter() - started
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return json.loads(report_file.read_text()), seconds, peak_kb / 1024


def run_benchmark(connector_cls: type[Connector], config: Mapping[str, Any], *, title: str, products: int,
                  latency: float = 0.02, extra_env: Mapping[str, str] | None = None,
                  distinct_images: int | None = None) -> dict[str, Any]:
    """Import, then re-run at once; print and return the figures."""
    module = connector_cls.__module__.rsplit(".", 1)[0]
    with tempfile.TemporaryDirectory(prefix="gwsync-bench-") as tmp, \
            Harness(connector_cls, config, Path(tmp), sandbox_latency=latency) as h:
        first, seconds, rss = import_once(h, module, Path(tmp) / "first.json", extra_env or {})
        again, again_seconds, _ = import_once(h, module, Path(tmp) / "again.json", extra_env or {})
        gateway = urlsplit(h.sandbox.url).netloc
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
        "rerun_seconds": round(again_seconds, 1),
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
        f"  429s seen            {f['throttled']}",
        f"  failed items         {f['failed']}",
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
    print(f"peak RSS (whole process: connector + engine + fake shop + sandbox Gateway): {peak_mb:.0f} MB")


def scenario_parser(description: str, platform: str) -> argparse.ArgumentParser:
    """The options every connector benchmark takes; also quiets the servers' access logs."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--products", type=int, default=2000, help="products in the fake shop")
    parser.add_argument("--latency", type=float, default=0.02, help=f"seconds per {platform} request")
    parser.add_argument("--gateway-latency", type=float, default=0.02, help="seconds per Gateway request")
    return parser


def measured_run(h: Harness, label: str, platform_url: str, products: int) -> dict[str, Any]:
    """One import through the harness, timed, with its calls split between platform and Gateway."""
    platform_host = urlsplit(platform_url).netloc
    started = time.monotonic()
    report = h.run()
    seconds = time.monotonic() - started
    hosts = report.stats.per_host()
    platform = hosts.get(platform_host, 0)
    gateway = sum(hosts.values()) - platform
    return {
        "run": label, "seconds": round(seconds, 1), **counts(report),
        "platform_calls": platform, "platform_per_product": round(platform / products, 4),
        "gateway_calls": gateway, "gateway_per_product": round(gateway / products, 3),
        "writes": report.writes, "complete": report.complete,
    }


def counts(report: Report) -> dict[str, int]:
    return {k: report.counts[k] for k in ("created", "updated", "unchanged", "archived", "failed", "skipped")}
