"""The connector's settings, declared once for the CLI and checked once for the connector."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gwsync.connector import Setting
from gwsync.errors import ConfigError

from .csv_feed import normalise_delimiter, normalise_encoding
from .detect import FORMATS

USERNAME = Setting("username", "FEED_USERNAME", "User name for the feed (HTTP Basic auth, SFTP, FTP)",
                   credential=True, required=False)
PASSWORD = Setting("password", "FEED_PASSWORD", "Password for the feed (or the SFTP key's passphrase)",
                   secret=True, credential=True, required=False)

SETTINGS = (
    Setting("source", "FEED_SOURCE", "Feed location: a file path or an http(s)://, sftp:// or ftp(s):// URL",
            credential=True),
    Setting("format", "FEED_FORMAT", "google, ceneo, iof, csv or xlsx; detected from the content when empty",
            required=False),
    USERNAME,
    PASSWORD,
    Setting("sftp_key_file", "FEED_SFTP_KEY_FILE", "Private key file for an sftp:// feed", required=False),
    Setting("sftp_known_hosts", "FEED_SFTP_KNOWN_HOSTS", "known_hosts file holding the SFTP server's key",
            required=False),
    Setting("sftp_host_key", "FEED_SFTP_HOST_KEY", "Pinned SFTP host key fingerprint, SHA256:...",
            required=False),
    Setting("ca_file", "FEED_CA_FILE", "CA certificates (PEM) for an https:// or ftps:// host with its own CA",
            required=False),
    Setting("vat", "FEED_VAT", "VAT rate (%) of items that do not state their own",
            required=False, default="23", kind="int"),
    Setting("default_stock", "FEED_DEFAULT_STOCK", "Stock of an available item that states no quantity",
            required=False, default="1", kind="int"),
    Setting("group_by", "FEED_GROUP_BY", "Ceneo: attribute naming an item's variant group; CSV/XLSX: such a column",
            required=False),
    Setting("options", "FEED_OPTIONS", "Ceneo: attributes that tell variants apart (comma-separated)",
            required=False, default="Kolor, Rozmiar"),
    Setting("csv_mapping", "FEED_CSV_MAPPING", "TOML file naming the CSV/XLSX columns (default: field names)",
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
    sftp_key_file: str | None = None
    sftp_known_hosts: str | None = None
    sftp_host_key: str | None = None
    ca_file: str | None = None
    vat: int = 23
    default_stock: int = 1
    group_by: str | None = None
    options: tuple[str, ...] = ("Kolor", "Rozmiar")
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
            raise ConfigError("FEED_SOURCE: give the feed's file path or its http(s)://, sftp:// or ftp(s):// URL")
        if text("password") and not text("username") and not text("sftp_key_file"):
            raise ConfigError("FEED_PASSWORD is set but FEED_USERNAME is empty")
        options = text("options")
        return cls(
            source=source, format=_format(text("format")), username=text("username"),
            password=None if config.get("password") is None else str(config["password"]),
            sftp_key_file=text("sftp_key_file"), sftp_known_hosts=text("sftp_known_hosts"),
            sftp_host_key=text("sftp_host_key"), ca_file=text("ca_file"),
            vat=_int(config.get("vat"), 23, "FEED_VAT", 0, 100),
            default_stock=_int(config.get("default_stock"), 1, "FEED_DEFAULT_STOCK", 0, 10**9),
            group_by=text("group_by"),
            options=tuple(o.strip() for o in options.split(",") if o.strip()) if options else cls.options,
            csv_mapping=text("csv_mapping"), csv_delimiter=normalise_delimiter(config.get("csv_delimiter")),
            csv_encoding=normalise_encoding(text("csv_encoding")), shop_id=text("shop_id"),
        )


def _format(value: str | None) -> str | None:
    if value is None or value.lower() == "auto":
        return None
    if value.lower() not in FORMATS:
        raise ConfigError(f"FEED_FORMAT: {value!r} is not a format; use {', '.join(FORMATS)} or leave it empty")
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
