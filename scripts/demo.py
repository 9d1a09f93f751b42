"""`make demo`: a local sandbox Gateway, the sample feed imported into it, a page to look at.

The sandbox keeps running after the demo (so the page stays up); `make demo-stop`
stops it. A second `make demo` reuses the sandbox and the state, so it writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
BIN = Path(sys.executable).parent
PORT = int(os.environ.get("DEMO_PORT", "8765"))
URL = f"http://127.0.0.1:{PORT}"
PID_FILE = DEMO / "sandbox.pid"
SHOP_FILE = DEMO / "shop.env"


def sandbox_up() -> bool:
    try:
        with urllib.request.urlopen(f"{URL}/_sandbox/stats", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def start_sandbox() -> None:
    if sandbox_up():
        return
    log = (DEMO / "sandbox.log").open("ab")
    process = subprocess.Popen(
        [str(BIN / "gateway-sandbox"), "serve", "--db", str(DEMO / "gateway.sqlite"), "--port", str(PORT)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    PID_FILE.write_text(str(process.pid))
    for _ in range(100):
        if sandbox_up():
            return
        if process.poll() is not None:
            sys.exit(f"the sandbox did not start; see {DEMO / 'sandbox.log'}")
        time.sleep(0.1)
    sys.exit(f"the sandbox did not answer on {URL}; see {DEMO / 'sandbox.log'}")


def shop_env() -> dict[str, str]:
    if not SHOP_FILE.exists():
        made = subprocess.run([str(BIN / "gateway-sandbox"), "new-shop", "--db", str(DEMO / "gateway.sqlite")],
                              check=True, capture_output=True, text=True).stdout
        SHOP_FILE.touch(mode=0o600)
        SHOP_FILE.write_text(made)
    pairs = (line.split("=", 1) for line in SHOP_FILE.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def stop() -> None:
    if PID_FILE.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(PID_FILE.read_text()), signal.SIGTERM)
        PID_FILE.unlink()
    print("sandbox stopped")


def main() -> int:
    if "--stop" in sys.argv:
        stop()
        return 0
    DEMO.mkdir(exist_ok=True)
    start_sandbox()
    shop = shop_env()
    env = {**os.environ, **shop, "GATEWAY_URL": URL, "GATEWAY_SYNC_STATE_DIR": str(DEMO / "state"),
           "FEED_SOURCE": str(ROOT / "feed" / "examples" / "demo.xml"), "FEED_SHOP_ID": "demo"}
    print(f"sandbox Gateway: {URL}  (shop {shop['GATEWAY_SHOP_GUID']})")
    result = subprocess.run([str(BIN / "gateway-feed"), "import", "--report", str(DEMO / "report.json")],
                            env=env, stdin=subprocess.DEVNULL)
    print(f"\nSee the import: {URL}/shops/{shop['GATEWAY_SHOP_GUID']}")
    print(f"JSON report: {DEMO / 'report.json'}   stop the sandbox: make demo-stop")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
