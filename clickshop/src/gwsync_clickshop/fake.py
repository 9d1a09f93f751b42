"""A ClickShop shop as the tests meet it: its IdoSell IOF 3.0 feed on loopback HTTP behind Basic auth."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gwsync_feed.fake as feed_fake


class ClickShopFake(feed_fake.FeedFake):
    FORMAT = "iof"
    FEED_PATH = "/feeds/full.xml"


def start_fake(port: int = 0) -> ClickShopFake:
    """A running fake for the Docker smoke test (gwsync.testing.smoke); lives until the process ends."""
    fake = ClickShopFake(Path(tempfile.mkdtemp(prefix="clickshop-fake-")))
    fake.start(port)
    return fake
