"""Before anything is written: what the feed is (from its bytes), HTML pages, truncated files, archives."""

import gzip
import io
import zipfile
from pathlib import Path

import pytest
import responses
from gwsync.connector import ReadContext
from gwsync.errors import EXIT_CANNOT_RUN, EXIT_ITEMS_FAILED, ConfigError
from gwsync.testing.harness import Harness
from gwsync_feed.connector import FeedConnector
from gwsync_feed.errors import FeedError
from gwsync_feed.fake import rss, rss_item

CENEO = (Path(__file__).parent / "fixtures" / "ceneo" / "offers.xml").read_bytes()
IOF = (Path(__file__).parent / "fixtures" / "idosell" / "demo46_shop3_full_feed_two_grouped_products.xml").read_bytes()
GOOGLE = rss(*(rss_item(id=f"K{n}", title=f"Kubek {n}", price="10 PLN") for n in range(6))).encode()
CSV = b"sku;name;price_gross;stock\nA;Kubek;10;1\nB;Miska;12;2\nC;Talerz;15;3\n"


def check(source: str, **config: str) -> str:
    return FeedConnector({"source": source, **config}).check()


def read_all(source: str) -> list:
    return list(FeedConnector({"source": source}).read(ReadContext()))


@pytest.mark.parametrize(("content", "title"), [
    (GOOGLE, "Google Merchant XML"), (CENEO, "Ceneo XML"), (IOF, "IdoSell IOF 3.0"), (CSV, "CSV")])
def test_format_comes_from_the_content_whatever_the_name(write_feed, content, title):
    path = write_feed(content, name="export.php")
    assert check(path).startswith(f"feed {path}: {title}, first item")


def test_format_setting_overrides_detection(write_feed):
    path = write_feed(GOOGLE)
    with pytest.raises(ConfigError, match="not a Ceneo XML feed: the root element is <rss>, expected <offers>"):
        check(path, format="ceneo")


@pytest.mark.parametrize("page", [b"<!DOCTYPE html>\n<html><head><title>Logowanie</title>",
                                  b"\xef\xbb\xbf  <html lang='pl'><body>Przerwa techniczna</body></html>"])
def test_an_html_page_is_refused_in_one_line(write_feed, page):
    with pytest.raises(FeedError, match="answered with an HTML page, not a feed"):
        read_all(write_feed(page))


@responses.activate
def test_an_html_page_served_as_the_feed_url_is_refused():
    responses.get("https://shop.example.pl/feed.xml", body="<!doctype html><html><p>Maintenance</p></html>",
                  content_type="text/html")
    with pytest.raises(FeedError, match="HTML page"):
        read_all("https://shop.example.pl/feed.xml")


@pytest.mark.parametrize("content", [GOOGLE, CENEO, IOF], ids=["google", "ceneo", "iof"])
def test_a_truncated_xml_feed_is_named_so(write_feed, content):
    path = write_feed(content[: len(content) * 2 // 3])
    with pytest.raises(FeedError, match=r"the file is cut short \(truncated at line \d+\)"):
        read_all(path)


def test_a_truncated_csv_is_named_so(write_feed):
    with pytest.raises(FeedError, match="the file is cut short .line 4 stops part-way"):
        read_all(write_feed(CSV[:-6], name="feed.csv"))


def test_a_csv_whose_last_line_has_no_break_is_whole(write_feed):
    assert len(read_all(write_feed(CSV.rstrip(b"\n"), name="feed.csv"))) == 3


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_with_one_feed_inside_is_unpacked(write_feed):
    assert check(write_feed(zipped({"oferta/ceneo.xml": CENEO}), name="feed.zip")).split(": ")[1].startswith("Ceneo")


@responses.activate
def test_zip_over_http_is_spooled_and_unpacked():
    responses.get("https://shop.example.pl/feed", body=zipped({"full.xml": IOF}))
    products = [i for i in read_all("https://shop.example.pl/feed") if hasattr(i, "variants")]
    assert [p.product_id for p in products] == ["15"]


def test_zip_with_several_files_is_a_setting_error(write_feed):
    with pytest.raises(ConfigError, match="holds 2 files .*exactly one feed file"):
        check(write_feed(zipped({"a.xml": GOOGLE, "b.xml": GOOGLE}), name="feed.zip"))


def test_gzip_of_any_format_is_unpacked(write_feed):
    assert "Ceneo XML" in check(write_feed(gzip.compress(CENEO), name="feed"))


def test_a_truncated_feed_archives_nothing_and_says_so_in_one_line(tmp_path):
    feed = tmp_path / "offers.xml"
    feed.write_bytes(CENEO)
    with Harness(FeedConnector, {"source": str(feed), "shop_id": "t"}, tmp_path) as gw:
        assert gw.cli(["import"]).exit_code == EXIT_ITEMS_FAILED  # BAD-1 is skipped (EUR)
        live = len(gw.products())
        feed.write_bytes(CENEO[: len(CENEO) // 2])
        result = gw.cli(["import"])
        assert result.exit_code == EXIT_CANNOT_RUN, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "cut short" in errors[0] and "nothing was archived" in errors[0]
        assert "archived 0" in result.stdout and len(gw.products()) == live


def test_a_file_url_is_a_local_path(write_feed):
    path = write_feed(CSV, name="eksport 1.csv")
    url = Path(path).as_uri()
    assert check(url).startswith(f"feed {path}: CSV")
    assert FeedConnector({"source": url}).shop == str(Path(path).with_suffix(""))


def test_an_unknown_scheme_names_the_setting():
    with pytest.raises(ConfigError, match="FEED_SOURCE: gopher:// is not supported"):
        FeedConnector({"source": "gopher://host/feed.xml"})
