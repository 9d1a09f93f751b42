"""A real PostgreSQL for tests: a fresh schema per test, dropped afterwards.

The server is `GWSYNC_TEST_POSTGRES` (default: the local one on 127.0.0.1:5432). When
none answers, the tests skip with one line saying so, except under CI (`CI=true`),
where a missing server fails the run: CI must test what it claims to.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("GWSYNC_TEST_POSTGRES", DEFAULT_SERVER)


def with_schema(url: str, schema: str) -> str:
    """The URL with a search_path, so every table of a run lands in `schema`."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-c search_path={schema}')}"


@functools.cache
def _unreachable(url: str) -> str | None:
    """Why the server does not answer, or None; asked once per test process."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return None


def _server_or_skip() -> str:
    url = server_url()
    problem = _unreachable(url)
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the PostgreSQL server at {url}: {problem}")
        pytest.skip(f"no PostgreSQL server at {url} ({problem.split(':')[0]}); PostgreSQL tests skipped")
    return url


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema, dropped afterwards (skips or fails the
    test as above when no server answers)."""
    with schema_on(_server_or_skip()) as url:
        yield url


@contextmanager
def schema_on(server: str, prefix: str = "gwsync_test") -> Iterator[str]:
    """A fresh schema on `server` (tests, benchmarks), dropped afterwards."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_schema(server, schema)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema."""
    with fresh_schema() as url:
        yield url
