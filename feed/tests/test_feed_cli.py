"""The feed through the real CLI and engine: what a vendor sees when the file is broken part-way."""

from gwsync.errors import EXIT_CANNOT_RUN, EXIT_CONFIG, EXIT_OK
from gwsync.testing.harness import Harness
from gwsync_feed.connector import FeedConnector
from gwsync_feed.fake import rss, rss_item

ITEMS = [rss_item(id=f"K{n}", title=f"Kubek {n}", price=f"{10 + n}.00 PLN", quantity="3") for n in range(8)]


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_a_feed_broken_part_way_writes_what_was_read_and_archives_nothing(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(*ITEMS), encoding="utf-8")
    with Harness(FeedConnector, {"source": str(feed), "shop_id": "t"}, tmp_path) as gw:
        assert gw.cli(["import"]).exit_code == EXIT_OK
        # an export caught while being rewritten: the first half, then garbage
        feed.write_text(rss(*ITEMS[:4]).replace("</channel></rss>", "<item><g:id>X</item>"), encoding="utf-8")
        result = gw.cli(["import"])
        assert result.exit_code == EXIT_CANNOT_RUN, result.output
        errors = error_lines(result.stderr)
        assert len(errors) == 1 and "not well-formed XML at line" in errors[0] and "nothing was archived" in errors[0]
        assert "Traceback" not in result.output and "archived 0" in result.stdout
        assert len(gw.products()) == len(ITEMS)


def test_a_missing_local_file_exits_2_with_one_line(tmp_path):
    with Harness(FeedConnector, {"source": str(tmp_path / "none.xml")}, tmp_path) as gw:
        for command in (["import"], ["check"]):
            result = gw.cli(command)
            assert result.exit_code == EXIT_CONFIG, result.output
            assert error_lines(result.stderr) == [f"error: FEED_SOURCE: no feed file at {tmp_path / 'none.xml'} "
                                                  "(check the path and the mounted volume)"]


def test_a_local_feed_without_feed_shop_id_warns_once_that_its_path_is_its_identity(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(*ITEMS[:2]), encoding="utf-8")
    with Harness(FeedConnector, {"source": str(feed)}, tmp_path) as gw:
        first = gw.cli(["import"])
        assert first.exit_code == EXIT_OK, first.output
        warnings = [line for line in first.stderr.splitlines() if "FEED_SHOP_ID is not set" in line]
        assert len(warnings) == 1 and str(tmp_path / "feed") in warnings[0]
        named = gw.cli(["import"], env={**gw.env(), "FEED_SHOP_ID": "my-shop"})
        assert "FEED_SHOP_ID is not set" not in named.stderr


def test_version_and_help_name_the_feed_tool(tmp_path):
    with Harness(FeedConnector, {"source": str(tmp_path / "f.xml")}, tmp_path) as gw:
        version = gw.cli(["--version"]).stdout
        assert version.startswith("gateway-feed ") and "(gateway-sync-feed;" in version
        assert "Import a product feed (Google Merchant XML or CSV)" in gw.cli(["--help"]).stdout
