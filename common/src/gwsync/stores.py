"""Which state store a run uses, and the lock that keeps two runs of one shop apart.

`GATEWAY_SYNC_STATE_URL` chooses: `sqlite:///dir` (SQLAlchemy's form: `sqlite:////abs/dir` for an
absolute path; nothing means the state directory) keeps
one SQLite file per scope with a local file lock; `postgresql://...` keeps every shop of a
fleet in one schema with an expiring lease per scope, so runs on different nodes never overlap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .redact import redact
from .state import DryRunOverlay, ShopLock, SqliteState, StateStore, state_file
from .state_pg import PgLease, PostgresState, Scope

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


@dataclass(frozen=True)
class StateLocation:
    """Where state lives: a directory of SQLite files, or a PostgreSQL URL (a secret: never printed)."""

    directory: Path | None = None
    postgres_url: str | None = None

    @classmethod
    def parse(cls, url: str | None, state_dir: Path) -> StateLocation:
        if not url:
            return cls(directory=state_dir)
        if url.startswith("sqlite:///"):
            return cls(directory=Path(url.removeprefix("sqlite:///")))
        if url.startswith(POSTGRES_SCHEMES):
            return cls(postgres_url=url)
        raise ConfigError("GATEWAY_SYNC_STATE_URL: expected sqlite:///path or postgresql://user@host/db, "
                          f"got {redact(url.split('://', 1)[0])}://...")

    def describe(self) -> str:
        return "PostgreSQL (scope per shop)" if self.postgres_url else f"SQLite in {self.directory}"


@contextmanager
def open_state(location: StateLocation, scope: Scope, *, workers: int = 4, lock: bool = True,
               dry_run: bool = False,
               on_lease_lost: Callable[[], None] | None = None) -> Iterator[StateStore]:
    """The scope's store, locked for this run: `LockHeld` (exit 4) when another run has it.

    `lock=False` only reads (`state show` while a run may be going on). `dry_run=True`: every
    change the run makes is dropped at the end (SQLite rolls back, PostgreSQL gets an overlay).
    """
    if location.postgres_url:
        state = PostgresState.open(location.postgres_url, scope, workers)
        shown: StateStore = DryRunOverlay(state) if dry_run else state
        try:
            if lock:
                with PgLease(state.pool, state.scope_id, on_lost=on_lease_lost):
                    yield shown
            else:
                yield shown
        finally:
            state.close()
        return
    assert location.directory is not None
    path = state_file(location.directory, scope.platform, scope.source_shop, scope.gateway_url, scope.shop_guid)
    with ExitStack() as stack:
        try:
            if lock:
                stack.enter_context(ShopLock(path))
        except OSError as exc:
            raise unwritable(location.directory, exc) from None
        store = SqliteState(path, dry_run=dry_run)
        stack.callback(store.close)
        yield store


def unwritable(directory: Path, exc: OSError) -> ConfigError:
    return ConfigError(f"GATEWAY_SYNC_STATE_DIR: cannot write to {directory} ({exc.strerror or exc}); "
                       f"give uid {os.getuid()} write access to it, or point the setting elsewhere")
