"""PrestaShop connector: settings, shop identity, check, and a bulk (incremental) read."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from requests.auth import HTTPBasicAuth

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import AuthError, ConfigError
from gwsync.http import CallStats
from gwsync.kit import ChangeCursor, Facts, shop_identity
from gwsync.models import Item, Present, StockUpdate
from gwsync.ratecontrol import AdaptiveRate

from .client import PrestaShopClient, StockRows, api_base
from .mapping import (
    Catalog,
    by_id,
    fingerprint,
    ident,
    is_on,
    item_prices,
    map_product,
    running_specific_prices,
    stock_map,
    tax_rates,
)
from .stock import PrestaShopStockWriter
from .stock_read import (
    COMBINATION_PRICE_FIELDS,
    PRICE_FIELDS,
    STOCK_FIELDS,
    promotion_digests,
    promotions_changed,
    stock_updates,
)

log = logging.getLogger(__name__)

PRODUCT_PAGE = 100  # display=full products: big rows (descriptions); hosts cut long answers
LIST_PAGE = 1000  # narrow lists: combinations, stock rows, ids
ID_CHUNK = 100  # ids per filter[id]=[a|b|...] (URL length)
CONFIG_NAMES = ("PS_COUNTRY_DEFAULT", "PS_LANG_DEFAULT", "PS_CURRENCY_DEFAULT", "PS_SHOP_DEFAULT",
                "PS_ROOT_CATEGORY", "PS_HOME_CATEGORY", "PS_SHOP_NAME", "PS_TAX", "PS_TIMEZONE")
PRICE_MODES = ("current", "regular")
# Catalog promotions for everyone, one piece (PrestaShop's specific prices); the date window
# and the shop are checked locally, so one listing per run serves every product.
SPECIFIC_PRICE_FILTER = {"display": "[id,id_product,id_product_attribute,id_shop,id_cart,id_currency,id_country,"
                                    "id_group,id_customer,price,from_quantity,reduction,reduction_tax,"
                                    "reduction_type,from,to]",
                         "filter[id_customer]": "[0]", "filter[id_group]": "[0]", "filter[id_cart]": "[0]"}
STOCK_PUT_HINT = "in Advanced Parameters > Webservice edit the key and tick Modify (PUT) for stock_availables"
REQUIRED_RESOURCES = ("products", "combinations", "stock_availables", "product_options",
                      "product_option_values", "categories", "tax_rule_groups", "tax_rules", "taxes",
                      "languages", "configurations", "images")
READ_CHECKED = tuple(r for r in REQUIRED_RESOURCES if r != "images")  # images are binary: listing only
NARROW = "[id,date_upd,active,price,id_tax_rules_group]"
FAR_FUTURE = "2100-01-01 00:00:00"
_COMBINATION_VOLATILE = ("price", "quantity")  # price via StockUpdate; quantity is stale anyway


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "yes", "true", "on")


def _zone(name: Any) -> str:
    """The shop's time zone (PS_TIMEZONE), or Europe/Warsaw when it is missing or unknown."""
    try:
        return str(ZoneInfo(str(name).strip())) if name else PrestaShopConnector.facts.time_zone
    except (ZoneInfoNotFoundError, ValueError):
        return PrestaShopConnector.facts.time_zone


def product_fingerprint(raw: Mapping[str, Any], combinations: Sequence[Mapping[str, Any]]) -> str:
    """What can change without touching the product's `date_upd` (and that a stock/price
    update cannot carry): active flag, tax group, the combinations' own fields."""
    head = {"active": str(raw.get("active")), "tax": ident(raw.get("id_tax_rules_group"))}
    combos = [{k: v for k, v in c.items() if k not in _COMBINATION_VOLATILE} for c in combinations]
    return fingerprint([head, *combos])


