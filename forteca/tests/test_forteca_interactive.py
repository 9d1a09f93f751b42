"""`docker run -i`: the signing key, the shop GUID, the feed location, then the feed's user name and password."""

from gwsync_forteca.connector import FortecaConnector
from gwsync_forteca.fake import FortecaFake
from gwsync_feed.interactive_check import assert_answers_piped_in_order


def test_answers_piped_in_order(tmp_path):
    assert_answers_piped_in_order(FortecaConnector, FortecaFake, tmp_path)
