"""gwsync.sandbox: a faithful local emulator of the Gateway API (spec Part B).

    from gwsync.sandbox import start_in_thread
    with start_in_thread(tmp_path / "gw.db", shops={guid: key_b64}) as gw:
        ...  # talk to gw.url; inspect gw.store.journal(), set gw.faults
"""

from .app import create_app
from .faults import Faults, FaultSettings
from .server import SandboxServer, start_in_thread
from .store import Store

__all__ = ["Faults", "FaultSettings", "SandboxServer", "Store", "create_app", "start_in_thread"]
