"""Feed errors: the vendor must fix the feed (or its settings), so they exit as config errors."""

from __future__ import annotations

from gwsync.errors import ConfigError


class FeedError(ConfigError):
    """The feed cannot be read as a whole: unsafe, malformed or in an unknown shape."""
