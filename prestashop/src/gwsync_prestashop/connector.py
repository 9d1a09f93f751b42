"""PrestaShop connector: settings, shop identity, check, and a bulk (incremental) read."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import HTTPBasicAuth

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import AuthError, ConfigError
from gwsync.http import CallStats
from gwsync.models import Item, Seen, StockUpdate
from gwsync.ratecontrol import AdaptiveRate

from .client import PrestaShopClient, StockRows, api_base
from .stock import PrestaShopStockWriter
from .mapping import (
    Catalog,
    by_id,
    fingerprint,
    ident,
    is_on,
    item_prices,
    map_product,
    stock_map,
    tax_rates,
)

log = logging.getLogger(__name__)

PRODUCT_PAGE = 100  # display=full products: big rows (descriptions); hosts cut long answers
LIST_PAGE = 1000  # narrow lists: combinations, stock rows, ids
ID_CHUNK = 100  # ids per filter[id]=[a|b|...] (URL length)
FULL_EVERY = timedelta(hours=24)  # a complete re-read at least this often
# Back-dates the next run's date_upd window beyond the read's own duration: a save in progress
# when its product's page was read, and date_upd's one-second granularity.
LOOKBACK = timedelta(minutes=2)
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
CONFIG_NAMES = ("PS_COUNTRY_DEFAULT", "PS_LANG_DEFAULT", "PS_CURRENCY_DEFAULT", "PS_SHOP_DEFAULT",
                "PS_ROOT_CATEGORY", "PS_HOME_CATEGORY", "PS_SHOP_NAME", "PS_TAX")
REQUIRED_RESOURCES = ("products", "combinations", "stock_availables", "product_options",
                      "product_option_values", "categories", "tax_rule_groups", "tax_rules", "taxes",
                      "languages", "configurations", "images")
READ_CHECKED = tuple(r for r in REQUIRED_RESOURCES if r != "images")  # images are binary: listing only
NARROW = "[id,date_upd,active,price,id_tax_rules_group]"
FAR_FUTURE = "2100-01-01 00:00:00"
_COMBINATION_VOLATILE = ("price", "quantity")  # price via StockUpdate; quantity is stale anyway


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "yes", "true", "on")


def window_start(newest: str, read_seconds: float) -> str:
    """Where the next run's `date_upd` window starts: the newest `date_upd` this read saw,
    moved back by the read's duration and `LOOKBACK`.

    A product edited while the read ran (after its page was read) carries a `date_upd` at
    or after the read's start on the shop's clock, which may be earlier than the newest
    `date_upd` read later in the same run. The newest date minus the read's duration is
    at or before that start, and only the shop's own clock is compared with itself, so
    a skewed local clock does not matter.
    """
    try:
        newest_at = datetime.strptime(newest, DATE_FORMAT)
    except ValueError:  # "" (empty shop) or "0000-00-00 00:00:00": the next run reads everything
        return newest
    return (newest_at - timedelta(seconds=read_seconds) - LOOKBACK).strftime(DATE_FORMAT)


def product_fingerprint(raw: Mapping[str, Any], combinations: Sequence[Mapping[str, Any]]) -> str:
    """What can change without touching the product's `date_upd` (and that a stock/price
    update cannot carry): active flag, tax group, the combinations' own fields."""
    head = {"active": str(raw.get("active")), "tax": ident(raw.get("id_tax_rules_group"))}
    combos = [{k: v for k, v in c.items() if k not in _COMBINATION_VOLATILE} for c in combinations]
    return fingerprint([head, *combos])


