"""`serve` stopped by SIGTERM (a pod ending, `docker stop`, `systemctl stop`): a clean stop, exit 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import requests

SERVICE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gwsync.stock.queue import EventQueue
    from gwsync.stock.serve import serve_forever
    from gwsync.stock.service import StockService

    class NoShop:
        relative = False
        def read(self, target): return 0
        def write(self, target, quantity): pass
        def add(self, target, delta): pass

    service = StockService(EventQueue(Path(sys.argv[1])), {}, lambda guid: None, NoShop(), workers=1)
    serve_forever(service, "127.0.0.1", 0, ready=lambda url: print(url, flush=True))
    print("stopped cleanly", flush=True)
""")


def test_sigterm_stops_serve_cleanly_with_exit_0(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", SERVICE, str(tmp_path / "events.sqlite")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        with requests.Session() as gateway:  # a keep-alive connection still open, as the Gateway's would be
            assert gateway.get(f"{url}/healthz", timeout=10).status_code == 200
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopped cleanly" in out
    assert "Bad file descriptor" not in err and "Traceback" not in err
