"""Opening the feed: a transport per kind of source, then unpacking and format detection.

Nothing here reads the whole feed: files are read in chunks, HTTP bodies, SFTP and
FTP transfers are streamed into the parser. Each transport raises
`NeedsCredentials` when the source wants a user name and password that were not
given (the connector may then ask for them), and HTTP answers a conditional GET
with `NotModified`.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import requests
from gwsync.errors import AuthError, CannotRun, ConfigError, Unreachable
from gwsync.http import HttpClient, http_error, looks_like_firewall

from .archives import Unpacked, unpack
from .detect import TITLES, sniff
from .location import FeedLocation
from .streams import CHUNK, ChunkIO, buffered

__all__ = ["ChunkIO", "FeedLocation", "NeedsCredentials", "NotModified", "Validators", "open_feed"]


class NeedsCredentials(AuthError):
    """The source asks for a user name and password and none were given."""


class NotModified(CannotRun):
    """HTTP 304: the feed did not change since the run that stored the validators."""


@dataclass(frozen=True)
class Validators:
    """What a server says identifies this version of the feed: sent back on the next run."""

    etag: str | None = None
    last_modified: str | None = None
    read_at: float | None = None  # when the feed was last downloaded whole (epoch seconds)

    def dump(self) -> str | None:
        if not (self.etag or self.last_modified):
            return None
        return json.dumps({"etag": self.etag, "last_modified": self.last_modified, "read_at": self.read_at})

    @classmethod
    def load(cls, cursor: str | None) -> Validators | None:
        try:
            data = json.loads(cursor) if cursor else None
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        return cls(data.get("etag"), data.get("last_modified"), data.get("read_at"))

    def older_than(self, age: timedelta, now: float) -> bool:
        return self.read_at is None or now - self.read_at >= age.total_seconds()

    def headers(self) -> dict[str, str]:
        sent = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {k: v for k, v in sent.items() if v}


@dataclass
class Download:
    raw: io.BufferedReader
    validators: Validators | None = None


class Transport(Protocol):
    def open(self, validators: Validators | None) -> AbstractContextManager[Download]: ...


@dataclass
class OpenFeed:
    format: str
    stream: io.BufferedReader | None  # XML or CSV bytes
    workbook: object | None  # a seekable XLSX file
    validators: Validators | None


@contextmanager
def open_feed(transport: Transport, location: FeedLocation, fmt: str | None,
              validators: Validators | None = None) -> Iterator[OpenFeed]:
    """The feed's (unpacked) bytes with the format: `fmt` if set, else detected from the content."""
    where = location.display
    with transport.open(validators) as download, unpack(download.raw, where) as unpacked:
        detected = _detect(unpacked, where)
        if fmt is not None and (fmt == "xlsx") != (detected == "xlsx"):
            raise ConfigError(f"FEED_FORMAT is {fmt}, but {where} is {TITLES[detected]}")
        yield OpenFeed(fmt or detected, unpacked.stream, unpacked.workbook, download.validators)


def _detect(unpacked: Unpacked, where: str) -> str:
    if unpacked.workbook is not None:
        return "xlsx"
    assert unpacked.stream is not None
    kind = sniff(unpacked.stream.peek(4096)[:4096], where)
    if kind == "zip":
        raise ConfigError(f"feed {where}: a zip inside a zip is not supported; unpack one level")
    return kind


class FileTransport:
    def __init__(self, location: FeedLocation) -> None:
        self.location = location

    @contextmanager
    def open(self, validators: Validators | None) -> Iterator[Download]:
        path = self.location.path
        if not path.is_file():
            raise ConfigError(f"FEED_SOURCE: no feed file at {path} (check the path and the mounted volume)")
        try:
            handle = io.BufferedReader(io.FileIO(path, "r"), buffer_size=CHUNK)
        except OSError as exc:
            raise ConfigError(f"FEED_SOURCE: cannot open {path}: {exc.strerror}") from None
        with handle:
            yield Download(handle)


class HttpTransport:
    """GET with streaming; a conditional GET when the last complete run left validators."""

    def __init__(self, location: FeedLocation, client: HttpClient, tls: dict[str, Any] | None = None) -> None:
        self.location = location
        self.client = client
        self.tls = tls or {}  # {"verify": FEED_CA_FILE} for a host with its own CA

    @contextmanager
    def open(self, validators: Validators | None) -> Iterator[Download]:
        headers = validators.headers() if validators else {}
        response = self.client.get(self.location.text, stream=True, headers=headers, **self.tls)
        try:
            if response.status_code == 304 and headers:
                raise NotModified(f"feed {self.location.display}: not modified since the last run")
            self._raise_for_status(response)
            raw = ChunkIO(response.iter_content(CHUNK), self._broken)
            yield Download(buffered(raw), Validators(response.headers.get("ETag"),
                                                     response.headers.get("Last-Modified"), time.time()))
        finally:
            response.close()

    def _broken(self, exc: Exception, received: int) -> Exception | None:
        if isinstance(exc, requests.RequestException):
            return Unreachable(f"feed {self.location.display}: the download broke off after {received} bytes")
        return None

    def _raise_for_status(self, response: requests.Response) -> None:
        status, where = response.status_code, f"feed {self.location.display}"
        if status in (401, 403):
            if looks_like_firewall(response):
                raise AuthError(f"{where}: HTTP 403 with an HTML page: probably a firewall or hosting "
                                "rule blocking this machine, not the password")
            if status == 401 and "Authorization" not in response.request.headers:
                raise NeedsCredentials(f"{where}: HTTP 401: the feed needs a user name and password; "
                                       "set FEED_USERNAME and FEED_PASSWORD")
            raise AuthError(f"{where}: HTTP {status}: the server refused the credentials; "
                            "check FEED_USERNAME and FEED_PASSWORD")
        if status in (404, 410):
            raise ConfigError(f"FEED_SOURCE: {self.location.display} not found (HTTP {status})")
        if not 200 <= status < 300:
            raise http_error(response, where)
