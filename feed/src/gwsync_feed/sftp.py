"""`sftp://host[:port]/path`: paramiko, with the server's host key checked before any credential is sent.

The host key must match a known_hosts file (`FEED_SFTP_KNOWN_HOSTS`) or a pinned
fingerprint (`FEED_SFTP_HOST_KEY`, `SHA256:...` as `ssh-keygen -lf` prints it).
An unknown key is never accepted: the message shows the server's fingerprint so
that the vendor can confirm it with the host and pin it.
"""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paramiko
from gwsync.errors import AuthError, CannotRun, ConfigError, Unreachable

from .location import FeedLocation
from .source import Download, NeedsCredentials, Validators
from .streams import ReadIO, buffered

TIMEOUT = 30.0
_READ = 32 * 1024  # one SFTP read request; no prefetch, which would buffer the whole file


@dataclass(frozen=True)
class SftpCredentials:
    username: str | None
    password: str | None = None
    key_file: str | None = None
    known_hosts: str | None = None
    host_key: str | None = None  # SHA256:... fingerprint


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class SftpTransport:
    def __init__(self, location: FeedLocation, credentials: SftpCredentials) -> None:
        self.location = location
        self.credentials = credentials

    @contextmanager
    def open(self, validators: Validators | None) -> Iterator[Download]:
        with self._session() as sftp:
            try:
                handle = sftp.open(self.location.remote_path, "rb")
            except FileNotFoundError:
                raise ConfigError(f"FEED_SOURCE: no file {self.location.remote_path} on "
                                  f"{self.location.display}") from None
            except PermissionError:
                raise AuthError(f"feed {self.location.display}: the SFTP user may not read the file") from None
            with handle:
                yield Download(buffered(ReadIO(handle.read, self._broken)))

    @contextmanager
    def _session(self) -> Iterator[paramiko.SFTPClient]:
        where = self.location.display
        try:
            sock = socket.create_connection((self.location.host, self.location.port), timeout=TIMEOUT)
        except OSError as exc:
            raise Unreachable(f"feed {where}: cannot connect: {exc.strerror or exc}") from None
        transport = paramiko.Transport(sock)
        try:
            try:
                transport.start_client(timeout=TIMEOUT)
            except (paramiko.SSHException, OSError) as exc:
                raise Unreachable(f"feed {where}: SSH handshake failed: {exc}") from None
            self._verify(transport.get_remote_server_key())
            self._authenticate(transport)
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise CannotRun(f"feed {where}: the server offers no SFTP")
            sftp.get_channel().settimeout(TIMEOUT)
            with sftp:
                yield sftp
        finally:
            transport.close()

    def _verify(self, key: paramiko.PKey) -> None:
        where, actual = self.location.display, fingerprint(key)
        pinned = (self.credentials.host_key or "").strip()
        if pinned:
            if pinned.removesuffix("=") != actual:
                raise AuthError(f"feed {where}: the SFTP host key {actual} does not match "
                                f"FEED_SFTP_HOST_KEY {pinned}: refusing to connect")
            return
        if self.credentials.known_hosts:
            self._check_known_hosts(key, actual)
            return
        raise ConfigError(f"feed {where}: the SFTP server's host key is {actual} ({key.get_name()}); "
                          "confirm it with the host and set FEED_SFTP_HOST_KEY to it, or set "
                          "FEED_SFTP_KNOWN_HOSTS to a known_hosts file")

    def _check_known_hosts(self, key: paramiko.PKey, actual: str) -> None:
        where, path = self.location.display, Path(self.credentials.known_hosts or "").expanduser()
        try:
            known = paramiko.HostKeys(str(path))
        except (OSError, paramiko.SSHException) as exc:
            raise ConfigError(f"FEED_SFTP_KNOWN_HOSTS: cannot read {path}: {exc}") from None
        host = self.location.host
        name = host if self.location.port == 22 else f"[{host}]:{self.location.port}"
        entry = known.lookup(name)
        if not entry or key.get_name() not in entry:
            raise ConfigError(f"feed {where}: {name} is not in {path} with a {key.get_name()} key; "
                              f"its key is {actual}: add it there or set FEED_SFTP_HOST_KEY")
        if entry[key.get_name()] != key:
            raise AuthError(f"feed {where}: the SFTP host key {actual} differs from the one in {path}: "
                            "refusing to connect (the server was replaced, or someone is in between)")

    def _authenticate(self, transport: paramiko.Transport) -> None:
        creds, where = self.credentials, self.location.display
        username = creds.username or self.location.url_username
        if not username or not (creds.password or creds.key_file):
            raise NeedsCredentials(f"feed {where}: SFTP needs a user name and a password or key file; "
                                   "set FEED_USERNAME and FEED_PASSWORD or FEED_SFTP_KEY_FILE")
        try:
            if creds.key_file:
                transport.auth_publickey(username, _load_key(creds.key_file, creds.password))
            else:
                transport.auth_password(username, creds.password or "")
        except paramiko.AuthenticationException:
            raise AuthError(f"feed {where}: the SFTP server refused the credentials; check "
                            "FEED_USERNAME and FEED_PASSWORD or FEED_SFTP_KEY_FILE") from None
        except paramiko.SSHException as exc:
            raise Unreachable(f"feed {where}: SSH failed during login: {exc}") from None

    def _broken(self, exc: Exception) -> Exception | None:
        if isinstance(exc, (OSError, paramiko.SSHException, EOFError)):
            return Unreachable(f"feed {self.location.display}: the SFTP transfer broke off part-way")
        return None


def _load_key(path: str, passphrase: str | None) -> paramiko.PKey:
    """A private key file of any type paramiko reads; FEED_PASSWORD is its passphrase if it has one."""
    try:
        return paramiko.PKey.from_path(Path(path).expanduser(), passphrase.encode() if passphrase else None)
    except FileNotFoundError:
        raise ConfigError(f"FEED_SFTP_KEY_FILE: no key file at {path}") from None
    except (paramiko.SSHException, ValueError, OSError) as exc:
        raise ConfigError(f"FEED_SFTP_KEY_FILE: {path} is not a usable private key ({exc})") from None
