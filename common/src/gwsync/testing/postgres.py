"""A real PostgreSQL for tests: a fresh schema per test, dropped afterwards.

The server is `GWSYNC_TEST_POSTGRES` (default: the local one on 127.0.0.1:5432). When
none answers, the tests skip with one line saying so, except under CI (`CI=true`),
where a missing server fails the run: CI must test what it claims to.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("GWSYNC_TEST_POSTGRES", DEFAULT_SERVER)


def with_schema(url: str, schema: str) -> str:
    """The URL with a search_path, so every table of a run lands in `schema`."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-c search_path={schema}')}"


def _server_or_skip() -> str:
    url = server_url()
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the PostgreSQL server at {url}: {exc}")
        pytest.skip(f"no PostgreSQL server at {url} ({type(exc).__name__}); PostgreSQL tests skipped")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema."""
    import psycopg

    server = _server_or_skip()
    schema = f"gwsync_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_schema(server, schema)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
