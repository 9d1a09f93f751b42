"""Test kit for connectors: the standard suite, a harness around the sandbox, fake-platform helpers."""

import importlib

from .fake import FakePlatform, LoopbackServer, serve

__all__ = ["ConnectorSuite", "FakePlatform", "Harness", "LoopbackServer", "serve"]
_LAZY = {"ConnectorSuite": ".suite", "Harness": ".harness"}


def __getattr__(name: str):  # the suite needs pytest, the harness the sandbox: load them on use
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(name)
