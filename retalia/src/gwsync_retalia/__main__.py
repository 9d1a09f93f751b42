"""`gateway-retalia`: the standard gateway-sync CLI for Retalia feeds."""

from gwsync.cli import build_cli

from .connector import RetaliaConnector

main = build_cli(RetaliaConnector)

if __name__ == "__main__":
    main()
