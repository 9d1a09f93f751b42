import base64
import gzip

import pytest
import requests
import responses
from gwsync.connector import ReadContext
from gwsync.errors import AuthError, ConfigError, Unreachable
from gwsync.models import ImageAccess
from gwsync.redact import MASK, redact
from gwsync_feed.connector import FeedConnector
from gwsync_feed.errors import FeedError
from gwsync_feed.fake import rss, rss_item
from gwsync_feed.location import FeedLocation
from gwsync_feed.source import ChunkIO, HttpTransport
from responses import matchers

URL = "https://Feeds.Example.pl/export/google.xml"
FEED = rss(rss_item(id="A", title="Kubek", price="5 PLN", image_link="img/a.png",
                    additional_image_link=["/img/c.png", "file:///etc/shadow", "https://cdn.pl/b.jpg"]))


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@responses.activate(assert_all_requests_are_fired=True)
def test_http_feed_with_basic_auth_is_streamed(read):
    responses.get(URL, body=FEED.encode(), match=[matchers.header_matcher(basic("shop", "s3cret-pw"))])
    result = read({"source": URL, "username": "shop", "password": "s3cret-pw"})
    product = result.products["A"]
    assert [(i.url, i.access) for i in product.images] == [
        ("https://Feeds.Example.pl/export/img/a.png", ImageAccess.AUTH),
        ("https://Feeds.Example.pl/img/c.png", ImageAccess.AUTH),
        ("https://cdn.pl/b.jpg", ImageAccess.PUBLIC),
    ]
    assert result.ctx.notes == ["images dropped: 1, e.g. item #1: image 'file:///etc/shadow': "
                                "a remote feed may not name local files"]
    assert responses.calls[0].request.headers["User-Agent"].startswith("gateway-sync/")


@responses.activate(assert_all_requests_are_fired=True)
def test_relative_images_of_an_open_http_feed_are_public(read):
    responses.get(URL, body=FEED)
    images = read({"source": URL}).products["A"].images
    assert images[0].access is ImageAccess.PUBLIC


@responses.activate
def test_401_is_an_auth_error_without_the_password():
    responses.get(URL, status=401, body="no")
    connector = FeedConnector({"source": URL, "username": "shop", "password": "wrong-pass-1"})
    with pytest.raises(AuthError, match="HTTP 401: the server refused the credentials; check FEED_USERNAME") as err:
        connector.check()
    assert "wrong-pass-1" not in str(err.value)


@responses.activate
def test_401_without_credentials_asks_for_them():
    responses.get(URL, status=401, body="<html>401</html>", content_type="text/html")
    with pytest.raises(AuthError, match="HTTP 401: the feed needs a user name and password; set FEED_USERNAME"):
        FeedConnector({"source": URL}).check()


@responses.activate
def test_html_403_points_at_a_firewall():
    responses.get(URL, status=403, body="<html>Forbidden</html>", content_type="text/html")
    with pytest.raises(AuthError, match="probably a firewall"):
        FeedConnector({"source": URL}).check()


@responses.activate
def test_404_names_the_setting():
    responses.get(URL, status=404)
    with pytest.raises(ConfigError, match="FEED_SOURCE: https://feeds.example.pl/export/google.xml not found"):
        list(FeedConnector({"source": URL}).read(ReadContext()))


@responses.activate
def test_gzip_feed_and_check_line():
    responses.get(URL + ".gz", body=gzip.compress(FEED.encode()))
    line = FeedConnector({"source": URL + ".gz"}).check()
    assert line == "feed https://feeds.example.pl/export/google.xml.gz: Google Merchant XML, first item 'Kubek'"


@responses.activate
def test_secret_query_values_are_masked_in_messages():
    responses.get("https://x.pl/feed.xml", body=FEED)
    line = FeedConnector({"source": "https://x.pl/feed.xml?token=abc123"}).check()
    assert "abc123" not in line and "token=***" in line


@pytest.mark.parametrize("body", [gzip.compress(FEED.encode() * 50)[:300], b"\x1f\x8bnot gzip at all"],
                         ids=["cut-short", "damaged"])
def test_a_bad_gzip_file_is_a_feed_error_not_a_crash(read, write_feed, body):
    with pytest.raises(FeedError, match="the gzip file is cut short or damaged"):
        read({"source": write_feed(body, "feed.xml.gz")})


