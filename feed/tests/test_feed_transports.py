"""SFTP (paramiko's server side) and FTP/FTPS (pyftpdlib) against servers started on loopback."""

import gzip
import re
from pathlib import Path

import pytest
from gwsync.errors import EXIT_OK, AuthError, CannotRun, ConfigError
from gwsync.testing.harness import Harness
from gwsync_feed.connector import FeedConnector
from gwsync_feed.sftp import fingerprint
from gwsync_feed.source import NeedsCredentials

FIXTURES = Path(__file__).parent / "fixtures"
CENEO = (FIXTURES / "ceneo" / "offers.xml").read_bytes()
IOF = (FIXTURES / "idosell" / "demo46_shop3_full_feed_two_grouped_products.xml").read_bytes()
CSV = b"sku;name;price_gross;stock\nA;Kubek;10;1\nB;Miska;12,50;2\n"


def products(items: list) -> dict:
    return {i.product_id: i for i in items if hasattr(i, "variants")}


# --- SFTP -------------------------------------------------------------------------------------

def sftp_config(server, name: str = "offers.xml", **extra: str) -> dict:
    return {"source": server.url(name), "username": server.username, "password": server.password,
            "sftp_host_key": fingerprint(server.host_key), **extra}


def test_sftp_with_password_and_pinned_host_key(sftp_server, read):
    (sftp_server.folder / "offers.xml").write_bytes(CENEO)
    result = read(sftp_config(sftp_server))
    assert result.products["KUB-350"].stock == 12
    connector = FeedConnector(sftp_config(sftp_server))
    assert connector.shop == f"sftp://127.0.0.1:{sftp_server.port}/offers.xml"


def test_sftp_with_a_key_file_and_known_hosts(sftp_server, read, tmp_path):
    (sftp_server.folder / "full.xml.gz").write_bytes(gzip.compress(IOF))
    key_file = tmp_path / "id_ecdsa"
    sftp_server.client_key.write_private_key_file(str(key_file))
    config = {"source": sftp_server.url("full.xml.gz"), "username": sftp_server.username,
              "sftp_key_file": str(key_file), "sftp_known_hosts": sftp_server.known_hosts(tmp_path / "known")}
    assert list(read(config).products) == ["15"]


def test_sftp_never_accepts_an_unknown_host_key(sftp_server):
    (sftp_server.folder / "offers.xml").write_bytes(CENEO)
    config = {k: v for k, v in sftp_config(sftp_server).items() if k != "sftp_host_key"}
    with pytest.raises(ConfigError, match=re.escape(fingerprint(sftp_server.host_key)) + " .*FEED_SFTP_HOST_KEY"):
        FeedConnector(config).check()


def test_sftp_refuses_a_different_host_key(sftp_server, tmp_path):
    other = __import__("paramiko").ECDSAKey.generate()
    with pytest.raises(AuthError, match="does not match FEED_SFTP_HOST_KEY"):
        FeedConnector(sftp_config(sftp_server, sftp_host_key=fingerprint(other))).check()
    config = {**sftp_config(sftp_server), "sftp_host_key": None,
              "sftp_known_hosts": sftp_server.known_hosts(tmp_path / "known", other)}
    with pytest.raises(AuthError, match="differs from the one in"):
        FeedConnector(config).check()


def test_sftp_credentials(sftp_server):
    (sftp_server.folder / "offers.xml").write_bytes(CENEO)
    with pytest.raises(AuthError, match="refused the credentials") as refused:
        FeedConnector(sftp_config(sftp_server, password="wrong-" + sftp_server.password)).check()
    assert sftp_server.password not in str(refused.value)
    with pytest.raises(NeedsCredentials, match="SFTP needs a user name"):
        FeedConnector({**sftp_config(sftp_server), "username": None, "password": None}).check()
    with pytest.raises(ConfigError, match="no file /missing.xml"):
        FeedConnector(sftp_config(sftp_server, "missing.xml")).check()


