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


# --- loopback SFTP and FTP(S) servers, started by the tests that need them ---------------------

import contextlib  # noqa: E402
import datetime as _dt  # noqa: E402
import ipaddress  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402

import paramiko  # noqa: E402


@dataclass
class SftpServer:
    port: int
    folder: Path
    host_key: paramiko.PKey
    username: str
    password: str
    client_key: paramiko.PKey

    def url(self, name: str) -> str:
        return f"sftp://127.0.0.1:{self.port}/{name}"

    def known_hosts(self, path: Path, key: paramiko.PKey | None = None) -> str:
        key = key or self.host_key
        path.write_text(f"[127.0.0.1]:{self.port} {key.get_name()} {key.get_base64()}\n")
        return str(path)


class _SshAuth(paramiko.ServerInterface):
    def __init__(self, server: SftpServer) -> None:
        self.server = server

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = (username, password) == (self.server.username, self.server.password)
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == self.server.username and key == self.server.client_key
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _ReadOnlyFolder(paramiko.SFTPServerInterface):
    def __init__(self, server: object, folder: Path, *args: object, **kwargs: object) -> None:
        super().__init__(server, *args, **kwargs)
        self.folder = folder

    def _real(self, path: str) -> Path:
        return self.folder / path.lstrip("/")

    def open(self, path: str, flags: int, attr: object) -> object:
        real = self._real(path)
        if not real.is_file():
            return paramiko.SFTP_NO_SUCH_FILE
        handle = paramiko.SFTPHandle(flags)
        handle.filename = str(real)
        handle.readfile = real.open("rb")
        return handle

    def stat(self, path: str) -> object:
        real = self._real(path)
        return paramiko.SFTPAttributes.from_stat(os.stat(real)) if real.exists() else paramiko.SFTP_NO_SUCH_FILE

    lstat = stat


@pytest.fixture
def sftp_server(tmp_path: Path):
    """paramiko's server side on 127.0.0.1, serving `folder` read-only."""
    folder = tmp_path / "sftp"
    folder.mkdir()
    server = SftpServer(0, folder, paramiko.ECDSAKey.generate(), "feeds", secrets.token_urlsafe(12),
                        paramiko.ECDSAKey.generate())
    listener = socket.create_server(("127.0.0.1", 0))
    server.port = listener.getsockname()[1]
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                transport = paramiko.Transport(conn)
                transport.add_server_key(server.host_key)
                transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _ReadOnlyFolder, folder)
                transport.start_server(server=_SshAuth(server))
            except Exception:  # a client that hung up at once: the server goes on
                conn.close()
                continue
            transports.append(transport)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    listener.close()
    for transport in transports:
        transport.close()


@dataclass
class FtpServer:
    port: int
    folder: Path
    username: str
    password: str
    ca_file: str | None = None

    def url(self, name: str, scheme: str = "ftp") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{name}"


def _self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (its own CA) and the PEM with its key, for the FTPS server."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(days=1)).not_valid_after(now + _dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    (folder / "ca.pem").write_bytes(cert_pem)
    (folder / "server.pem").write_bytes(cert_pem + key_pem)
    return str(folder / "ca.pem"), str(folder / "server.pem")


def _ftp_server(tmp_path: Path, tls: bool):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    folder = tmp_path / "ftp"
    folder.mkdir()
    server = FtpServer(0, folder, "feeds", secrets.token_urlsafe(12))
    authorizer = DummyAuthorizer()
    authorizer.add_user(server.username, server.password, str(folder), perm="elr")
    base = TLS_FTPHandler if tls else FTPHandler
    handler = type("Handler", (base,), {"authorizer": authorizer, "passive_ports": None})
    if tls:
        server.ca_file, handler.certfile = _self_signed(tmp_path)
        handler.tls_control_required = handler.tls_data_required = True
    ftpd = ThreadedFTPServer(("127.0.0.1", 0), handler)
    server.port = ftpd.address[1]

    def serve() -> None:
        with contextlib.suppress(OSError, ValueError):  # the sockets closed under it by close_all()
            ftpd.serve_forever(timeout=0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, ftpd, thread


@pytest.fixture
def ftp_server(tmp_path: Path):
    server, ftpd, thread = _ftp_server(tmp_path, tls=False)
    yield server
    ftpd.close_all()
    thread.join(5)


@pytest.fixture
def ftps_server(tmp_path: Path):
    server, ftpd, thread = _ftp_server(tmp_path, tls=True)
    yield server
    ftpd.close_all()
    thread.join(5)
