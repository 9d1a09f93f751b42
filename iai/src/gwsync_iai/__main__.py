"""`gateway-iai` / `gateway-idosell`: the shared CLI around the IdoSell connector."""

from gwsync.cli import build_cli

from .connector import IaiConnector

main = build_cli(IaiConnector)

if __name__ == "__main__":
    main()
