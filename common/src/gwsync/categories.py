"""Source category paths -> Gateway category tags, by full path only (B10).

A mapping file (CSV: source path, Gateway path; paths written `A > B > C`) is
validated against the Gateway tree before anything is written, every error at
once. Without a mapping, a source path that is itself a Gateway path is used.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .errors import ConfigError

SEPARATOR = ">"


def split_path(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(SEPARATOR) if part.strip())


def join_path(path: Sequence[str]) -> str:
    return " > ".join(path)


class CategoryTree:
    """Full path -> [leaf guid, parent guid, ..., root guid]."""

    def __init__(self, tags: Iterable[Mapping]) -> None:
        by_guid = {str(t["guid"]): t for t in tags}
        self._chains: dict[tuple[str, ...], list[str]] = {}
        for guid in by_guid:
            names, chain = self._walk(guid, by_guid)
            if names:
                self._chains[tuple(reversed(names))] = chain

    @staticmethod
    def _walk(guid: str, by_guid: Mapping[str, Mapping]) -> tuple[list[str], list[str]]:
        names, chain, seen = [], [], set()
        current: str | None = guid
        while current and current in by_guid and current not in seen:
            seen.add(current)
            tag = by_guid[current]
            names.append(str(tag["name"]))
            chain.append(current)
            parent = tag.get("parent_guid")
            current = str(parent) if parent and str(parent) != current else None
        return names, chain

    def chain(self, path: Sequence[str]) -> list[str] | None:
        return self._chains.get(tuple(path))

    def paths(self) -> list[tuple[str, ...]]:
        return sorted(self._chains)

    def __len__(self) -> int:
        return len(self._chains)


class CategoryMap:
    """Source path -> Gateway path, from a CSV file (`;` or `,` separated, header optional)."""

    def __init__(self, rows: Mapping[tuple[str, ...], tuple[str, ...]], origin: str) -> None:
        self.rows = dict(rows)
        self.origin = origin

    @classmethod
    def load(cls, path: Path) -> CategoryMap:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"GATEWAY_CATEGORY_MAP: cannot read {path}: {exc}") from None
        delimiter = ";" if text.count(";") >= text.count(",") else ","
        rows: dict[tuple[str, ...], tuple[str, ...]] = {}
        errors = []
        for number, row in enumerate(csv.reader(text.splitlines(), delimiter=delimiter), start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if number == 1 and row[0].strip().lower() in ("source", "source_path", "source path"):
                continue
            if len(row) < 2 or not split_path(row[0]) or not split_path(row[1]):
                errors.append(f"line {number}: expected 'source path{delimiter}Gateway path'")
                continue
            rows[split_path(row[0])] = split_path(row[1])
        if errors:
            raise ConfigError(f"GATEWAY_CATEGORY_MAP {path}: " + "; ".join(errors))
        return cls(rows, str(path))

    def validate(self, tree: CategoryTree) -> None:
        unknown = sorted({join_path(g) for g in self.rows.values() if tree.chain(g) is None})
        if unknown:
            raise ConfigError(f"GATEWAY_CATEGORY_MAP {self.origin}: not Gateway categories: "
                              + "; ".join(unknown))


class CategoryResolver:
    def __init__(self, tree: CategoryTree, mapping: CategoryMap | None) -> None:
        self.tree = tree
        self.mapping = mapping

    def tag_guids(self, source_path: Sequence[str]) -> list[str] | None:
        if not source_path:
            return None
        target = tuple(source_path)
        if self.mapping is not None and target in self.mapping.rows:
            target = self.mapping.rows[target]
        return self.tree.chain(target)
