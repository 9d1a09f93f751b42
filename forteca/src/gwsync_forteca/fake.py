"""A Forteca shop as the tests meet it: its Ceneo XML feed on loopback HTTP behind Basic auth."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gwsync_feed.fake as feed_fake


class FortecaFake(feed_fake.FeedFake):
    FORMAT = "ceneo"
    FEED_PATH = "/xml/ceneo.xml"


def start_fake(port: int = 0) -> FortecaFake:
    """A running fake for the Docker smoke test (gwsync.testing.smoke); lives until the process ends."""
    fake = FortecaFake(Path(tempfile.mkdtemp(prefix="forteca-fake-")))
    fake.start(port)
    return fake
