"""What a connector provides: its settings, a credential check, and a read of the catalog.

A connector never talks to the Gateway or the state store; the engine does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import requests

from .http import CallStats, HttpClient
from .models import Item

if TYPE_CHECKING:
    from .stock.apply import StockWriter

SettingKind = Literal["text", "url", "int", "path", "bool"]


@dataclass(frozen=True)
class Setting:
    """One configuration value: `--<flag>`, env var, config-file key, prompt."""

    key: str  # config-file key and flag name (`api_key` -> `--api-key`)
    env: str
    help: str
    secret: bool = False
    credential: bool = False  # asked for right after the Gateway key and shop GUID
    required: bool = True
    default: str | None = None
    kind: SettingKind = "text"  # bool: yes/no, true/false, 1/0, on/off
    minimum: int | None = None  # for kind "int"
    must_exist: bool = False  # for kind "path": a file that must be there before the run
    choices: tuple[str, ...] = ()  # for kind "text": the only values allowed
    # Needed only in some cases: decides from the values given so far (instead of `required`)
    # whether to ask for it and whether it is missing; e.g. a password the URL does not hold.
    required_when: Callable[[Mapping[str, Any]], bool] | None = None
    # A follow-up question, never required: asked (when missing) once the setting with this key
    # is set to something other than no, and only while something it gates is still missing:
    # "Does the shop need OAuth? yes" -> its three secrets.
    ask_if: str | None = None

    def needed(self, values: Mapping[str, Any]) -> bool:
        return self.required if self.required_when is None else self.required_when(values)

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


@dataclass
class ReadContext:
    """What the engine tells a read, and what the read tells back.

    `cursor` is the value the connector set after the last complete run (None on a
    first or `--full` run). A connector that reads incrementally must still account
    for every product that exists: unchanged ones as `Seen` (or `StockUpdate`), so
    that nothing is archived by mistake.
    """

    cursor: str | None = None
    full: bool = True
    known_product_ids: frozenset[str] = frozenset()
    new_cursor: str | None = None
    notes: list[str] = field(default_factory=list)


class Connector(ABC):
    """Subclass per platform: declare facts as class attributes, implement the hooks."""

    platform: ClassVar[str]  # short id written into data.source.platform
    title: ClassVar[str]  # for humans: "PrestaShop"
    summary: ClassVar[str | None] = None  # first line of --help; default: "Import a <title> shop's catalog ..."
    settings: ClassVar[tuple[Setting, ...]] = ()
    no_stock_write: ClassVar[str] = ""  # why `stock_writer()` is None; `serve` says it when it refuses

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        self.config = dict(config)
        self.stats = stats or CallStats()

    @property
    @abstractmethod
    def shop(self) -> str:
        """A stable identity of the source shop (e.g. its host): part of every source id."""

    @abstractmethod
    def check(self) -> str:
        """Verify the credentials; return what the connector can see, one line.

        Raise `AuthError` (bad credentials, missing rights) or `Unreachable`.
        """

    @abstractmethod
    def read(self, ctx: ReadContext) -> Iterator[Item]:
        """Yield the catalog. Raise (do not return early) when the read is incomplete."""

    def fetch_image(self, url: str) -> requests.Response | bytes:
        """GET an image that needs the platform's credentials (`ImageAccess.AUTH`).

        A platform whose images have no URL (BLOBs in a database) puts its own reference
        into `Image.url` and returns the image's bytes here; raise `SyncError` when it
        cannot (the product goes on without the image, reported with the reason).
        """
        raise NotImplementedError(f"{self.title} has no authenticated images")

    def http(self, base_url: str, **kwargs: Any) -> HttpClient:
        """An HTTP client for this platform that counts into the run's stats."""
        return HttpClient(base_url, service=self.platform, stats=self.stats, **kwargs)

    def read_stock(self, ctx: ReadContext) -> Iterator[Item]:
        """The `stock` pass: stock and price, in bulk, with the cheapest change filter the platform has.

        Products and `StockUpdate`s may be yielded; of a product only stock and price count. The
        default is the incremental catalog read (its own cursor); override it where the platform
        can read just stock and prices for less.
        """
        return self.read(ctx)

    def stock_writer(self) -> StockWriter | None:
        """Step 2: how Gateway sales reach the shop's stock; None where the platform has no safe write."""
        return None

    def close(self) -> None:
        """Release sessions; called once at the end of a run."""
