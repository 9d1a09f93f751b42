"""`docker run -i`: the signing key, the shop GUID, the feed location, then the feed's user name and password."""

from gwsync_clickshop.connector import ClickShopConnector
from gwsync_clickshop.fake import ClickShopFake
from gwsync_feed.interactive_check import assert_answers_piped_in_order


def test_answers_piped_in_order(tmp_path):
    assert_answers_piped_in_order(ClickShopConnector, ClickShopFake, tmp_path)
