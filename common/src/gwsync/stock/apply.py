"""One stock event becomes one platform write, exactly once.

A platform's `StockWriter` either has a relative operation (`add`: IdoSell's add/substract)
or only absolute quantities; then the delta is applied as a read-modify-write guarded
against a concurrent change: read, read again right before writing and start over when
the stock moved in between, then record the intent and write. The intent (stock before
and after) lets a retry after a crash or a lost answer tell a write that landed from one
that did not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import SyncError
from .queue import EventQueue, QueuedEvent

log = logging.getLogger(__name__)
GUARD_ATTEMPTS = 5


@dataclass(frozen=True)
class StockTarget:
    """The source item an event's Gateway product came from."""

    product_id: str
    variant_id: str | None
    sku: str | None = None


class TargetGone(SyncError):
    """The item no longer exists in the shop: the event can never apply (parked)."""


class StockMoved(SyncError):
    """The stock kept changing under us; tried again later."""


@runtime_checkable
class StockWriter(Protocol):
    relative: bool  # True when `add` is one atomic platform operation

    def read(self, target: StockTarget) -> int: ...

    # Sent once, never resent by the HTTP layer after a 5xx or a timeout: a landed write resent
    # later could overwrite a sale made in between. `apply_event` retries by re-reading instead.
    def write(self, target: StockTarget, quantity: int) -> None: ...
    def add(self, target: StockTarget, delta: int) -> None: ...


def apply_event(event: QueuedEvent, target: StockTarget, writer: StockWriter, queue: EventQueue) -> str:
    """Apply one claimed event; returns what happened, for the log. Raises to retry or park."""
    if event.intent is not None:  # a write may have happened before a crash: look before doing it again
        current = writer.read(target)
        if current == event.intent["after"]:
            return f"already applied before a restart (stock {current})"
        if current != event.intent["before"]:
            raise TargetGone(f"interrupted while writing and the stock moved since ({event.intent['before']} -> "
                             f"{current}); check this item's stock by hand")
    for _ in range(GUARD_ATTEMPTS):
        before = writer.read(target)
        if not writer.relative and writer.read(target) != before:
            continue  # someone sold in the shop meanwhile: never overwrite it
        queue.record_intent(event.seq, before, before + event.delta)  # from here a write may happen
        if writer.relative:
            writer.add(target, event.delta)
            return f"stock {before} {event.delta:+d}"
        writer.write(target, before + event.delta)
        return f"stock {before} -> {before + event.delta}"
    raise StockMoved(f"the shop's stock kept changing during {GUARD_ATTEMPTS} attempts")


Resolver = Callable[[str], StockTarget | None]
