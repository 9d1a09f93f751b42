"""`gateway-sellasist`: the foundation's CLI (`import`, `check`) around the Sellasist connector."""

from gwsync.cli import build_cli

from .connector import SellasistConnector

main = build_cli(SellasistConnector)

if __name__ == "__main__":
    main()
