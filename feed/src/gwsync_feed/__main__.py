"""`gateway-feed`: the standard gateway-sync CLI for the feed connector."""

from gwsync.cli import build_cli

from .connector import FeedConnector

main = build_cli(FeedConnector)

if __name__ == "__main__":
    main()
