"""`gateway-forteca`: the standard gateway-sync CLI for Forteca feeds."""

from gwsync.cli import build_cli

from .connector import FortecaConnector

main = build_cli(FortecaConnector)

if __name__ == "__main__":
    main()
