"""`gateway-shoper`: the foundation's CLI (`import`, `check`) around the Shoper connector."""

from gwsync.cli import build_cli

from .connector import ShoperConnector

main = build_cli(ShoperConnector)

if __name__ == "__main__":
    main()