def test_a_broken_download_stops_the_read():
    def chunks():
        yield b"<rss>"
        raise requests.exceptions.ChunkedEncodingError("connection reset")

    transport = HttpTransport(FeedLocation("https://x.pl/feed.xml"), client=None)  # type: ignore[arg-type]
    reader = ChunkIO(chunks(), transport._broken)
    assert reader.read(100) == b"<rss>"
    with pytest.raises(Unreachable, match="the download broke off after 5 bytes"):
        reader.read(100)


def test_fetch_image_sends_credentials_only_to_the_feed_host():
    connector = FeedConnector({"source": URL, "username": "u", "password": "p-123456"})
    with pytest.raises(ConfigError, match="only sent to the feed's own host"):
        connector.fetch_image("https://evil.example.com/a.png")


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="FEED_SOURCE: no feed file at"):
        FeedConnector({"source": str(tmp_path / "nope.xml")}).check()


@pytest.mark.parametrize("config, shop", [
    ({"source": "https://user@Shop.PL:8443/feeds/g.xml?key=1"}, "shop.pl:8443/feeds/g.xml"),
    ({"source": "/data/exports/feed.xml"}, "/data/exports/feed"),
    ({"source": "/data/exports/feed.xml", "shop_id": "sklep-demo"}, "sklep-demo"),
])
def test_shop_identity(config, shop):
    assert FeedConnector(config).shop == shop


def test_shop_identity_follows_the_configured_path_not_a_symlink_target(tmp_path):
    """`latest.xml -> export-0615.xml`, re-pointed every day, must stay one shop (else: re-create, archive)."""
    (tmp_path / "export-0615.xml").write_text(FEED, encoding="utf-8")
    (tmp_path / "export-0616.xml").write_text(FEED, encoding="utf-8")
    latest = tmp_path / "latest.xml"
    latest.symlink_to(tmp_path / "export-0615.xml")
    before = FeedConnector({"source": str(latest)}).shop
    latest.unlink()
    latest.symlink_to(tmp_path / "export-0616.xml")
    assert FeedConnector({"source": str(latest)}).shop == before == str(tmp_path / "latest")


def test_relative_source_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert FeedConnector({"source": "exports/../feed.xml"}).shop == str(tmp_path / "feed")


@pytest.mark.parametrize("config, message", [
    ({"source": ""}, "FEED_SOURCE"),
    ({"source": "f.xml", "format": "json"}, "FEED_FORMAT"),
    ({"source": "f.xml", "vat": "123"}, "FEED_VAT: 123 is out of range"),
    ({"source": "f.xml", "default_stock": "x"}, "FEED_DEFAULT_STOCK"),
    ({"source": "f.xml", "password": "p-123456"}, "FEED_USERNAME is empty"),
    ({"source": "f.xml", "csv_encoding": "latin-2"}, "FEED_CSV_ENCODING"),
    ({"source": "f.xml", "csv_delimiter": "|"}, "FEED_CSV_DELIMITER"),
])
def test_settings_are_checked(config, message):
    with pytest.raises(ConfigError, match=message):
        FeedConnector(config)


def test_settings_declare_env_vars_and_secrets():
    settings = {s.key: s for s in FeedConnector.settings}
    assert settings["source"].env == "FEED_SOURCE" and settings["source"].required
    assert settings["password"].secret and settings["password"].credential and settings["username"].credential
    assert not any(s.required for k, s in settings.items() if k != "source")


@responses.activate
def test_a_password_in_the_feed_url_never_reaches_a_message():
    """Vendors paste `https://user:pw@host/feed.xml`; a failed GET quotes the URL it tried."""
    source = "http://bob:Url%2BPass-77@127.0.0.1:9/feed.xml"
    responses.get("http://127.0.0.1:9/feed.xml", body=requests.ConnectionError("refused"))
    with pytest.raises(Unreachable) as err:
        FeedConnector({"source": source}).check()
    message = str(err.value)
    assert "127.0.0.1:9/feed.xml" in message  # the URL is named, its user info is not
    assert "Url%2BPass-77" not in message and "Url+Pass-77" not in message and "bob" not in message
    assert redact("Url+Pass-77") == MASK  # and the password is registered for every later log line
