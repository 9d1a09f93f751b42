"""A Retalia shop as the tests meet it: its Google Merchant XML feed on loopback HTTP behind Basic auth."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gwsync_feed.fake as feed_fake


class RetaliaFake(feed_fake.FeedFake):
    FORMAT = "google"
    FEED_PATH = "/export/google.xml"


def start_fake(port: int = 0) -> RetaliaFake:
    """A running fake for the Docker smoke test (gwsync.testing.smoke); lives until the process ends."""
    fake = RetaliaFake(Path(tempfile.mkdtemp(prefix="retalia-fake-")))
    fake.start(port)
    return fake
