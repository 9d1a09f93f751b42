"""`ftp://` and `ftps://` (explicit TLS: `AUTH TLS`, then a protected data channel): ftplib.

An `ftps://` server's certificate is verified against the system's CAs, or
`FEED_CA_FILE` for a host with its own CA. Plain `ftp://` sends the password in
clear text: the README says so, and the log warns once per run.
"""

from __future__ import annotations

import ftplib
import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gwsync.errors import AuthError, CannotRun, ConfigError, Unreachable

from .location import FeedLocation
from .source import Download, NeedsCredentials, Validators
from .streams import ReadIO, buffered

log = logging.getLogger(__name__)
TIMEOUT = 30.0


@dataclass(frozen=True)
class FtpCredentials:
    username: str | None
    password: str | None = None
    ca_file: str | None = None


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"FEED_CA_FILE: cannot use {ca_file}: {exc}") from None


class FtpTransport:
    def __init__(self, location: FeedLocation, credentials: FtpCredentials) -> None:
        self.location = location
        self.credentials = credentials
        self.tls = location.scheme == "ftps"

    @contextmanager
    def open(self, validators: Validators | None) -> Iterator[Download]:
        where = self.location.display
        with self._session() as ftp:
            try:
                ftp.voidcmd("TYPE I")
                conn = ftp.transfercmd(f"RETR {self.location.remote_path}")
            except ftplib.error_perm as exc:
                raise ConfigError(f"FEED_SOURCE: {where}: the server will not send the file ({exc})") from None
            except (OSError, EOFError, ftplib.Error) as exc:
                raise Unreachable(f"feed {where}: FTP transfer could not start: {exc}") from None
            with conn, conn.makefile("rb") as data:
                yield Download(buffered(ReadIO(data.read, self._broken)))
                if data.read(1):  # the reader stopped early (a check): nothing to confirm
                    return
                if isinstance(conn, ssl.SSLSocket):
                    conn.unwrap()
            try:
                ftp.voidresp()  # "226 Transfer complete", or the reason it is not
            except (ftplib.Error, OSError, EOFError) as exc:
                raise Unreachable(f"feed {where}: the FTP transfer did not complete: {exc}") from None

    @contextmanager
    def _session(self) -> Iterator[ftplib.FTP]:
        where = self.location.display
        ftp = ftplib.FTP_TLS(context=tls_context(self.credentials.ca_file)) if self.tls else ftplib.FTP()
        try:
            try:
                ftp.connect(self.location.host, self.location.port, timeout=TIMEOUT)
                if isinstance(ftp, ftplib.FTP_TLS):
                    ftp.auth()
            except ssl.SSLError as exc:
                raise CannotRun(f"feed {where}: TLS with the FTP server failed ({exc.reason or exc}); "
                                "if the host uses its own certificate authority, set FEED_CA_FILE") from None
            except (OSError, EOFError, ftplib.Error) as exc:
                raise Unreachable(f"feed {where}: cannot connect: {exc}") from None
            self._login(ftp)
            yield ftp
        finally:
            _close(ftp)

    def _login(self, ftp: ftplib.FTP) -> None:
        creds, where = self.credentials, self.location.display
        username = creds.username or self.location.url_username
        if not self.tls and username:
            log.warning("feed %s: plain ftp:// sends the password unencrypted; use ftps:// if the host offers it",
                        where)
        try:
            ftp.login(username or "anonymous", creds.password or "")
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
        except ftplib.error_perm as exc:
            if not str(exc).startswith("530"):
                raise CannotRun(f"feed {where}: FTP login failed: {exc}") from None
            if not username or not creds.password:
                raise NeedsCredentials(f"feed {where}: the FTP server needs a user name and password; "
                                       "set FEED_USERNAME and FEED_PASSWORD") from None
            raise AuthError(f"feed {where}: the FTP server refused the credentials; "
                            "check FEED_USERNAME and FEED_PASSWORD") from None
        except (OSError, EOFError, ftplib.Error) as exc:
            raise Unreachable(f"feed {where}: FTP login failed: {exc}") from None

    def _broken(self, exc: Exception) -> Exception | None:
        if isinstance(exc, (OSError, EOFError)):
            return Unreachable(f"feed {self.location.display}: the FTP transfer broke off part-way")
        return None


def _close(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()
