"""`make demo`: a local sandbox Gateway, the sample feed imported into it, a page to look at.

Then step 2 on a small demo PrestaShop shop (the tests' fake webservice, in this process):
its import, `serve` receiving a sale made on the Gateway (the sandbox sends the signed
event) and lowering the shop's stock, and a `stock` pass showing both sides agree.

The sandbox keeps running after the demo (so the page stays up); `make demo-stop` (and
`make clean`) stops it. A second `make demo` reuses the sandbox and the state, so it
writes nothing. A sandbox already answering on the port is reused only when it holds the
demo shop; otherwise the demo starts its own on a free port.

Environment: DEMO_PORT (default 8765), DEMO_DIR (default .demo in the repository),
DEMO_FEED (default feed/examples/demo.xml).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
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
FAKE_PORT_FILE = DEMO / "prestashop.port"


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


def shop_env(path: Path = SHOP_FILE, name: str = "Demo shop (sample feed)") -> dict[str, str]:
    if not path.exists():
        made = subprocess.run([str(BIN / "gateway-sandbox"), "new-shop", "--db", str(DB), "--name", name],
                              check=True, capture_output=True, text=True).stdout
        path.touch(mode=0o600)
        path.write_text(made)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def demo_shop_port() -> int:
    """The demo PrestaShop shop's port of the last demo when it is free: its host and port are the
    shop's identity, so the same port makes it the same shop again (nothing created twice)."""
    saved = int(FAKE_PORT_FILE.read_text()) if FAKE_PORT_FILE.exists() else 0
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the shop's server binds
        try:
            sock.bind(("127.0.0.1", saved))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    FAKE_PORT_FILE.write_text(str(port))
    return port


def tool_run(env: dict[str, str], command: str) -> str | None:
    """`gateway-prestashop <command>`, quiet; its counts as one line, or None (the error is printed)."""
    report = DEMO / f"prestashop-{command}.json"
    result = subprocess.run([str(BIN / "gateway-prestashop"), command, "--quiet", "--report", str(report)],
                            env=env, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        print(f"  {command} failed (exit code {result.returncode}); see {report}")
        return None
    counts = json.loads(report.read_text())["counts"]
    return ", ".join(f"{name} {counts[name]}" for name in ("created", "updated", "unchanged") if name in counts)


def in_stock(url: str, shop: dict[str, str], guid: str | None = None) -> dict:
    """A product of the shop with stock to sell (or the one named by `guid`), as the Gateway shows it."""
    from gwsync.gateway.client import GatewayClient

    client = GatewayClient(url, shop["GATEWAY_SHOP_GUID"], base64.b64decode(shop["GATEWAY_SIGNING_KEY"]))
    try:
        return next(p for p in client.query([]) if p["guid"] == guid or (guid is None and p["stock_level"] > 0))
    finally:
        client.close()


def answers(url: str, process: subprocess.Popen) -> bool:
    for _ in range(100):
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def post(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


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
    sys.stdout.reconfigure(line_buffering=True)  # our lines and the tools' stay in order when piped
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
    return step2(url)


def step2(url: str) -> int:
    """A sale on the Gateway reaches a running `serve` and lowers the shop's stock; `stock` agrees."""
    from gwsync_prestashop.fake import GOOD_KEY, start_fake

    print("\nStep 2 (stock both ways) on a demo PrestaShop shop:")
    fake = start_fake(demo_shop_port())
    serve = None
    try:
        fake.seed(4)
        shop = shop_env(DEMO / f"prestashop-{fake.url.rsplit(':', 1)[1]}.env", "Demo PrestaShop shop (step 2)")
        env = {**os.environ, **shop, "GATEWAY_URL": url, "GATEWAY_SYNC_STATE_DIR": str(DEMO / "state"),
               "PRESTASHOP_URL": fake.url, "PRESTASHOP_API_KEY": GOOD_KEY}
        counts = tool_run(env, "import")
        if counts is None:
            return 1
        print(f"  import: {counts}")
        serve, serve_url = start_serve(env)
        if serve_url is None:
            print(f"  serve did not start; see {DEMO / 'serve.log'}")
            return 1
        product = in_stock(url, shop)
        item = (product["data"]["source"]["product_id"], product["data"]["source"].get("variant_id"))
        before = fake.shop_stock(*item)
        seconds = sell_one(url, shop["GATEWAY_SHOP_GUID"], product["guid"], serve_url,
                           lambda: fake.shop_stock(*item) != before)
        after = fake.shop_stock(*item)
        print(f"  a sale of 1 on the Gateway ({product['name']}): shop stock {before} -> {after} "
              f"in {seconds:.1f} s, through serve at {serve_url}")
        counts = tool_run(env, "stock")
        if counts is None:
            return 1
        gateway = in_stock(url, shop, product["guid"])["stock_level"]
        print(f"  stock pass: {counts}; the item sold: Gateway stock {gateway}, shop stock {fake.shop_stock(*item)}")
        print(f"  See it: {url}/shops/{shop['GATEWAY_SHOP_GUID']}")
        return 0 if after == before - 1 and gateway == after else 1
    finally:
        if serve is not None:
            serve.terminate()  # SIGTERM: serve finishes the event in flight and stops
            serve.wait(30)
        fake.server.stop()


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen, str | None]:
    """`gateway-prestashop serve` on a free port, once it answers `/healthz` (URL None if it never does)."""
    serve_url = f"http://127.0.0.1:{free_port(0)}"
    with (DEMO / "serve.log").open("ab") as log:
        process = subprocess.Popen([str(BIN / "gateway-prestashop"), "serve", "--port", serve_url.rsplit(":", 1)[1]],
                                   env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    return process, serve_url if answers(f"{serve_url}/healthz", process) else None


def sell_one(url: str, guid: str, product_guid: str, serve_url: str, landed: Callable[[], bool]) -> float:
    """Sell one piece on the Gateway (the sandbox sends the signed event to `serve`); seconds until it landed."""
    post(url, "/_sandbox/webhooks", {"shop": guid, "url": serve_url})
    started = time.monotonic()
    post(url, "/_sandbox/stock", {"shop": guid, "changes": [{"product_guid": product_guid, "delta": -1}]})
    while not landed() and time.monotonic() - started < 20:
        time.sleep(0.05)
    return time.monotonic() - started

if __name__ == "__main__":
    sys.exit(main())
