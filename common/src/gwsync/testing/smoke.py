"""Docker smoke test helper: a sandbox Gateway and a connector's fake platform in one container.

    python -m gwsync.testing.smoke <platform> --settings /tmp/settings

serves the sandbox on 127.0.0.1:8765 and the fake on 127.0.0.1:9000, and writes
`env NAME=value` lines (non-secret settings) and `answer value` lines (the
connector's credentials in prompt order) for the import container, which joins
this container's network namespace and pipes the answers to `docker run -i`.
"""

from __future__ import annotations

import base64
import importlib
import secrets
import threading
import uuid
from pathlib import Path

import click

from ..config import prompt_order
from ..sandbox import start_in_thread


@click.command()
@click.argument("platform")
@click.option("--settings", "settings_file", type=click.Path(path_type=Path), required=True)
@click.option("--products", default=30, show_default=True)
def main(platform: str, settings_file: Path, products: int) -> None:
    package = f"gwsync_{platform}"
    connector_cls = _connector_class(package)
    fake = importlib.import_module(f"{package}.fake").start_fake(port=9000)
    fake.seed(products)
    guid, key = str(uuid.uuid4()), base64.b64encode(secrets.token_bytes(32)).decode()
    sandbox = start_in_thread(Path("/tmp/smoke-gateway.sqlite"), port=8765, shops={guid: key})
    config = fake.config()
    lines = [f"env GATEWAY_URL={sandbox.url}", f"answer {key}", f"answer {guid}"]
    by_key = {s.key: s for s in connector_cls.settings}
    answered = [s for s in prompt_order(connector_cls.settings, sandbox=False)
                if s.credential and s.required and s.key in config]
    lines += [f"answer {config[s.key]}" for s in answered]
    lines += [f"env {by_key[k].env}={value}" for k, value in config.items()
              if k in by_key and by_key[k] not in answered]
    settings_file.write_text("\n".join(lines) + "\n")
    click.echo(f"sandbox {sandbox.url}, {platform} fake ready", err=True)
    threading.Event().wait()  # until the container is removed


def _connector_class(package: str) -> type:
    module = importlib.import_module(f"{package}.connector")
    from ..connector import Connector

    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, Connector) and v is not Connector]
    return found[0]


if __name__ == "__main__":
    main()
