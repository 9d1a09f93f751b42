"""The connector's settings, declared once for the CLI and checked once for the connector."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gwsync.connector import Setting
from gwsync.errors import ConfigError

from .csv_feed import normalise_delimiter, normalise_encoding

FORMATS = ("google", "csv")

SETTINGS = (
    Setting("source", "FEED_SOURCE", "Feed file path or http(s) URL (Google Merchant XML or CSV)"),
    Setting("format", "FEED_FORMAT", "google or csv; detected from the name or content when empty",
            required=False),
    Setting("username", "FEED_USERNAME", "User name for an HTTP feed behind Basic auth",
            credential=True, required=False),
    Setting("password", "FEED_PASSWORD", "Password for an HTTP feed behind Basic auth",
            secret=True, credential=True, required=False),
    Setting("vat", "FEED_VAT", "VAT rate (%) of items that do not state their own",
            required=False, default="23", kind="int"),
    Setting("default_stock", "FEED_DEFAULT_STOCK", "Stock of an available item that states no quantity",
            required=False, default="1", kind="int"),
    Setting("csv_mapping", "FEED_CSV_MAPPING", "TOML file naming the CSV columns (default: field names)",
            required=False, kind="path"),
    Setting("csv_delimiter", "FEED_CSV_DELIMITER", "CSV delimiter: ; , tab or auto",
            required=False, default="auto"),
    Setting("csv_encoding", "FEED_CSV_ENCODING", "CSV encoding: utf-8, cp1250 or auto (UTF-8, else cp1250)",
            required=False, default="auto"),
    Setting("shop_id", "FEED_SHOP_ID", "Stable name of this feed in source ids (default: from FEED_SOURCE)",
            required=False),
)


@dataclass(frozen=True)
class FeedConfig:
    source: str
    format: str | None = None  # None: detect
    username: str | None = None
    password: str | None = None
    vat: int = 23
    default_stock: int = 1
    csv_mapping: str | None = None
    csv_delimiter: str | None = None  # None: detect
    csv_encoding: str = "auto"  # utf-8, cp1250, or auto: UTF-8 until a line is not
    shop_id: str | None = None

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> FeedConfig:
        def text(key: str) -> str | None:
            value = config.get(key)
            return str(value).strip() or None if value is not None else None

        source = text("source")
        if not source:
            raise ConfigError("FEED_SOURCE: give the feed's file path or http(s) URL")
        if text("password") and not text("username"):
            raise ConfigError("FEED_PASSWORD is set but FEED_USERNAME is empty")
        return cls(
            source=source, format=_format(text("format")), username=text("username"),
            password=None if config.get("password") is None else str(config["password"]),
            vat=_int(config.get("vat"), 23, "FEED_VAT", 0, 100),
            default_stock=_int(config.get("default_stock"), 1, "FEED_DEFAULT_STOCK", 0, 10**9),
            csv_mapping=text("csv_mapping"), csv_delimiter=normalise_delimiter(config.get("csv_delimiter")),
            csv_encoding=normalise_encoding(text("csv_encoding")), shop_id=text("shop_id"),
        )


def _format(value: str | None) -> str | None:
    if value is None or value.lower() == "auto":
        return None
    if value.lower() not in FORMATS:
        raise ConfigError(f"FEED_FORMAT: {value!r} is not a format; use google, csv or leave it empty")
    return value.lower()


def _int(value: Any, default: int, env: str, low: int, high: int) -> int:
    if value is None or str(value).strip() == "":
        return default
    try:
        number = int(str(value).strip().rstrip("%"))
    except ValueError:
        raise ConfigError(f"{env}: {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(f"{env}: {number} is out of range {low}..{high}")
    return number
