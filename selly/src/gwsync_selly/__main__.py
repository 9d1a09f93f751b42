"""`gateway-selly`: the foundation's CLI (`import`, `check`) around the Selly connector."""

from gwsync.cli import build_cli

from .connector import SellyConnector

main = build_cli(SellyConnector)

if __name__ == "__main__":
    main()
