"""Production images: reproducible (constraints), free of the sandbox, built and smoke-tested by CI."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted(ROOT.glob("*/Dockerfile"))


def stages(dockerfile: Path) -> dict[str, str]:
    """Each stage's name and its text."""
    parts = re.split(r"^FROM .* AS (\w+)\s*$", dockerfile.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_production_is_the_default_target_and_has_no_sandbox(dockerfile):
    named = stages(dockerfile)
    assert list(named)[-1] == "production", "the last stage is what `docker build` gives by default"
    assert "USER 10001" in named["production"]
    for stage in ("base", "production"):
        assert "[sandbox]" not in named[stage]
    assert "[sandbox]" in named["smoke"]
    assert "-c constraints.txt" in named["base"]


def test_constraints_pin_every_runtime_dependency():
    pinned = {canonicalize_name(line.split("==")[0]) for line in (ROOT / "constraints.txt").read_text().splitlines()
              if "==" in line and not line.startswith("#")}
    for pyproject in ROOT.glob("*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        for text in project.get("dependencies", []):
            name = canonicalize_name(Requirement(text).name)
            if not name.startswith("gateway-sync"):
                assert name in pinned, f"{pyproject.parent.name} needs {name}: run `make constraints`"


def test_build_context_leaves_out_what_no_image_needs():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".git", ".venv", "**/tests"):
        assert entry in ignored


def test_ci_builds_and_smoke_tests_every_platform_image():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    platforms = set(workflow["jobs"]["images"]["strategy"]["matrix"]["platform"])
    assert platforms == {d.parent.name for d in DOCKERFILES}
