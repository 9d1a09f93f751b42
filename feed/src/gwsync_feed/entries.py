"""One feed item or CSV row, mapped but not yet grouped into a `Product`.

Both formats map to `Entry` so that grouping, staging and product assembly are
written once. Entries are JSON-serialisable: grouping stages them on disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from decimal import Decimal

from gwsync.models import Image, ImageAccess


@dataclass(frozen=True)
class Entry:
    item_id: str
    position: int  # 1-based ordinal in the feed: item number or CSV line
    group_id: str | None = None  # g:item_group_id / parent_sku
    name: str | None = None
    description: str | None = None
    price: Decimal | None = None  # gross PLN
    vat: int | None = None
    stock: int = 0
    sku: str | None = None
    ean: str | None = None
    images: tuple[Image, ...] = ()
    category_path: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()  # ordered (name, value)
    active: bool = True
    error: str | None = None  # why this entry cannot be imported
    notes: tuple[str, ...] = field(default=(), compare=False)  # dropped values, for the report
    unit: str = "item"  # what `position` counts: "item" (XML) or "line" (CSV)

    @property
    def where(self) -> str:
        return f"item #{self.position}" if self.unit == "item" else f"{self.unit} {self.position}"

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # asdict() deep-copies: slow
        data["price"] = None if self.price is None else str(self.price)
        data["images"] = [[i.url, i.access.value] for i in self.images]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Entry:
        data = json.loads(text)
        data["price"] = None if data["price"] is None else Decimal(data["price"])
        data["images"] = tuple(Image(url=u, access=ImageAccess(a)) for u, a in data["images"])
        data["category_path"] = tuple(data["category_path"])
        data["options"] = tuple((n, v) for n, v in data["options"])
        data["notes"] = tuple(data["notes"])
        return cls(**data)


def failed(item_id: str, position: int, reason: str, group_id: str | None = None,
           unit: str = "item") -> Entry:
    return Entry(item_id=item_id, position=position, group_id=group_id, error=reason, unit=unit)
