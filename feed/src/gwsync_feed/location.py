"""Where the feed lives: a local path or an `http(s)`, `sftp` or `ftp(s)` URL, and how it is named.

Credentials never come from here into a message or an identity: `display` and
`default_shop` drop the user info and mask secret query values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gwsync.errors import ConfigError
from gwsync.kit import shop_identity
from gwsync.redact import redact

from .images import ImageResolver

SCHEMES = ("http", "https", "sftp", "ftp", "ftps")
DEFAULT_PORTS = {"http": 80, "https": 443, "sftp": 22, "ftp": 21, "ftps": 21}


@dataclass(frozen=True)
class FeedLocation:
    text: str  # FEED_SOURCE as given

    @property
    def scheme(self) -> str:
        """`file` for a path; the URL's scheme otherwise."""
        scheme = urlsplit(self.text).scheme.lower()
        if len(scheme) <= 1 or scheme == "file":  # a path, a Windows drive letter, or file:///path
            return "file"
        if scheme not in SCHEMES:
            raise ConfigError(f"FEED_SOURCE: {scheme}:// is not supported; give a file path or an "
                              "http(s)://, sftp:// or ftp(s):// URL")
        return scheme

    @property
    def remote(self) -> bool:
        return self.scheme != "file"

    @property
    def web(self) -> bool:
        return self.scheme in ("http", "https")

    @property
    def path(self) -> Path:
        """Absolute, but symlinks kept: `latest.xml -> export-0615.xml` must stay one shop."""
        text = unquote(urlsplit(self.text).path) if self.text.lower().startswith("file:") else self.text
        return Path(os.path.abspath(Path(text).expanduser()))

    @property
    def host(self) -> str:
        return (urlsplit(self.text).hostname or "").lower()

    @property
    def port(self) -> int:
        return urlsplit(self.text).port or DEFAULT_PORTS[self.scheme]

    @property
    def remote_path(self) -> str:
        return unquote(urlsplit(self.text).path) or "/"

    @property
    def url_username(self) -> str | None:
        user = urlsplit(self.text).username if self.remote else None
        return unquote(user) if user else None

    @property
    def display(self) -> str:
        """For messages: the URL without user info or secret query values."""
        if not self.remote:
            return str(self.path)
        parts = urlsplit(self.text)
        netloc = f"{self.host}:{parts.port}" if parts.port else self.host
        return redact(parts._replace(netloc=netloc).geturl())

    def url_passwords(self) -> tuple[str, ...]:
        """A password pasted into the URL (`https://user:pw@host/...`), as written and decoded."""
        password = urlsplit(self.text).password if self.remote else None
        return (password, unquote(password)) if password else ()

    def default_shop(self) -> str:
        """Stable source identity: host + path of a URL (the kit's rule), or the file's absolute path stem.

        sftp and ftp feeds keep their scheme in front: the same path on a web server is another source.
        """
        if self.remote:
            identity = shop_identity(self.text, setting="FEED_SOURCE")
            return identity if self.web else f"{self.scheme}://{identity}"
        return str(self.path.with_suffix(""))

    def resolver(self, private: bool) -> ImageResolver:
        if self.web:
            return ImageResolver(self.text, remote=True, private=private)
        if self.remote:  # images beside an sftp/ftp feed are not reachable by URL
            return ImageResolver(self.text, remote=True, relative=False)
        return ImageResolver(str(self.path.parent), remote=False)
