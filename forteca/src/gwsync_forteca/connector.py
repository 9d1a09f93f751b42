"""Forteca: no public API is known (../shared/platforms/forteca.md), so the shop's product feed is read.

Everything but the name is the feed connector's: the same settings (`FEED_SOURCE`,
`FEED_USERNAME`, ...), formats and transports, so a vendor moving between the
feed tools changes only the command. Products carry `data.source.platform =
"forteca"`. The feed to ask for is Ceneo XML (see README.md).
"""

from __future__ import annotations

import gwsync_feed.connector as feed  # the module, not the class: one Connector class here


class FortecaConnector(feed.FeedConnector):
    platform = "forteca"
    title = "Forteca (product feed)"
