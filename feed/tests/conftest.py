"""Fixtures of the feed tests: a feed writer and a one-call read with a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gwsync.connector import ReadContext
from gwsync.models import Product, Skipped
from gwsync_feed.connector import FeedConnector

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


@dataclass
class ReadResult:
    items: list
    ctx: ReadContext

    @property
    def products(self) -> dict[str, Product]:
        return {i.product_id: i for i in self.items if isinstance(i, Product)}

    @property
    def skipped(self) -> list[Skipped]:
        return [i for i in self.items if isinstance(i, Skipped)]


@pytest.fixture
def examples() -> Path:
    return Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def read():
    def read_all(config: dict) -> ReadResult:
        connector = FeedConnector(config, clock=lambda: NOW)
        ctx = ReadContext()
        try:
            return ReadResult(list(connector.read(ctx)), ctx)
        finally:
            connector.close()
    return read_all


@pytest.fixture
def write_feed(tmp_path: Path):
    def write(text: str | bytes, name: str = "feed.xml", encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        return str(path)
    return write
