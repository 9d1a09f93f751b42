import json
import logging
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log


@pytest.fixture
def sellasist_fixture():
    def load(name: str):
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return load
