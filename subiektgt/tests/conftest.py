"""Fixtures: a Subiekt GT company database (SQLite, real table and column names) per test."""

from __future__ import annotations

import pytest

from gwsync_subiektgt.fake import SubiektFake


@pytest.fixture
def subiekt(tmp_path):
    with SubiektFake.running(tmp_path) as fake:
        yield fake
