"""`gateway-magento`: the foundation's CLI (`import`, `check`) for the Magento 2 connector."""

from __future__ import annotations

from .connector import MagentoConnector


def main() -> None:
    from gwsync.cli import build_cli

    build_cli(MagentoConnector)()


if __name__ == "__main__":
    main()
