"""A sandbox Gateway, a state dir and a connector config wired together, for tests and benchmarks."""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner, Result

from ..cli import build_cli
from ..config import Resolved
from ..connector import Connector
from ..gateway.client import GatewayClient
from ..report import Report
from ..runner import run_import
from ..sandbox import start_in_thread
from ..sandbox.faults import Faults
from ..sandbox.tools import WRITE_ROUTES
from ..state import StateStore, clean_shop_identity
from ..state_pg import STATE_TABLES, Scope
from ..stores import StateLocation, open_state
from ..sync import Options

IMAGE_ROUTES = frozenset({"uploads", "storage_post", "downloads"})


class RunClock:
    """Real time plus every wait the run asked for: a wait costs nothing, yet the sandbox's index
    lag (which reads this clock) sees it pass. No test depends on how long anything takes."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._offset += max(seconds, 0.0)


class Harness:
    """Everything a connector test needs around the connector: Gateway, state, config, CLI.

    `state_url` (`GATEWAY_SYNC_STATE_URL`) puts the state in PostgreSQL (a test passes a fresh
    schema from `gwsync.testing.postgres`); None keeps SQLite files in `state_dir`. The state
    helpers below (`open_state`, `wipe_state`, `state_snapshot`, ...) work on either store."""

    def __init__(self, connector_cls: type[Connector], connector_config: Mapping[str, Any],
                 workdir: Path, *, sandbox_latency: float = 0.0, state_url: str | None = None) -> None:
        self.connector_cls = connector_cls
        self.connector_config = dict(connector_config)
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.state_url = state_url
        self.shop_guid = str(uuid.uuid4())
        self.signing_key = base64.b64encode(secrets.token_bytes(32)).decode()
        self.clock = RunClock()
        self.sandbox = start_in_thread(workdir / "gateway.sqlite", shops={self.shop_guid: self.signing_key},
                                       faults=Faults(clock=self.clock.now))
        if sandbox_latency:
            self.sandbox.faults.update(latency=sandbox_latency)
        self.gateway = GatewayClient(self.sandbox.url, self.shop_guid, base64.b64decode(self.signing_key))

    @property
    def faults(self) -> Any:
        return self.sandbox.faults

    def config(self, **overrides: Any) -> Resolved:
        values = {"gateway_url": self.sandbox.url, "shop_guid": self.shop_guid,
                  "signing_key": self.signing_key, "state_dir": self.state_dir, "state_url": self.state_url,
                  "category_map": None, **self.connector_config, **overrides}
        return Resolved(values)

    def run(self, *, dry_run: bool = False, full: bool = False, workers: int = 4, **options: Any) -> Report:
        """One import in this process; `options` are `sync.Options` fields. Waits for the
        Gateway's search lag go through `clock` (they cost no time)."""
        opts = Options(dry_run=dry_run, full=full, workers=workers, **{"sleep": self.clock.sleep, **options})
        return run_import(self.connector_cls, self.config(), options=opts)

    def products(self, include_archived: bool = False) -> list[dict]:
        return list(self.gateway.query([], include_archived=include_archived))

    def writes(self) -> int:
        """Requests the sandbox has served on routes that change the catalog."""
        counters = self.sandbox.store.counters()
        return sum(c["requests"] for route, c in counters.items() if route in WRITE_ROUTES)

    def image_calls(self) -> int:
        """Image hosting requests the sandbox has served (E14 grants, E15 uploads, E16 copies)."""
        counters = self.sandbox.store.counters()
        return sum(c["requests"] for route, c in counters.items() if route in IMAGE_ROUTES)

    def shop_tags(self) -> list[dict]:
        return self.gateway.shop_tags()

    def env(self, connector_config: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Environment for the CLI: every setting by its env var name."""
        config = self.connector_config if connector_config is None else connector_config
        by_key = {s.key: s.env for s in self.connector_cls.settings}
        env = {"GATEWAY_URL": self.sandbox.url, "GATEWAY_SHOP_GUID": self.shop_guid,
               "GATEWAY_SIGNING_KEY": self.signing_key, "GATEWAY_SYNC_STATE_DIR": str(self.state_dir)}
        if self.state_url:
            env["GATEWAY_SYNC_STATE_URL"] = self.state_url
        env.update({by_key[k]: str(v) for k, v in config.items() if k in by_key and v is not None})
        return env

    def cli(self, args: list[str], env: Mapping[str, str] | None = None, input: str = "") -> Result:
        clean = {k: None for k in os.environ if k.startswith(("GATEWAY_",)) or
                 k in {s.env for s in self.connector_cls.settings}}
        runner = CliRunner()
        return runner.invoke(build_cli(self.connector_cls), args, env={**clean, **(env or self.env())},
                             input=input, catch_exceptions=False)

    # -- the state, on either store --------------------------------------------------------

    @property
    def on_postgres(self) -> bool:
        return self.state_url is not None

    def scope(self, connector_cls: type[Connector] | None = None) -> Scope:
        """The scope (and SQLite file) a run of this connector uses."""
        connector = (connector_cls or self.connector_cls)(self.config().values)
        try:
            shop = clean_shop_identity(connector.shop)
        finally:
            connector.close()
        return Scope(self.connector_cls.platform, shop, self.sandbox.url, self.shop_guid)

    @contextmanager
    def open_state(self, *, lock: bool = False) -> Iterator[StateStore]:
        """The shop's state as a run sees it; `lock=True` holds the shop's lock (or lease) meanwhile."""
        location = StateLocation.parse(self.state_url, self.state_dir)
        with open_state(location, self.scope(), lock=lock) as state:
            yield state

    def wipe_state(self) -> None:
        """Lose the shop's state (a new node, an emptied volume, `state reset`)."""
        if self.on_postgres:
            with self.open_state() as state:
                state.reset()  # type: ignore[attr-defined]
            return
        for path in self.state_dir.glob("*.sqlite*"):
            path.unlink()

    def state_snapshot(self) -> dict[str, Any]:
        """A copy of the state as a backup holds it; `restore_state` puts it back."""
        if not self.on_postgres:
            return {path: path.read_bytes() for path in self.state_dir.glob("*.sqlite*")}
        with psycopg.connect(self.state_url) as conn:
            return {table: conn.execute(f"SELECT * FROM {table}").fetchall() for table in STATE_TABLES}

    def restore_state(self, snapshot: dict[str, Any]) -> None:
        if not self.on_postgres:
            for path in self.state_dir.glob("*.sqlite*"):
                path.unlink()
            for path, data in snapshot.items():
                path.write_bytes(data)
            return
        with psycopg.connect(self.state_url) as conn, conn.transaction():
            for table, rows in snapshot.items():
                conn.execute(f"DELETE FROM {table}")
                if rows:
                    marks = ",".join(["%s"] * len(rows[0]))
                    conn.cursor().executemany(f"INSERT INTO {table} VALUES ({marks})", rows)

    def expire_dead_locks(self) -> None:
        """Let the lease of a killed run run out (PostgreSQL: it expires after its TTL; the kernel
        drops a dead process's file lock at once)."""
        if self.on_postgres:
            with psycopg.connect(self.state_url, autocommit=True) as conn:
                conn.execute("UPDATE gwsync_leases SET expires = now() - interval '1 second'")

    def state_blobs(self) -> list[bytes]:
        """Everything the state holds, as bytes, to look for what must never be kept (secrets)."""
        files = [p.read_bytes() for p in self.state_dir.rglob("*") if p.is_file()]
        if not self.on_postgres:
            return files
        with psycopg.connect(self.state_url) as conn:
            tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                                 "WHERE table_schema = current_schema()")]
            return files + [str(row[0]).encode() for table in tables
                            for row in conn.execute(f"SELECT t::text FROM {table} t")]

    def close(self) -> None:
        self.gateway.close()
        self.sandbox.stop()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
