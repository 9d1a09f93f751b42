"""`docker run -i`: the signing key, the shop GUID, the feed location, then the feed's user name and password."""

from gwsync_retalia.connector import RetaliaConnector
from gwsync_retalia.fake import RetaliaFake
from gwsync_feed.interactive_check import assert_answers_piped_in_order


def test_answers_piped_in_order(tmp_path):
    assert_answers_piped_in_order(RetaliaConnector, RetaliaFake, tmp_path)
