"""The plan: what a run does to the Gateway, one typed action per item, with field diffs.

The engine decides each item's action from the read and the state before anything is
sent (`Action`); the executor carries it out, or a dry run only prints it. The report
keeps the plan, so `--dry-run` and `--report` show the same actions a real run makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .gateway.payload import normal_form


class Kind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    STOCK = "stock"  # an update whose only changes are stock (and price) of a StockUpdate
    ARCHIVE = "archive"
    SKIP = "skip"
    IMAGE = "image"  # an image to host (E14+E15 upload or E16 copy)


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field} {_show(self.old)} -> {_show(self.new)}"


@dataclass(frozen=True)
class Action:
    kind: Kind
    identity: str
    name: str = ""
    changes: tuple[Change, ...] = field(default=())
    reason: str = ""

    def __str__(self) -> str:
        line = f"{self.kind.value:<7} {self.identity}"
        if self.name:
            line += f"  {self.name}"
        details = ", ".join(str(c) for c in self.changes) or self.reason
        return f"{line}: {details}" if details else line

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.kind.value, "item": self.identity, "name": self.name}
        if self.changes:
            out["changes"] = [{"field": c.field, "old": _jsonable(c.old), "new": _jsonable(c.new)}
                              for c in self.changes]
        if self.reason:
            out["reason"] = self.reason
        return out


MASS_ARCHIVE_SHARE = 0.10  # refuse to archive more than this share of the live products ...
MASS_ARCHIVE_FLOOR = 5  # ... unless it is this few (a small catalog losing one product)


def mass_archive_refusal(count: int, live: int, read_nothing: bool) -> str | None:
    """The guard against a read that came back empty or cut short (a feed cut at a row
    boundary, an API answering an empty page, a wrong shop id): the line refusing it, or None."""
    limit = max(int(live * MASS_ARCHIVE_SHARE), MASS_ARCHIVE_FLOOR)
    if count <= limit and not (read_nothing and count > 0 and count >= live):
        return None
    share = 100 * count / max(live, 1)
    return (f"mass-archive guard: this run would archive {count} of {live} live products "
            f"({share:.0f} %, more than {MASS_ARCHIVE_SHARE:.0%}); nothing was archived. If they "
            "really left the source, run again with --allow-mass-archive")


# Payload fields as an operator names them.
_FIELD_NAMES = {"base_price": "price", "stock_level": "stock", "tag_guids": "tags", "desc": "description",
                "for_sale": "for sale"}


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any], unarchive: bool = False) -> tuple[Change, ...]:
    """The fields that differ between what was last written and what would be sent."""
    changes: list[Change] = []
    if unarchive:
        changes.append(Change("archived", True, False))
    if old is None:
        return (*changes, Change("payload", "unknown", "rewritten"))
    before, after = normal_form(old), normal_form(new)
    for key in sorted(set(before) | set(after), key=_order):
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if key == "base_price" and isinstance(a, Mapping) and isinstance(b, Mapping):
            if a.get("amount") != b.get("amount"):
                changes.append(Change("price", a.get("amount"), b.get("amount")))
            if a.get("vat_percent") != b.get("vat_percent"):
                changes.append(Change("vat %", a.get("vat_percent"), b.get("vat_percent")))
        elif key == "data" and isinstance(a, Mapping) and isinstance(b, Mapping):
            for sub in sorted(set(a) | set(b)):
                if a.get(sub) != b.get(sub):
                    changes.append(Change(f"data.{sub}", a.get(sub), b.get(sub)))
        else:
            changes.append(Change(_FIELD_NAMES.get(key, key), a, b))
    return tuple(changes)


_ORDER = ("base_price", "stock_level", "name", "vat", "images", "tag_guids", "sku", "desc", "brief", "data")


def _order(key: str) -> tuple[int, str]:
    return (_ORDER.index(key) if key in _ORDER else len(_ORDER), key)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return f"[{len(value)}]" if len(value) > 3 else "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    return str(value)
