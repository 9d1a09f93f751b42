"""`gateway-clickshop`: the standard gateway-sync CLI for ClickShop feeds."""

from gwsync.cli import build_cli

from .connector import ClickShopConnector

main = build_cli(ClickShopConnector)

if __name__ == "__main__":
    main()