class PrestaShopConnector(Connector):
    platform = "prestashop"
    title = "PrestaShop"
    settings = (
        Setting("url", "PRESTASHOP_URL", "Shop address, e.g. https://shop.example.pl (the tool adds /api/)",
                kind="url"),
        Setting("api_key", "PRESTASHOP_API_KEY", "Webservice key (32 characters)", secret=True,
                credential=True),
        Setting("language", "PRESTASHOP_LANGUAGE", "Language ISO code (default: the shop's default language)",
                required=False),
        Setting("shop_id", "PRESTASHOP_SHOP_ID", "Shop id in a multistore installation", required=False,
                kind="int"),
        Setting("key_in_url", "PRESTASHOP_KEY_IN_URL",
                "yes = send the key as ?ws_key= (only for hosts that drop the Authorization header)",
                required=False, default="no", kind="bool"),
    )

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        super().__init__(config, stats)
        self.base = api_base(str(self.config.get("url") or ""))
        key = str(self.config.get("api_key") or "").strip()
        shop_id = self.config.get("shop_id")
        self.shop_id = int(shop_id) if shop_id not in (None, "") else None
        key_in_url = _truthy(self.config.get("key_in_url"))
        auth = None if key_in_url else HTTPBasicAuth(key, "")
        # no built-in rate limit; hosts and WAFs limit concurrency (platform doc section 7: 2-4)
        http = self.http(self.base, auth=auth, pacer=AdaptiveRate(concurrency=4), pool=4)
        self.client = PrestaShopClient(http, key, shop_id=self.shop_id, key_in_url=key_in_url)

    @property
    def shop(self) -> str:
        parts = urlsplit(self.base)
        path = parts.path[: -len("/api/")] if parts.path.endswith("/api/") else parts.path.rstrip("/")
        identity = parts.netloc.lower() + path
        return f"{identity}#shop{self.shop_id}" if self.shop_id is not None else identity

    # -- check -------------------------------------------------------------

    def check(self) -> str:
        probe = self.client.probe()
        resources = probe["resources"]
        # The JSON resource listing names every resource the key has any method for; whether
        # GET is among them shows only by asking (one row each).
        missing = [r for r in REQUIRED_RESOURCES if (resources and r not in resources)
                   or (r in READ_CHECKED and not self.client.may_read(r))]
        if missing:
            raise AuthError("PrestaShop: the webservice key may not read " + ", ".join(missing) +
                            "; in Advanced Parameters > Webservice edit the key and tick View (GET) for them")
        settings = self._configuration()
        languages = self.client.list_all("languages", {"display": "[id,iso_code,active]"})
        language_id, iso = self._language(languages, settings)
        version = probe.get("version") or "version unknown"
        name = settings.get("PS_SHOP_NAME") or self.shop
        return (f"PrestaShop {version} '{name}' at {self.base}: webservice key accepted, "
                f"{len(REQUIRED_RESOURCES)} needed resources readable, language {iso} (id {language_id}), "
                f"country id {settings.get('PS_COUNTRY_DEFAULT', '?')}")

    def fetch_image(self, url: str) -> requests.Response:
        return self.client.fetch(url)

    def stock_writer(self) -> PrestaShopStockWriter:
        return PrestaShopStockWriter(StockRows(self.client))

    def close(self) -> None:
        self.client.http.close()

    # -- lookups -----------------------------------------------------------

    def _configuration(self) -> dict[str, str]:
        rows = self.client.list_all("configurations", {
            "display": "[id,name,value,id_shop,id_shop_group]",
            "filter[name]": "[" + "|".join(CONFIG_NAMES) + "]",
        })
        chosen: dict[str, tuple[int, str]] = {}
        for row in rows:
            row_shop = ident(row.get("id_shop"))
            rank = 2 if self.shop_id is not None and row_shop == str(self.shop_id) else (
                1 if row_shop in ("0", "") else 0)
            name = str(row.get("name"))
            if name not in chosen or rank > chosen[name][0]:
                chosen[name] = (rank, "" if row.get("value") is None else str(row.get("value")))
        return {name: value for name, (_, value) in chosen.items()}

    def _language(self, languages: list[dict[str, Any]], settings: Mapping[str, str]) -> tuple[str, str]:
        wanted = str(self.config.get("language") or "").strip().lower()
        isos = {str(row.get("iso_code", "")).lower(): ident(row.get("id")) for row in languages}
        if wanted:
            if wanted not in isos:
                raise ConfigError(f"PRESTASHOP_LANGUAGE={wanted!r} is not a language of the shop; it has: "
                                  + ", ".join(sorted(isos)))
            return isos[wanted], wanted
        default = ident(settings.get("PS_LANG_DEFAULT") or (languages[0].get("id") if languages else "1"))
        iso = next((i for i, lid in isos.items() if lid == default), "?")
        return default, iso

    def _catalog(self) -> tuple[Catalog, str]:
        client = self.client
        settings = self._configuration()
        languages = client.list_all("languages", {"display": "[id,iso_code,active]"})
        language_id, _ = self._language(languages, settings)
        country = ident(settings.get("PS_COUNTRY_DEFAULT"))
        groups = client.list_all("tax_rule_groups", {"display": "[id,name,active,deleted]"})
        rules = client.list_all("tax_rules", {"display": "full", "filter[id_country]": f"[{country}]"})
        taxes = client.list_all("taxes", {"display": "full"})
        options = client.list_all("product_options", {"display": "full"})
        values = client.list_all("product_option_values", {"display": "full"}, LIST_PAGE)
        categories = client.list_all("categories",
                                     {"display": "[id,id_parent,is_root_category,active,name]"}, LIST_PAGE)
        roots = {ident(settings.get(n)) for n in ("PS_ROOT_CATEGORY", "PS_HOME_CATEGORY") if settings.get(n)}
        catalog = Catalog(
            api_base=self.base,
            language_id=language_id,
            default_language_id=ident(settings.get("PS_LANG_DEFAULT") or language_id),
            rates=self._rates(settings, groups, rules, taxes, country),
            option_values=by_id(values),
            option_groups=by_id(options),
            categories=by_id(categories),
            root_ids=frozenset(roots or {"1", "2"}),
        )
        digest = fingerprint([{"lang": language_id, "country": country, "roots": sorted(catalog.root_ids)},
                              *({"rate": k, "v": str(v)} for k, v in catalog.rates.items()),
                              *options, *values, *categories])
        return catalog, digest

    @staticmethod
    def _rates(settings: Mapping[str, str], groups: list, rules: list, taxes: list,
               country: str) -> dict[str, Any]:
        """Tax rules group -> rate. With taxes switched off in the shop (`PS_TAX` = 0) customers
        pay the net price, so every group is VAT0 and the gross price is the net price."""
        rates = tax_rates(groups, rules, taxes, country)
        if settings.get("PS_TAX", "1").strip() == "0":
            return dict.fromkeys(rates, Decimal(0))
        return rates

    # -- bulk pieces ---------------------------------------------------------

    def _around(self, products: Sequence[Mapping[str, Any]]) -> tuple[dict[str, list], dict]:
        """Combinations (grouped by product) and stock rows of a page of products sorted by id.

        Ids of one page are contiguous in id order, so an interval filter
        `[first,last]` keeps the URL short whatever the page size.
        """
        ids = sorted(int(ident(p.get("id"))) for p in products)
        if not ids:
            return {}, {}
        interval = {"filter[id_product]": f"[{ids[0]},{ids[-1]}]"}
        wanted = {str(i) for i in ids}
        combos: dict[str, list] = {}
        for page in self.client.iter_pages("combinations", {"display": "full", **interval}, LIST_PAGE):
            for row in page:
                pid = ident(row.get("id_product"))
                if pid in wanted:
                    combos.setdefault(pid, []).append(row)
        stock_rows = [row for page in self.client.iter_pages("stock_availables", {
            "display": "[id,id_product,id_product_attribute,id_shop,id_shop_group,quantity,out_of_stock]",
            **interval}, LIST_PAGE) for row in page if ident(row.get("id_product")) in wanted]
        return combos, stock_map(stock_rows, str(self.shop_id) if self.shop_id is not None else None)

    def _map(self, products: Sequence[Mapping[str, Any]], combos: Mapping[str, list], stock: Mapping,
             catalog: Catalog, state: dict[str, Any]) -> Iterator[Item]:
        catalog.stock = stock
        for raw in products:
            pid = ident(raw.get("id"))
            state["fp"][pid] = product_fingerprint(raw, combos.get(pid, []))
            state["since"] = max(state["since"], str(raw.get("date_upd") or ""))
            yield from map_product(raw, combos.get(pid, []), catalog)

    # -- read --------------------------------------------------------------

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        started = time.monotonic()
        catalog, digest = self._catalog()
        cursor = self._load_cursor(ctx)
        now = datetime.now(UTC)
        full = cursor is None or cursor.get("lookups") != digest or \
            now - datetime.fromisoformat(cursor["full_at"]) > FULL_EVERY
        state: dict[str, Any] = {"since": "", "fp": {}}
        if full:
            if cursor is not None:
                ctx.notes.append("PrestaShop: full read (categories, options, taxes changed, or the last "
                                 "full read is older than a day)")
            for page in self.client.iter_pages("products", {"display": "full"}, PRODUCT_PAGE):
                combos, stock = self._around(page)
                yield from self._map(page, combos, stock, catalog, state)
            full_at = now.isoformat()
        else:
            yield from self._read_changed(ctx, cursor, catalog, state)
            full_at = cursor["full_at"]
        since = window_start(state["since"], time.monotonic() - started)
        ctx.new_cursor = json.dumps({"v": 1, "since": since, "full_at": full_at, "lookups": digest,
                                     "fp": state["fp"]}, separators=(",", ":"))

    @staticmethod
    def _load_cursor(ctx: ReadContext) -> dict[str, Any] | None:
        if ctx.full or not ctx.cursor:
            return None
        try:
            cursor = json.loads(ctx.cursor)
            datetime.fromisoformat(cursor["full_at"])
            if cursor.get("v") != 1 or not isinstance(cursor.get("fp"), dict) or not cursor.get("since"):
                return None
            return cursor
        except (ValueError, KeyError, TypeError):
            return None

    def _read_changed(self, ctx: ReadContext, cursor: Mapping[str, Any], catalog: Catalog,
                      state: dict[str, Any]) -> Iterator[Item]:
        """Products changed since the cursor in full; every other product as stock/price updates.

        1. `date=1&filter[date_upd]=[since,...]`: products edited since the last run (`since` is
           back-dated, see `window_start`: the newest products of the last run are read again, and
           the engine's hashes drop them).
        2. A narrow list of every product (id, date_upd, active, price, tax group) with its
           combinations and stock rows: products whose combinations, active flag or tax group changed
           without touching `date_upd`, and products the state store does not know, are read in
           full by id; the rest yield `StockUpdate` (stock every run, price from the narrow row).
        """
        since, old_fp, known = cursor["since"], cursor["fp"], ctx.known_product_ids
        done: set[str] = set()
        changed_query = {"display": "full", "date": "1", "filter[date_upd]": f"[{since},{FAR_FUTURE}]"}
        for page in self.client.iter_pages("products", changed_query, PRODUCT_PAGE):
            combos, stock = self._by_ids(page)
            done.update(ident(p.get("id")) for p in page)
            yield from self._map(page, combos, stock, catalog, state)
        for page in self.client.iter_pages("products", {"display": NARROW}, LIST_PAGE):
            rows = [r for r in page if ident(r.get("id")) not in done]
            combos, stock = self._around(page)
            reread = []
            for row in rows:
                pid = ident(row.get("id"))
                mine = combos.get(pid, [])
                prices = item_prices(row, mine, catalog)
                if (pid not in known or old_fp.get(pid) != product_fingerprint(row, mine)
                        or str(row.get("date_upd") or "") >= since or prices is None
                        or any(p <= 0 for p in prices.values())):
                    reread.append(pid)
                    continue
                state["fp"][pid] = old_fp[pid]
                state["since"] = max(state["since"], str(row.get("date_upd") or ""))
                if not is_on(row.get("active")):
                    yield Seen(product_id=pid)
                    continue
                for variant_id, price in prices.items():
                    yield StockUpdate(product_id=pid, variant_id=variant_id, price=price,
                                      stock=stock.get((pid, variant_id or "0"), 0))
            for start in range(0, len(reread), ID_CHUNK):
                chunk = reread[start:start + ID_CHUNK]
                full_rows = self.client.list_by_ids("products", chunk, {"display": "full"})
                found = {ident(r.get("id")) for r in full_rows}
                for pid in chunk:
                    if pid not in found:  # deleted between the two calls: archive next run, not now
                        yield Seen(product_id=pid)
                yield from self._map(full_rows, combos, stock, catalog, state)

    def _by_ids(self, products: Sequence[Mapping[str, Any]]) -> tuple[dict[str, list], dict]:
        """Combinations and stock of scattered products (a date-filtered page): `filter[id_product]=[a|b]`."""
        ids = [ident(p.get("id")) for p in products]
        if not ids:
            return {}, {}
        id_filter = {"filter[id_product]": "[" + "|".join(ids) + "]"}
        combos: dict[str, list] = {}
        for row in self.client.list_all("combinations", {"display": "full", **id_filter}, LIST_PAGE):
            combos.setdefault(ident(row.get("id_product")), []).append(row)
        rows = self.client.list_all("stock_availables", {
            "display": "[id,id_product,id_product_attribute,id_shop,id_shop_group,quantity,out_of_stock]",
            **id_filter}, LIST_PAGE)
        return combos, stock_map(rows, str(self.shop_id) if self.shop_id is not None else None)
