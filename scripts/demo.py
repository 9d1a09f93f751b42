"""`make demo`: a local sandbox Gateway, the sample feed imported into it, a page to look at.

The sandbox keeps running after the demo (so the page stays up); `make demo-stop` (and
`make clean`) stops it. A second `make demo` reuses the sandbox and the state, so it
writes nothing. A sandbox already answering on the port is reused only when it holds the
demo shop; otherwise the demo starts its own on a free port.

Environment: DEMO_PORT (default 8765), DEMO_DIR (default .demo in the repository),
DEMO_FEED (default feed/examples/demo.xml).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = Path(os.environ.get("DEMO_DIR") or ROOT / ".demo").resolve()
BIN = Path(sys.executable).parent
PORT = int(os.environ.get("DEMO_PORT", "8765"))
FEED = Path(os.environ.get("DEMO_FEED") or ROOT / "feed" / "examples" / "demo.xml")
PID_FILE = DEMO / "sandbox.pid"
URL_FILE = DEMO / "sandbox.url"
SHOP_FILE = DEMO / "shop.env"
DB = DEMO / "gateway.sqlite"


def shops_at(url: str) -> set[str] | None:
    """The shop GUIDs a sandbox at `url` holds; None when nothing (or no sandbox) answers there."""
    try:
        with urllib.request.urlopen(f"{url}/_sandbox/shops", timeout=1) as response:
            return {shop["guid"] for shop in json.load(response)["shops"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise SystemExit("no free port for the sandbox")


def ensure_sandbox(guid: str) -> str:
    """A sandbox holding the demo shop: the one already running, or a new one."""
    saved = URL_FILE.read_text().strip() if URL_FILE.exists() else None
    for url in dict.fromkeys(filter(None, (saved, f"http://127.0.0.1:{PORT}"))):
        if guid in (shops_at(url) or set()):
            return url
    port = free_port(PORT)
    if port != PORT:
        print(f"port {PORT} is taken by something else; the demo sandbox uses port {port}")
    url = f"http://127.0.0.1:{port}"
    with (DEMO / "sandbox.log").open("ab") as log:
        process = subprocess.Popen(
            [str(BIN / "gateway-sandbox"), "serve", "--db", str(DB), "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    PID_FILE.write_text(str(process.pid))
    URL_FILE.write_text(url)
    for _ in range(100):
        if guid in (shops_at(url) or set()):
            return url
        if process.poll() is not None:
            sys.exit(f"the sandbox did not start; see {DEMO / 'sandbox.log'}")
        time.sleep(0.1)
    sys.exit(f"the sandbox did not answer on {url}; see {DEMO / 'sandbox.log'}")


def shop_env() -> dict[str, str]:
    if not SHOP_FILE.exists():
        made = subprocess.run([str(BIN / "gateway-sandbox"), "new-shop", "--db", str(DB),
                               "--name", "Demo shop (sample feed)"],
                              check=True, capture_output=True, text=True).stdout
        SHOP_FILE.touch(mode=0o600)
        SHOP_FILE.write_text(made)
    pairs = (line.split("=", 1) for line in SHOP_FILE.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _is_our_sandbox(pid: int) -> bool:
    """The pid file may be stale and the pid reused: only a running gateway-sandbox is stopped."""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").is_dir():  # Linux
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            return False
        alive = state != "Z"
    else:  # macOS: no /proc
        try:
            out = subprocess.run(["ps", "-p", str(pid), "-o", "stat=,command="], capture_output=True,
                                 text=True, check=False).stdout.strip()
        except OSError:
            return False
        alive, line = bool(out) and not out.startswith("Z"), out
    return alive and ("gateway-sandbox" in line or "gwsync.sandbox" in line)


def stop() -> None:
    stopped = False
    if PID_FILE.exists():
        with contextlib.suppress(ValueError):
            pid = int(PID_FILE.read_text())
            if _is_our_sandbox(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                    stopped = True
                for _ in range(50):  # wait until the port and the database are free
                    if not _is_our_sandbox(pid):
                        break
                    time.sleep(0.1)
        PID_FILE.unlink()
    URL_FILE.unlink(missing_ok=True)
    print("demo sandbox stopped" if stopped else "no demo sandbox was running")


def main() -> int:
    if "--stop" in sys.argv:
        stop()
        return 0
    DEMO.mkdir(parents=True, exist_ok=True)
    shop = shop_env()
    guid = shop["GATEWAY_SHOP_GUID"]
    url = ensure_sandbox(guid)
    env = {**os.environ, **shop, "GATEWAY_URL": url, "GATEWAY_SYNC_STATE_DIR": str(DEMO / "state"),
           "FEED_SOURCE": str(FEED), "FEED_SHOP_ID": "demo"}
    print(f"sandbox Gateway: {url}  (shop {guid})")
    result = subprocess.run([str(BIN / "gateway-feed"), "import", "--report", str(DEMO / "report.json")],
                            env=env, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        print(f"\nThe demo import failed (exit code {result.returncode}); see the lines above and "
              f"{DEMO / 'report.json'}. The sandbox is still running (make demo-stop stops it).")
        return result.returncode
    print(f"\nSee the import: {url}/shops/{guid}")
    print(f"JSON report: {DEMO / 'report.json'}   stop the sandbox: make demo-stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
