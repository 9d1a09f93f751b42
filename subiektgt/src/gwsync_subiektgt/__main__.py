"""`gateway-subiektgt`: the foundation's CLI (`import`, `check`) for the Subiekt GT connector."""

from __future__ import annotations

from .connector import SubiektGTConnector


def main() -> None:
    from gwsync.cli import build_cli

    build_cli(SubiektGTConnector)()


if __name__ == "__main__":
    main()
