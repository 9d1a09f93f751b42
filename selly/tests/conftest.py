import json
import logging
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log


def load(name: str):
    """A recorded table as the API decodes to (a JSON array)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def selly_fixture():
    return load
