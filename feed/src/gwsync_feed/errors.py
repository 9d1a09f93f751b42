"""Feed errors, split by what the vendor has to do about them.

- Settings that point at the wrong thing (a missing CSV column, a file that is not
  a feed, the wrong encoding) are `gwsync.errors.ConfigError`: exit 2, fix the setting.
- A feed file that cannot be read to its end (malformed or unsafe XML, a broken CSV
  quote) is a `FeedError`: the run cannot go on. Raised part-way through a read, it
  lets the engine finish the products already read and archive nothing (exit 3);
  the next run, on a fixed or complete export, carries on.
"""

from __future__ import annotations

from gwsync.errors import CannotRun


class FeedError(CannotRun):
    """The feed cannot be read as a whole: unsafe, malformed or cut short."""
