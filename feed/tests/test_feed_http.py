"""HTTP specifics: conditional GET (a 304 reads and writes nothing), credentials asked on a 401."""

import pytest
import responses
from gwsync.connector import ReadContext
from gwsync.errors import EXIT_CANNOT_RUN, EXIT_OK
from gwsync.models import Present
from gwsync.testing.harness import Harness
from gwsync_feed.connector import FeedConnector
from gwsync_feed.fake import FeedFake, rss, rss_item
from gwsync_feed.source import Validators

URL = "https://shop.example.pl/feeds/google.xml"
FEED = rss(rss_item(id="A", title="Kubek", price="5 PLN"), rss_item(id="B", title="Miska", price="7 PLN"))


@responses.activate(assert_all_requests_are_fired=True)
def test_validators_of_a_complete_read_are_sent_next_time():
    responses.get(URL, body=FEED, headers={"ETag": '"v1"', "Last-Modified": "Mon, 30 Nov 2026 10:00:00 GMT"})
    ctx = ReadContext()
    items = list(FeedConnector({"source": URL}).read(ctx))
    assert [i.product_id for i in items] == ["A", "B"]
    saved = Validators.load(ctx.new_cursor)
    assert (saved.etag, saved.last_modified) == ('"v1"', "Mon, 30 Nov 2026 10:00:00 GMT")
    assert "If-None-Match" not in responses.calls[0].request.headers

    responses.get(URL, status=304)
    again = ReadContext(cursor=ctx.new_cursor, full=False, known_product_ids=frozenset({"A", "B"}))
    assert list(FeedConnector({"source": URL}).read(again)) == [Present(product_ids=("A", "B"))]
    sent = responses.calls[1].request.headers
    assert (sent["If-None-Match"], sent["If-Modified-Since"]) == ('"v1"', "Mon, 30 Nov 2026 10:00:00 GMT")
    assert again.new_cursor == ctx.new_cursor and "HTTP 304" in again.notes[0]


@responses.activate
def test_a_server_without_validators_leaves_no_cursor():
    responses.get(URL, body=FEED)
    ctx = ReadContext()
    list(FeedConnector({"source": URL}).read(ctx))
    assert ctx.new_cursor is None


@pytest.fixture
def fake():
    with FeedFake.running() as running:
        running.seed(6)
        yield running


def test_unchanged_feed_costs_one_request_and_no_write(fake, tmp_path):
    with Harness(FeedConnector, fake.config(), tmp_path) as gw:
        first = gw.run()
        assert first.counts["created"] == fake.expected_items()
        writes = gw.writes()
        report = gw.run()
        feed_host = fake.url.removeprefix("http://")
        assert report.stats.per_host()[feed_host] == 1 and fake.not_modified == 1
        assert report.writes == 0 and gw.writes() == writes and report.counts["unchanged"] == 0
        assert report.counts["archived"] == 0 and len(gw.products()) == fake.expected_items()
        assert any("HTTP 304" in note for note in report.notes)
        fake.change_price()
        assert gw.run().counts["updated"] == 1  # a new export: a new ETag, a full read
        assert gw.run(full=True).counts["unchanged"] == fake.expected_items()  # --full ignores the validators


def test_a_401_asks_for_user_name_and_password_when_stdin_can_answer(fake, tmp_path):
    config = {"source": fake.config()["source"], "shop_id": "shop"}
    with Harness(FeedConnector, config, tmp_path) as gw:
        result = gw.cli(["import"], input=f"{fake.USERNAME}\n{fake.password}\n")
        assert result.exit_code == EXIT_OK, result.output
        assert "FEED_USERNAME" in result.stderr and "FEED_PASSWORD" in result.stderr
        assert result.stderr.index("FEED_USERNAME") < result.stderr.index("FEED_PASSWORD")
        assert fake.password not in result.output
        assert len(gw.products()) == fake.expected_items()


def test_a_401_under_cron_is_one_line(fake, tmp_path):
    config = {"source": fake.config()["source"], "shop_id": "shop"}
    with Harness(FeedConnector, config, tmp_path) as gw:
        result = gw.cli(["import"], input="")
        assert result.exit_code == EXIT_CANNOT_RUN
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "HTTP 401: the feed needs a user name and password" in errors[0]


@responses.activate
def test_a_day_after_the_last_whole_download_the_feed_is_read_whole_again():
    responses.get(URL, body=FEED, headers={"ETag": '"v1"'})
    stale = Validators('"v1"', None, read_at=1.0).dump()
    ctx = ReadContext(cursor=stale, full=False, known_product_ids=frozenset({"A", "B"}))
    assert [i.product_id for i in FeedConnector({"source": URL}).read(ctx)] == ["A", "B"]
    assert "If-None-Match" not in responses.calls[0].request.headers
    assert Validators.load(ctx.new_cursor).read_at > 1.0