def test_sftp_feed_through_the_cli_twice(sftp_server, tmp_path):
    (sftp_server.folder / "offers.xml").write_bytes(CENEO)
    with Harness(FeedConnector, sftp_config(sftp_server), tmp_path) as gw:
        first = gw.cli(["import"])
        assert "created 4" in first.stdout, first.output
        second = gw.cli(["import"])
        assert "created 0, updated 0, unchanged 4" in second.stdout
        assert sftp_server.password not in first.output + second.output


# --- FTP and FTPS --------------------------------------------------------------------------------

def ftp_config(server, name: str, scheme: str = "ftp", **extra: str) -> dict:
    return {"source": server.url(name, scheme), "username": server.username, "password": server.password,
            **extra}


def test_ftp_csv(ftp_server, read):
    (ftp_server.folder / "export.csv").write_bytes(CSV)
    result = read(ftp_config(ftp_server, "export.csv"))
    assert sorted(result.products) == ["A", "B"]
    assert FeedConnector(ftp_config(ftp_server, "export.csv")).check().endswith("CSV, first item 'Kubek'")


def test_ftp_credentials_and_missing_file(ftp_server):
    (ftp_server.folder / "export.csv").write_bytes(CSV)
    with pytest.raises(AuthError, match="refused the credentials"):
        FeedConnector(ftp_config(ftp_server, "export.csv", password="nope-123")).check()
    with pytest.raises(NeedsCredentials, match="needs a user name and password"):
        FeedConnector({"source": ftp_server.url("export.csv")}).check()
    with pytest.raises(ConfigError, match="will not send the file"):
        FeedConnector(ftp_config(ftp_server, "missing.csv")).check()


def test_ftps_explicit_tls_with_the_hosts_ca(ftps_server, read):
    (ftps_server.folder / "full.xml").write_bytes(IOF)
    result = read(ftp_config(ftps_server, "full.xml", "ftps", ca_file=ftps_server.ca_file))
    assert list(result.products) == ["15"]


def test_ftps_certificate_is_verified(ftps_server):
    (ftps_server.folder / "full.xml").write_bytes(IOF)
    with pytest.raises(CannotRun, match="TLS with the FTP server failed .*FEED_CA_FILE"):
        FeedConnector(ftp_config(ftps_server, "full.xml", "ftps")).check()


def test_ftps_feed_through_the_cli(ftps_server, tmp_path):
    (ftps_server.folder / "full.xml").write_bytes(IOF)
    config = ftp_config(ftps_server, "full.xml", "ftps", ca_file=ftps_server.ca_file)
    with Harness(FeedConnector, config, tmp_path) as gw:
        result = gw.cli(["import"])
        assert result.exit_code == EXIT_OK, result.output
        assert "created 10" in result.stdout


# --- every format over every transport ------------------------------------------------------------

def xlsx_bytes() -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    for row in [["sku", "name", "price_gross", "stock"], ["A", "Kubek", 10, 1], ["B", "Miska", 12.5, 2]]:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOGLE = (b'<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>A</g:id>'
          b"<title>Kubek</title><g:price>10 PLN</g:price></item></channel></rss>")
FORMATS = {"google": (GOOGLE, {"A"}), "ceneo": (CENEO, {"KUB-350", "BLZ-51-M", "BLZ-51-L", "PRE-1"}),
           "iof": (IOF, {"15"}), "csv": (CSV, {"A", "B"}), "xlsx": (xlsx_bytes(), {"A", "B"})}


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("transport", ["sftp", "ftp", "http"])
def test_every_format_over_every_transport(fmt, transport, request, read):
    data, expected = FORMATS[fmt]
    if transport == "sftp":
        sftp_server = request.getfixturevalue("sftp_server")
        (sftp_server.folder / "feed").write_bytes(data)
        config = sftp_config(sftp_server, "feed")
    elif transport == "ftp":
        ftp_server = request.getfixturevalue("ftp_server")
        (ftp_server.folder / "feed").write_bytes(data)
        config = ftp_config(ftp_server, "feed")
    else:
        import responses

        with responses.RequestsMock() as mock:
            mock.get("https://shop.example.pl/feed", body=data)
            assert set(read({"source": "https://shop.example.pl/feed"}).products) == expected
        return
    assert set(read(config).products) == expected