class PrestaShopConnector(Connector):
    platform = "prestashop"
    title = "PrestaShop"
    # Lists page by id (keyset: `filter[id]=[last+1,MAX]`), so a deletion mid-read shifts nothing.
    # `date_upd` is naive time in the shop's zone (PS_TIMEZONE; this one when unreadable); the
    # margin covers a save in progress when its page was read and the one-second granularity.
    facts = Facts(paging="keyset", page_size=PRODUCT_PAGE, row_key="id", cursor_field="date_upd",
                  time_zone="Europe/Warsaw", margin=timedelta(minutes=2), rate_limit=None)
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
        Setting("price", "PRESTASHOP_PRICE",
                "current (what a customer pays now, promotions included) or regular", required=False,
                default="current", choices=("current", "regular")),
    )

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        super().__init__(config, stats)
        self.base = api_base(str(self.config.get("url") or ""))
        key = str(self.config.get("api_key") or "").strip()
        shop_id = self.config.get("shop_id")
        self.shop_id = int(shop_id) if shop_id not in (None, "") else None
        key_in_url = _truthy(self.config.get("key_in_url"))
        self.price_mode = str(self.config.get("price") or "current").strip().lower()
        if self.price_mode not in PRICE_MODES:
            raise ConfigError(f"PRESTASHOP_PRICE must be 'current' or 'regular' (got {self.price_mode!r})")
        auth = None if key_in_url else HTTPBasicAuth(key, "")
        # no built-in rate limit; hosts and WAFs limit concurrency (platform doc section 7: 2-4)
        http = self.http(self.base, auth=auth, pacer=AdaptiveRate(concurrency=4), pool=4)
        self.client = PrestaShopClient(http, key, shop_id=self.shop_id, key_in_url=key_in_url)

    @property
    def shop(self) -> str:
        return shop_identity(self.base, strip_suffixes=("/api",), setting="PRESTASHOP_URL",
                             qualifier=f"shop{self.shop_id}" if self.shop_id is not None else None)

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
                f"country id {settings.get('PS_COUNTRY_DEFAULT', '?')}; {self._stock_write_line()}")

    def _stock_write_line(self) -> str:
        allowed = self.client.may_put("stock_availables")
        if allowed is None:
            return "whether the key may write stock (serve) is not shown by this shop"
        return ("the key may write stock (serve)" if allowed
                else f"the key may not write stock: {STOCK_PUT_HINT} to run serve")

    def fetch_image(self, url: str) -> requests.Response:
        return self.client.fetch(url)

    def stock_writer(self) -> PrestaShopStockWriter:
        if self.client.may_put("stock_availables") is False:  # else every sale would wait and fail
            raise ConfigError(f"PrestaShop: the webservice key may not modify stock, so serve cannot write "
                              f"a sale to the shop; {STOCK_PUT_HINT}")
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

    def _catalog(self, ctx: ReadContext) -> tuple[Catalog, str, str]:
        client = self.client
        settings = self._configuration()
        # the languages list only maps a configured ISO code; the default is in the configuration
        languages = client.list_all("languages", {"display": "[id,iso_code,active]"}) \
            if self.config.get("language") or not settings.get("PS_LANG_DEFAULT") else []
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
        zone = _zone(settings.get("PS_TIMEZONE"))
        if self.price_mode == "current":
            catalog.specific_prices = self._promotions(zone, ctx)
        digest = fingerprint([{"lang": language_id, "country": country, "roots": sorted(catalog.root_ids)},
                              *({"rate": k, "v": str(v)} for k, v in catalog.rates.items()),
                              *options, *values, *categories])
        return catalog, digest, zone

    def _promotions(self, zone: str, ctx: ReadContext) -> dict:
        """Specific prices running now, one listing per run: promotions start and end without
        a product change, so the stock-and-price pass re-evaluates them every run."""
        rows = self.client.list_if_allowed("specific_prices", SPECIFIC_PRICE_FILTER, LIST_PAGE)
        if rows is None:
            ctx.notes.append("PrestaShop: the webservice key may not read specific_prices; regular prices are "
                             "sent (tick View (GET) for specific_prices to send promotion prices)")
            return {}
        now = datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
        return running_specific_prices(rows, now, str(self.shop_id) if self.shop_id is not None else None)

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
             catalog: Catalog, cursor: ChangeCursor, fingerprints: dict[str, str]) -> Iterator[Item]:
        catalog.stock = stock
        for raw in products:
            pid = ident(raw.get("id"))
            fingerprints[pid] = product_fingerprint(raw, combos.get(pid, []))
            cursor.saw(pid, raw.get("date_upd"))
            yield from map_product(raw, combos.get(pid, []), catalog)

    # -- read --------------------------------------------------------------

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        catalog, digest, zone = self._catalog(ctx)
        cursor = self.facts.cursor(ctx, what="PrestaShop", time_zone=zone)
        if not cursor.full and (cursor.meta.get("lookups") != digest or not isinstance(cursor.meta.get("fp"), dict)):
            cursor.force_full("categories, options or taxes changed")
        fingerprints: dict[str, str] = {}
        if cursor.full:
            for page in self.client.iter_pages("products", {"display": "full"}, PRODUCT_PAGE):
                combos, stock = self._around(page)
                yield from self._map(page, combos, stock, catalog, cursor, fingerprints)
            if cursor.decided_full:  # the engine began an incremental read: this one lists everything
                yield Present(product_ids=())
        else:
            yield from self._read_changed(ctx, cursor, catalog, fingerprints)
        cursor.meta = {"lookups": digest, "fp": fingerprints}
        cursor.commit()

    def _read_changed(self, ctx: ReadContext, cursor: ChangeCursor, catalog: Catalog,
                      fingerprints: dict[str, str]) -> Iterator[Item]:
        """Products changed since the cursor in full; every other product as stock/price updates.

        1. `date=1&filter[date_upd]=[since,...]`: products edited in the kit's change window
           (the newest products of the last run are read again; the engine's hashes drop them).
        2. A narrow list of every product (id, date_upd, active, price, tax group) with its
           combinations and stock rows: products whose combinations, active flag or tax group changed
           without touching `date_upd`, and products the state store does not know, are read in
           full by id; the rest yield `StockUpdate` (stock every run, price from the narrow row and
           the running promotions), or count as present (inactive ones).
        """
        since, old_fp, known = cursor.since_text(), cursor.meta["fp"], ctx.known_product_ids
        done: set[str] = set()
        present: list[str] = []
        changed_query = {"display": "full", "date": "1", "filter[date_upd]": f"[{since},{FAR_FUTURE}]"}
        for page in self.client.iter_pages("products", changed_query, PRODUCT_PAGE):
            combos, stock = self._by_ids(page)
            done.update(ident(p.get("id")) for p in page)
            yield from self._map(page, combos, stock, catalog, cursor, fingerprints)
        for page in self.client.iter_pages("products", {"display": NARROW}, LIST_PAGE):
            rows = [r for r in page if ident(r.get("id")) not in done]
            combos, stock = self._around(page)
            reread = []
            for row in rows:
                pid = ident(row.get("id"))
                mine = combos.get(pid, [])
                prices = item_prices(row, mine, catalog)
                if (pid not in known or old_fp.get(pid) != product_fingerprint(row, mine)
                        or cursor.in_window(row.get("date_upd")) or prices is None
                        or any(p <= 0 for p in prices.values())):
                    reread.append(pid)
                    continue
                fingerprints[pid] = old_fp[pid]
                cursor.saw(pid, row.get("date_upd"))
                if not is_on(row.get("active")):
                    present.append(pid)
                    continue
                for variant_id, price in prices.items():
                    yield StockUpdate(product_id=pid, variant_id=variant_id, price=price,
                                      stock=stock.get((pid, variant_id or "0"), 0))
            for start in range(0, len(reread), ID_CHUNK):
                chunk = reread[start:start + ID_CHUNK]
                full_rows = self.client.list_by_ids("products", chunk, {"display": "full"})
                found = {ident(r.get("id")) for r in full_rows}
                # deleted between the two calls: archived by the next run, not now
                present.extend(pid for pid in chunk if pid not in found)
                yield from self._map(full_rows, combos, stock, catalog, cursor, fingerprints)
        yield Present(product_ids=tuple(present))

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

    # -- the `stock` pass --------------------------------------------------

    def read_stock(self, ctx: ReadContext) -> Iterator[Item]:
        """Every stock row in bulk; prices only of products changed since the cursor (`stock_read`).

        Calls: the configuration, the running promotions (price mode `current`), the products
        whose `date_upd` is in the window (narrow), and every `stock_availables` row (narrow,
        1,000 per call); when something needs a price, also the three tax lookups and the
        combinations' impacts of those products (100 products per call). The first pass,
        `--full` and one pass a day price every product (all narrow, 1,000 per call).
        """
        settings = self._configuration()
        zone = _zone(settings.get("PS_TIMEZONE"))
        cursor = self.facts.cursor(ctx, what="PrestaShop stock", time_zone=zone)
        catalog = Catalog(api_base=self.base)
        if self.price_mode == "current":
            catalog.specific_prices = self._promotions(zone, ctx)
        promotions = promotion_digests(catalog.specific_prices)
        rows = self._rows_to_price(cursor, ctx.known_product_ids,
                                   promotions_changed(cursor.meta.get("promotions"), promotions))
        inactive = {ident(r.get("id")) for r in rows if not is_on(r.get("active"))}
        prices = self._stock_prices([r for r in rows if is_on(r.get("active"))], catalog, settings, cursor.full)
        yield from stock_updates(self._all_stock(), ctx.known_product_ids, prices, leave_out=inactive)
        cursor.meta = {"promotions": promotions}
        cursor.commit()

    def _rows_to_price(self, cursor: ChangeCursor, known: frozenset[str], promoted: set[str]) -> list[dict[str, Any]]:
        """Narrow rows of the imported products whose price may have changed: saved in the window
        (every product on a full pass), or whose running promotion started, ended or changed."""
        query = {"display": PRICE_FIELDS}
        if not cursor.full:
            query.update({"date": "1", "filter[date_upd]": f"[{cursor.since_text()},{FAR_FUTURE}]"})
        rows = self.client.list_all("products", query, LIST_PAGE)
        # the window's overlap brings back the last pass's newest products: priced again only if saved since
        fresh = [r for r in rows if cursor.full or cursor.fresh(ident(r.get("id")), r.get("date_upd"))]
        for row in rows:
            cursor.saw(ident(row.get("id")), row.get("date_upd"))
        rows = [r for r in fresh if ident(r.get("id")) in known]
        more = sorted((promoted & known) - {ident(r.get("id")) for r in rows})
        for start in range(0, len(more), ID_CHUNK):
            rows += self.client.list_by_ids("products", more[start:start + ID_CHUNK], {"display": PRICE_FIELDS})
        return rows

    def _all_stock(self) -> dict[tuple[str, str], int]:
        """Every stock row, narrow, 1,000 per call: (product, combination or "0") -> quantity."""
        rows = (row for page in self.client.iter_pages("stock_availables", {"display": STOCK_FIELDS}, LIST_PAGE)
                for row in page)
        return stock_map(rows, str(self.shop_id) if self.shop_id is not None else None)

    def _stock_prices(self, rows: Sequence[Mapping[str, Any]], catalog: Catalog, settings: Mapping[str, str],
                      every_product: bool) -> dict[str, dict[str | None, Decimal]]:
        """Gross prices of these products' items; nothing read when there is nothing to price."""
        if not rows:
            return {}
        country = ident(settings.get("PS_COUNTRY_DEFAULT"))
        groups = self.client.list_all("tax_rule_groups", {"display": "[id,name,active,deleted]"})
        rules = self.client.list_all("tax_rules", {"display": "full", "filter[id_country]": f"[{country}]"})
        taxes = self.client.list_all("taxes", {"display": "full"})
        catalog.rates = self._rates(settings, groups, rules, taxes, country)
        combos: dict[str, list] = {}
        if every_product:
            chunks: list[dict[str, str]] = [{}]
        else:
            ids = [ident(r.get("id")) for r in rows]
            chunks = [{"filter[id_product]": "[" + "|".join(ids[i:i + ID_CHUNK]) + "]"}
                      for i in range(0, len(ids), ID_CHUNK)]
        for chunk in chunks:
            for row in self.client.list_all("combinations", {"display": COMBINATION_PRICE_FIELDS, **chunk},
                                            LIST_PAGE):
                combos.setdefault(ident(row.get("id_product")), []).append(row)
        prices = {}
        for row in rows:
            pid = ident(row.get("id"))
            priced = item_prices(row, combos.get(pid, []), catalog)
            if priced is not None:  # a tax group the shop lacks: the import skips it with the reason
                prices[pid] = priced
        return prices
