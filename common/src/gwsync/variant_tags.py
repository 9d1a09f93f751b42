"""Variant tags (B9, B12): one tag per source group, never two, never an orphan.

E9 is not idempotent. After an ambiguous failure the shop's own tags (E8) are searched
by exact name before anything is sent again; a tag of our name that no other group
claims (in state, or by carrying products on the Gateway) is adopted.

A new tag is recorded in the state in bulk (`flush`), which the engine calls before any
write that could name it (a create batch, an update) goes out: a crash before the flush
leaves a tag no product carries yet, which the next run adopts by name.
"""

from __future__ import annotations

import threading

from .errors import SyncError
from .gateway.client import AmbiguousWrite, GatewayClient
from .state import StateStore
from .unrecorded import Unrecorded

CREATE_ATTEMPTS = 3


class VariantTags:
    def __init__(self, gateway: GatewayClient, state: StateStore, platform: str) -> None:
        self.gateway, self.state, self.platform = gateway, state, platform
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._new: Unrecorded[str, tuple[str, str]] = Unrecorded()  # group -> (guid, name), not recorded yet

    def flush(self) -> None:
        self._new.flush(lambda rows: self.state.save_variant_tags([(g, guid, name) for g, (guid, name) in rows]))

    def _recorded(self, group: str) -> str | None:
        entry = self._new.get(group)
        return entry[0] if entry else self.state.variant_tag(group)

    def _owner(self, guid: str) -> str | None:
        mine = self._new.find(lambda entry: entry[0] == guid)
        return mine[0] if mine else self.state.variant_tag_group(guid)

    def guid_for(self, group: str, name: str, product_id: str, *, stored: bool = True) -> str:
        """The group's tag guid: from state, or claimed now under its name (B9: under
        `<name> (<platform> <product id>)` when another group holds the name). `stored=False`:
        the caller's page read found none in the state (a group is handled once per run)."""
        known = self._recorded(group) if stored else None
        if known:
            return known
        with self._lock(name):  # two groups of one name never take one tag
            known = self._recorded(group) if stored else None
            if known:
                return known
            for candidate in (name, f"{name} ({self.platform} {product_id})"):
                guid = self._claim(candidate, group)
                if guid is not None:
                    self._new.put(group, (guid, candidate))
                    return guid
        raise SyncError(f"variant tag {name!r}: both names are taken by other groups")

    def _claim(self, name: str, group: str) -> str | None:
        """The new tag, or an existing one of this name nobody claims (ours from an answer we
        never got), or None when another group holds the name."""
        guid, created = self._create(name)
        if created:
            return guid
        owner = self._owner(guid)
        if owner == group:
            return guid
        if owner is None:
            tag = self._find(name)
            if tag is not None and str(tag["guid"]) == guid and not tag.get("product_guids"):
                return guid
        return None

    def _create(self, name: str) -> tuple[str, bool]:
        for attempt in range(CREATE_ATTEMPTS):
            try:
                return self.gateway.create_variant_tag(name)
            except AmbiguousWrite:
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                tag = self._find(name)
                if tag is not None:
                    return str(tag["guid"]), False
        raise AssertionError("unreachable")

    def _find(self, name: str) -> dict | None:
        for tag in self.gateway.shop_tags():
            if tag.get("type") == "variant" and tag.get("name") == name:
                return tag
        return None

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())
