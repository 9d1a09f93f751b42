"""`gateway-prestashop`: the foundation's CLI (`import`, `check`) for the PrestaShop connector."""

from __future__ import annotations

from .connector import PrestaShopConnector


def main() -> None:
    from gwsync.cli import build_cli

    build_cli(PrestaShopConnector)()


if __name__ == "__main__":
    main()
