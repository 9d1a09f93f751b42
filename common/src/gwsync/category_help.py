"""`categories`: the unmapped source category paths of the last import, as a CSV to fill in.

Each line is `source path;Gateway path`, the Gateway path being the closest one in
the Gateway's category tree (the operator checks it and edits what is wrong).
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Sequence

from .categories import CategoryTree, join_path, split_path
from .config import Resolved, default_state_dir
from .connector import Connector
from .errors import ConfigError
from .gateway.client import GatewayClient
from .runner import gateway_target
from .state_cli import shop_state

HEADER = ("source path", "Gateway path")


def unmapped_csv(connector_cls: type[Connector], config: Resolved) -> tuple[str, str | None]:
    """The CSV text, and a note for stderr (how many, or why there are none)."""
    unmapped = last_run_unmapped(connector_cls, config)
    with gateway_target(config, config["state_dir"] or default_state_dir()) as target:
        gateway = GatewayClient(target.url, target.shop_guid, target.key)
        try:
            tree = CategoryTree(gateway.category_tags())
        finally:
            gateway.close()
    rows = [(source, suggest(split_path(source), tree.paths())) for source in sorted(unmapped)]
    note = (f"{len(rows)} source categories of the last import have no Gateway category; "
            "check each suggestion, save the file and set GATEWAY_CATEGORY_MAP to it"
            if rows else "every source category of the last import has a Gateway category")
    return to_csv(rows), note


def last_run_unmapped(connector_cls: type[Connector], config: Resolved) -> dict[str, int]:
    """Source path -> products, from the last recorded run (read only: a run may hold the lock)."""
    try:
        with shop_state(connector_cls, config, lock=False) as (state, _, _):
            runs = state.runs(1)
    except ConfigError:
        runs = []
    if not runs:
        raise ConfigError(f"no import has been recorded for this shop yet; run `gateway-{connector_cls.platform} "
                          "import` first (same settings), then `categories`")
    return dict((runs[0]["summary"].get("uncategorised") or {}).get("source_categories") or {})


def suggest(source: Sequence[str], candidates: Sequence[Sequence[str]]) -> str:
    """The Gateway path closest to a source path: same leaf name first, then the most similar text."""
    if not source or not candidates:
        return ""
    leaf = source[-1].casefold()
    same_leaf = [c for c in candidates if c and c[-1].casefold() == leaf]
    pool = same_leaf or candidates
    texts = {join_path(c).casefold(): join_path(c) for c in pool}
    wanted = join_path(source).casefold()
    best = difflib.get_close_matches(wanted, list(texts), n=1, cutoff=0.0)
    return texts[best[0]] if best else ""


def to_csv(rows: Sequence[tuple[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()
