import base64
import json
import logging
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log


def load(name: str):
    """A recorded table as the API decodes to (a JSON array)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def encoded(name: str) -> bytes:
    """A recorded table as the API sends it: base64 of the JSON text."""
    return base64.b64encode((FIXTURES / name).read_bytes())


@pytest.fixture
def selly_fixture():
    return load
