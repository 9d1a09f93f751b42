"""The READMEs agree on the exit codes and link only to files inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gwsync.errors import EXIT_CANNOT_RUN, EXIT_CONFIG, EXIT_ITEMS_FAILED, EXIT_LOCKED, EXIT_OK

ROOT = Path(__file__).resolve().parents[2]
READMES = sorted([ROOT / "README.md", *ROOT.glob("*/README.md")])
# the top README and each tool's (a folder with its own package)
TOOL_READMES = [r for r in READMES if r.parent == ROOT or (r.parent / "pyproject.toml").exists()]
EXIT_CODES = {EXIT_OK, EXIT_ITEMS_FAILED, EXIT_CONFIG, EXIT_CANNOT_RUN, EXIT_LOCKED, 130}
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def exit_table(text: str) -> dict[int, str]:
    """Rows `| <code> | <meaning> |` of the table under the 'Exit codes' heading."""
    section = re.split(r"^#+ .*[Ee]xit codes.*$", text, maxsplit=1, flags=re.M)[1]
    section = re.split(r"^#+ ", section, maxsplit=1, flags=re.M)[0]
    return {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)}


@pytest.mark.parametrize("readme", TOOL_READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_readme_lists_the_same_exit_codes(readme):
    table = exit_table(readme.read_text(encoding="utf-8"))
    assert set(table) == EXIT_CODES
    assert "skipped" in table[EXIT_OK] and "lock" in table[EXIT_LOCKED] and "Ctrl+C" in table[130]


@pytest.mark.parametrize("doc", [*READMES, *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    assert "../shared" not in text
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path = (doc.parent / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"{doc.name} links to {target}"
