"""Where the feed lives (a file or an http(s) URL) and how its bytes are streamed.

Nothing here reads the whole feed: files are read from disk in chunks and HTTP
bodies are streamed (`stream=True`, `iter_content`) into the parser. A gzip
feed (`.xml.gz`, or gzip bytes under any name) is unpacked on the fly.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests
from gwsync.errors import AuthError, ConfigError, Unreachable
from gwsync.http import HttpClient, http_error, looks_like_firewall
from gwsync.redact import redact

from .errors import FeedError
from .images import ImageResolver

CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_FORMAT_BY_SUFFIX = {".xml": "google", ".rss": "google", ".atom": "google",
                     ".csv": "csv", ".tsv": "csv", ".txt": "csv"}


@dataclass(frozen=True)
class FeedLocation:
    text: str  # FEED_SOURCE as given

    @property
    def remote(self) -> bool:
        return self.text.lower().startswith(("http://", "https://"))

    @property
    def path(self) -> Path:
        """Absolute, but symlinks kept: `latest.xml -> export-0615.xml` must stay one shop."""
        return Path(os.path.abspath(Path(self.text).expanduser()))

    @property
    def display(self) -> str:
        """For messages: the URL without user info or secret query values."""
        if not self.remote:
            return str(self.path)
        parts = urlsplit(self.text)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return redact(parts._replace(netloc=netloc).geturl())

    def url_passwords(self) -> tuple[str, ...]:
        """A password pasted into the URL (`https://user:pw@host/...`), as written and decoded."""
        password = urlsplit(self.text).password if self.remote else None
        return (password, unquote(password)) if password else ()

    def default_shop(self) -> str:
        """Stable source identity: host + path of a URL, or the file's absolute path stem."""
        if self.remote:
            parts = urlsplit(self.text)
            port = f":{parts.port}" if parts.port else ""
            return f"{(parts.hostname or '').lower()}{port}{parts.path}"
        return str(self.path.with_suffix(""))

    def format_by_name(self) -> str | None:
        name = urlsplit(self.text).path if self.remote else self.path.name
        suffixes = [s.lower() for s in Path(name).suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes.pop()
        return _FORMAT_BY_SUFFIX.get(suffixes[-1]) if suffixes else None

    def resolver(self, private: bool) -> ImageResolver:
        if self.remote:
            return ImageResolver(self.text, remote=True, private=private)
        return ImageResolver(str(self.path.parent), remote=False)


def format_by_content(stream: io.BufferedReader) -> str:
    """XML starts with `<` (after a BOM and blanks); anything else is taken as CSV."""
    head = stream.peek(4096)[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "google" if head.startswith(b"<") else "csv"


@contextmanager
def open_feed(location: FeedLocation, client: HttpClient | None) -> Iterator[io.BufferedReader]:
    """A peekable binary stream of the feed's (unpacked) bytes."""
    if location.remote:
        assert client is not None, "a remote feed needs an HTTP client"
        with _open_url(location, client) as stream:
            yield _ungzip(stream, location.display)
    else:
        with _open_file(location) as stream:
            yield _ungzip(stream, location.display)


@contextmanager
def _open_file(location: FeedLocation) -> Iterator[io.BufferedReader]:
    path = location.path
    if not path.is_file():
        raise ConfigError(f"FEED_SOURCE: no feed file at {path} (check the path and the mounted volume)")
    try:
        handle = io.BufferedReader(io.FileIO(path, "r"), buffer_size=CHUNK)
    except OSError as exc:
        raise ConfigError(f"FEED_SOURCE: cannot open {path}: {exc.strerror}") from None
    with handle:
        yield handle


@contextmanager
def _open_url(location: FeedLocation, client: HttpClient) -> Iterator[io.BufferedReader]:
    response = client.get(location.text, stream=True)
    try:
        _raise_for_status(response, location)
        raw = _ChunkReader(response.iter_content(CHUNK), location.display)
        yield io.BufferedReader(raw, buffer_size=CHUNK)
    finally:
        response.close()


def _raise_for_status(response: requests.Response, location: FeedLocation) -> None:
    status, where = response.status_code, f"feed {location.display}"
    if status in (401, 403):
        if looks_like_firewall(response):
            raise AuthError(f"{where}: HTTP 403 with an HTML page: probably a firewall or hosting "
                            "rule blocking this machine, not the password")
        if status == 401 and "Authorization" not in response.request.headers:
            raise AuthError(f"{where}: HTTP 401: the feed needs a user name and password; "
                            "set FEED_USERNAME and FEED_PASSWORD")
        raise AuthError(f"{where}: HTTP {status}: the server refused the credentials; "
                        "check FEED_USERNAME and FEED_PASSWORD")
    if status in (404, 410):
        raise ConfigError(f"FEED_SOURCE: {location.display} not found (HTTP {status})")
    if not 200 <= status < 300:
        raise http_error(response, where)


def _ungzip(stream: io.BufferedReader, where: str) -> io.BufferedReader:
    if stream.peek(2)[:2] == _GZIP_MAGIC:
        return io.BufferedReader(_GunzipReader(stream, where), buffer_size=CHUNK)
    return stream


class _GunzipReader(io.RawIOBase):
    """Unpacks on the fly; a cut-short or damaged archive is a feed error, not a crash."""

    def __init__(self, stream: io.BufferedReader, where: str) -> None:
        self._gzip = gzip.GzipFile(fileobj=stream, mode="rb")
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return self._gzip.readinto(buffer)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise FeedError(f"feed {self._where}: the gzip file is cut short or damaged ({exc})") from None


class _ChunkReader(io.RawIOBase):
    """A file-like view of `iter_content` chunks: the parser pulls, the download follows."""

    def __init__(self, chunks: Iterator[bytes], where: str) -> None:
        self._chunks = chunks
        self._where = where
        self._pending = memoryview(b"")
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._next_chunk()
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self.received += count
        return count

    def _next_chunk(self) -> bytes | None:
        try:
            return next(self._chunks)
        except StopIteration:
            return None
        except requests.RequestException:
            raise Unreachable(f"feed {self._where}: the download broke off after "
                              f"{self.received} bytes") from None
