"""gateway-sync shared library: Gateway client, sync engine, state, CLI and sandbox."""

__version__ = "0.1.0"
