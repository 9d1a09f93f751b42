"""Magento 2 connector: settings, shop identity, check, and a bulk (incremental) read.

One run:
1. lookups: the store view's config (media URL, website), tax rules and rates, the
   category tree; option labels of configurable attributes when first needed;
2. a narrow listing of every product (id, SKU, type, `updated_at`, child
   links; 300 per call, by `entity_id`, stopping on `total_count`): which simple
   products are children of which configurable, which products exist;
3. per batch of groups (a configurable with its children, or a plain product):
   the full records of the groups that changed (all of them on a full read), by
   `entity_id in (...)`, and the stock of every SKU of the batch (MSI source items
   by SKU, or the legacy stock items when MSI is absent).

The `stock` pass (`read_stock`) is the same read without the lookups (until a product
changed) and with all source items read in one bulk scan; `serve` writes through
`stock.MagentoStockWriter`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from gwsync.connector import Connector, ReadContext, Setting
from gwsync.errors import AuthError, ConfigError
from gwsync.http import CallStats, RateLimiter
from gwsync.kit import ChangeCursor, Facts, shop_identity
from gwsync.models import Item, Present, StockUpdate

from .client import PAGE_SIZE, MagentoClient, Refused, in_filter, rest_base
from .mapping import (
    IMPORTED_TYPES,
    Lookups,
    child_ids,
    flatten_categories,
    ident,
    legacy_stock,
    map_configurable,
    map_simple,
    media_base,
    msi_stock,
    option_attributes,
    skipped_type,
    store_config,
    tax_rates_by_class,
    text_of,
)
from .stock import MagentoStockWriter

log = logging.getLogger(__name__)

MARGIN = timedelta(minutes=5)  # saves in progress while a page was read; updated_at has whole seconds
SKU_CHUNK = 100  # SKUs per source-items call (URL length; 3 sources still fit in one page of 300)
LISTING_FIELDS = ("items[id,sku,type_id,updated_at,extension_attributes[configurable_product_links]],"
                  "total_count")
RECORD_FIELDS = ("items[id,sku,name,price,status,visibility,type_id,updated_at,custom_attributes,"
                 "media_gallery_entries,extension_attributes[website_ids,category_links,"
                 "configurable_product_options,configurable_product_links]],total_count")


def _yes(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "yes", "y", "true", "on")


@dataclass(frozen=True)
class Listed:
    """One product of the narrow listing."""

    id: str
    sku: str
    type_id: str
    updated_at: str
    children: tuple[str, ...] = ()


@dataclass
class Group:
    """A unit of work: a configurable and its children, or one product."""

    head: Listed
    children: list[Listed] = field(default_factory=list)

    @property
    def members(self) -> list[Listed]:
        return [self.head, *self.children]

    def digest(self) -> str:
        """Membership: a child added or removed (deleted) makes the group read again."""
        text = ",".join(sorted(c.id for c in self.children))
        return hashlib.sha1(text.encode()).hexdigest()[:8]


def group_listing(listing: Sequence[Listed]) -> tuple[list[Group], list[Listed]]:
    """Groups in entity id order, and products of types that are not imported."""
    by_id = {p.id: p for p in listing}
    parent_of: dict[str, str] = {}
    for product in listing:
        if product.type_id == "configurable":
            for child in product.children:
                parent_of.setdefault(child, product.id)
    groups, others = [], []
    for product in listing:
        if product.type_id == "configurable":
            kids = [by_id[c] for c in product.children
                    if c in by_id and parent_of.get(c) == product.id and by_id[c].type_id == "simple"]
            groups.append(Group(product, kids))
        elif product.type_id == "simple":
            if product.id not in parent_of or parent_of[product.id] not in by_id:
                groups.append(Group(product))
        else:
            others.append(product)
    return groups, others


def batches(groups: Sequence[Group], size: int = PAGE_SIZE) -> Iterator[list[Group]]:
    """Consecutive groups with at most `size` products (a larger group goes alone)."""
    batch: list[Group] = []
    count = 0
    for group in groups:
        n = len(group.members)
        if batch and count + n > size:
            yield batch
            batch, count = [], 0
        batch.append(group)
        count += n
    if batch:
        yield batch


class MagentoConnector(Connector):
    platform = "magento"
    title = "Magento"
    facts = Facts(paging="page-number", page_size=PAGE_SIZE, row_key="id", cursor_field="updated_at",
                  time_zone="UTC", margin=MARGIN, rate_limit=8)
    settings = (
        Setting("url", "MAGENTO_URL", "Shop address, e.g. https://shop.example.com (the tool adds "
                "/rest/<store>/V1/)", kind="url"),
        Setting("access_token", "MAGENTO_ACCESS_TOKEN", "Integration Access Token", secret=True,
                credential=True),
        Setting("oauth", "MAGENTO_OAUTH", "Does the shop need OAuth 1.0a signing (Magento 2.4.4+ that refuses "
                "access tokens as bearer tokens)? yes/no", credential=True, required=False, ask_if="access_token"),
        Setting("consumer_key", "MAGENTO_CONSUMER_KEY", "Integration Consumer Key", secret=True, credential=True,
                required=False, ask_if="oauth"),
        Setting("consumer_secret", "MAGENTO_CONSUMER_SECRET", "Integration Consumer Secret", secret=True,
                credential=True, required=False, ask_if="oauth"),
        Setting("access_token_secret", "MAGENTO_ACCESS_TOKEN_SECRET", "Integration Access Token Secret",
                secret=True, credential=True, required=False, ask_if="oauth"),
        Setting("store", "MAGENTO_STORE", "Store view code (names, descriptions, prices of that view)",
                required=False, default="default"),
        Setting("catalog_prices", "MAGENTO_CATALOG_PRICES", "net or gross: how the shop's catalog prices are "
                "entered (Stores > Configuration > Sales > Tax > Calculation Settings > Catalog Prices)",
                required=False, default="net"),
        Setting("country", "MAGENTO_TAX_COUNTRY", "Country whose VAT rates apply (ISO code)", required=False,
                default="PL"),
        Setting("sources", "MAGENTO_SOURCES", "MSI source codes whose stock counts, comma separated "
                "(default: all)", required=False),
        Setting("ean_attribute", "MAGENTO_EAN_ATTRIBUTE", "Attribute code holding the EAN (none: no EAN)",
                required=False, default="ean"),
    )

    def __init__(self, config: Mapping[str, Any], stats: CallStats | None = None) -> None:
        super().__init__(config, stats)
        self.store = str(self.config.get("store") or "default").strip()
        if not self.store or self.store == "all":
            raise ConfigError("MAGENTO_STORE must be a store view code (e.g. default); 'all' is for writes")
        self.base = rest_base(str(self.config.get("url") or ""), self.store)
        prices = str(self.config.get("catalog_prices") or "net").strip().lower()
        if prices not in ("net", "gross"):
            raise ConfigError("MAGENTO_CATALOG_PRICES must be net or gross")
        self.catalog_gross = prices == "gross"
        self.country = str(self.config.get("country") or "PL").strip().upper()
        sources = [s.strip() for s in str(self.config.get("sources") or "").split(",") if s.strip()]
        self.sources = frozenset(sources) if sources else None
        self.source_order = tuple(dict.fromkeys(sources)) or None  # a sale empties the sources in this order
        ean = str(self.config.get("ean_attribute") or "").strip()
        self.ean_attribute = None if ean.lower() in ("", "none", "no") else ean
        oauth = self._oauth_values()
        auth, headers = MagentoClient.auth_for(str(self.config.get("access_token") or "").strip(), oauth)
        # Every REST call boots the whole application: a few calls at a time is what shops bear
        self._limiter = RateLimiter(8, 4)
        self._auth, self._headers = auth, {"Accept": "application/json", **headers}
        http = self.http(self.base, auth=auth, headers=self._headers, limiter=self._limiter)
        self.client = MagentoClient(http, oauth=oauth is not None)
        self._writes: MagentoClient | None = None
        self._msi: bool | None = None

    def _oauth_values(self) -> tuple[str, str, str] | None:
        """The three OAuth values beside the access token: all of them, or none (bearer token)."""
        names = {"consumer_key": "MAGENTO_CONSUMER_KEY", "consumer_secret": "MAGENTO_CONSUMER_SECRET",
                 "access_token_secret": "MAGENTO_ACCESS_TOKEN_SECRET"}
        values = {k: str(self.config.get(k) or "").strip() for k in names}
        given = [k for k, v in values.items() if v]
        if not given and not _yes(self.config.get("oauth")):
            return None
        missing = [names[k] for k, v in values.items() if not v]
        if missing:
            raise ConfigError(f"OAuth signing needs {', '.join(missing)} too (the integration shows all four "
                              "values); or leave all three unset to send the access token as a bearer token")
        return values["consumer_key"], values["consumer_secret"], values["access_token_secret"]

    @property
    def shop(self) -> str:
        root = self.base[: self.base.rfind("/rest/")]
        return shop_identity(root, setting="MAGENTO_URL",
                             qualifier=None if self.store == "default" else self.store)

    def close(self) -> None:
        self.client.close()
        if self._writes is not None:
            self._writes.close()

    def stock_writer(self) -> MagentoStockWriter:
        """Writes go through `/rest/all/V1/` (admin scope): with a store code Magento would keep
        store-view copies of what it writes (magento2#9186). Same credentials, same rate limit."""
        if self._writes is None:
            root = self.base[: self.base.rfind("/rest/")]
            http = self.http(rest_base(root, "all"), auth=self._auth, headers=self._headers, limiter=self._limiter)
            self._writes = MagentoClient(http, oauth=self.client.oauth)
        return MagentoStockWriter(self.client, self._writes, has_msi=self._has_msi, sources=self.source_order)

    # -- check -------------------------------------------------------------------------

    def check(self) -> str:
        """The credentials and every resource the import reads: one line per problem."""
        client = self.client
        config = self._store_config()
        problems: list[str] = []
        missing: list[str] = []
        probes = (
            ("products", "products", {"searchCriteria[pageSize]": "1", "fields": "total_count"}),
            ("categories", "categories", {"depth": "1"}),
            ("product attributes", "products/attributes", {"searchCriteria[pageSize]": "1",
                                                           "fields": "total_count"}),
            ("tax rules", "taxRules/search", {"searchCriteria[pageSize]": "1"}),
            ("tax rates", "taxRates/search", {"searchCriteria[pageSize]": "1"}),
        )
        counts: dict[str, Any] = {}
        for what, path, params in probes:
            try:
                counts[what] = client.call(path, params, what=what)
            except Refused as exc:
                problems.append(str(exc))
                missing.extend(exc.resources)
        try:
            stock = "MSI source items" if self._has_msi() else "legacy stock items (no MSI)"
        except Refused as exc:
            problems.append(str(exc))
            stock = "stock unreadable"
        if problems:
            raise AuthError("\n".join(problems))
        total = (counts.get("products") or {}).get("total_count", "?")
        return (f"Magento store view '{self.store}' at {self.base}: credentials accepted "
                f"({'OAuth 1.0a HMAC-SHA256' if client.oauth else 'bearer token'}), {total} products, "
                f"currency {config.get('base_currency_code', '?')}, stock from {stock}, VAT country {self.country}")

    # -- lookups -------------------------------------------------------------------------

    def _store_config(self) -> Mapping[str, Any]:
        configs = self.client.call("store/storeConfigs", what="store configuration") or []
        config = store_config(configs if isinstance(configs, list) else [], self.store)
        if config is None:
            codes = ", ".join(sorted(str(c.get("code")) for c in configs if isinstance(c, Mapping)))
            raise ConfigError(f"MAGENTO_STORE={self.store!r} is not a store view of the shop; it has: {codes}")
        return config

    def _lookups(self) -> Lookups:
        config = self._store_config()
        rules = self.client.list_all("taxRules/search", what="tax rules", sort=None)
        rates = self.client.list_all("taxRates/search", what="tax rates", sort=None)
        tree = self.client.call("categories", what="categories")
        return Lookups(
            media_base=media_base(config), website_id=ident(config.get("website_id")) or None,
            rates=tax_rates_by_class(rules, rates, self.country),
            categories=flatten_categories(tree if isinstance(tree, Mapping) else None),
            attribute_codes={}, option_labels={}, catalog_gross=self.catalog_gross,
            ean_attribute=self.ean_attribute,
        )

    @staticmethod
    def _lookups_digest(lookups: Lookups) -> str:
        facts = {"media": lookups.media_base, "website": lookups.website_id, "gross": lookups.catalog_gross,
                 "rates": {k: str(v) for k, v in sorted(lookups.rates.items())},
                 "categories": {k: [v.name, v.parent_id] for k, v in sorted(lookups.categories.items())}}
        return hashlib.sha1(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]

    def _learn_options(self, records: Sequence[Mapping[str, Any]], lookups: Lookups) -> None:
        """Codes and option labels of configurable attributes not met before in this run (a few calls a run)."""
        wanted = sorted({aid for r in records if r.get("type_id") == "configurable"
                         for aid, _ in option_attributes(r) if aid and aid not in lookups.attribute_codes})
        if not wanted:
            return
        codes = dict(lookups.attribute_codes)
        labels = dict(lookups.option_labels)
        rows = self.client.list_all("products/attributes", what="product attributes", sort=None,
                                    key=lambda r: str(r.get("attribute_id")),
                                    filters=[in_filter("attribute_id", wanted)],
                                    fields="items[attribute_id,attribute_code],total_count")
        for row in rows:
            code = text_of(row.get("attribute_code"))
            if not code:
                continue
            codes[ident(row.get("attribute_id"))] = code
            options = self.client.call(f"products/attributes/{code}/options", what=f"options of {code}") or []
            labels[code] = {ident(o.get("value")): text_of(o.get("label"))
                            for o in options if isinstance(o, Mapping) and text_of(o.get("value"))}
        lookups.attribute_codes, lookups.option_labels = codes, labels

    # -- stock -----------------------------------------------------------------------------

    def _has_msi(self) -> bool:
        if self._msi is None:
            body = self.client.call("inventory/source-items", {"searchCriteria[pageSize]": "1"},
                                    what="MSI source items", allow_404=True)
            self._msi = body is not None
            if not self._msi:
                log.info("Magento: no MSI (inventory/source-items answers 404); reading legacy stock items")
        return self._msi

    def _stock(self, skus: Sequence[str], known: Mapping[str, int] | None) -> dict[str, int]:
        """SKU -> quantity for these SKUs: from the stock read in bulk, else MSI source items by SKU."""
        if known is not None:
            return {sku: known.get(sku, 0) for sku in skus}
        out: dict[str, int] = {}
        sources = sorted(self.sources) if self.sources else None
        for start in range(0, len(skus), SKU_CHUNK):
            chunk = skus[start:start + SKU_CHUNK]
            filters = [in_filter("sku", chunk)]
            if sources:
                filters.append(in_filter("source_code", sources))
            rows = self.client.list_all("inventory/source-items", what="MSI source items", sort=None,
                                        key=lambda r: (r.get("sku"), r.get("source_code")), filters=filters)
            out.update(msi_stock(rows, self.sources))
        return out

    def _all_msi_stock(self) -> dict[str, int]:
        """Every counted source item, by SKU then source (a stable order across pages), summed by SKU."""
        out: dict[str, int] = {}
        filters = [in_filter("source_code", sorted(self.sources))] if self.sources else []
        for page in self.client.pages("inventory/source-items", what="MSI source items", sort="sku",
                                      filters=filters, key=lambda r: (r.get("sku"), r.get("source_code")),
                                      extra={"searchCriteria[sortOrders][1][field]": "source_code",
                                             "searchCriteria[sortOrders][1][direction]": "ASC"}):
            for sku, quantity in msi_stock(page, self.sources).items():
                out[sku] = out.get(sku, 0) + quantity
        return out

    def _legacy_stock(self, listing: Sequence[Listed]) -> dict[str, int]:
        """Every legacy stock row (`stockItems/lowStock` with a huge threshold), by SKU."""
        rows = self.client.list_all("stockItems/lowStock", what="legacy stock items", sort=None,
                                    key=lambda r: str(r.get("item_id")),
                                    extra={"scopeId": "0", "qty": "1000000000"}, plain_paging=True)
        by_id = legacy_stock(rows)
        return {p.sku: by_id.get(p.id, 0) for p in listing}

    # -- read --------------------------------------------------------------------------------

    def _listing(self) -> list[Listed]:
        out = []
        for page in self.client.pages("products", what="products", fields=LISTING_FIELDS):
            for row in page:
                out.append(Listed(id=ident(row.get("id")), sku=text_of(row.get("sku")),
                                  type_id=text_of(row.get("type_id")), updated_at=text_of(row.get("updated_at")),
                                  children=tuple(child_ids(row))))
        return out

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        yield from self._read(ctx, stock_pass=False)

    def read_stock(self, ctx: ReadContext) -> Iterator[Item]:
        """The `stock` pass: the import's read, minus what only the catalog needs.

        Magento has no stock change filter (stock writes leave `updated_at`), so every run
        reads all stock, in bulk: the narrow listing (which SKU is which item, and
        `updated_at` for the products whose price or options changed) and one scan of all
        MSI source items (or the legacy stock list), 300 rows a call, instead of the
        import's source-item calls by 100 SKUs. Lookups (store, taxes, categories) are read
        only when a product changed; a change of tax rates or categories reaches the
        Gateway with the nightly import, which reads everything again when they change.
        """
        yield from self._read(ctx, stock_pass=True)

    def _read(self, ctx: ReadContext, *, stock_pass: bool) -> Iterator[Item]:
        cursor = self.facts.cursor(ctx, what="Magento")
        lookups: Lookups | None = None
        digest = None
        if not stock_pass:
            lookups = self._lookups()
            digest = self._lookups_digest(lookups)
            if cursor.meta.get("lookups") != digest:
                cursor.force_full("store settings, tax rates or categories changed")
        listing = self._listing()
        groups, others = group_listing(listing)
        if not self._has_msi():
            known_stock: Mapping[str, int] | None = self._legacy_stock(listing)
        else:
            known_stock = self._all_msi_stock() if stock_pass else None  # else: by SKU, per batch
        old_members: Mapping[str, str] = cursor.meta.get("groups") or {}
        members: dict[str, str] = {}
        for product in listing:
            cursor.saw(product.id, product.updated_at)
        if not stock_pass:  # they carry no stock: the import reports them once a run, that is enough
            for product in others:
                yield skipped_type({"id": product.id, "type_id": product.type_id})
        for batch in batches(groups):
            changed = [g for g in batch if self._changed(g, cursor, ctx, old_members)]
            if changed and lookups is None:
                lookups = self._lookups()
            yield from self._batch(batch, changed, lookups, known_stock)
            for group in batch:
                if group.children:
                    members[group.head.id] = group.digest()
        cursor.meta = {"groups": members} if digest is None else {"lookups": digest, "groups": members}
        cursor.commit()

    @staticmethod
    def _changed(group: Group, cursor: ChangeCursor, ctx: ReadContext, old_members: Mapping[str, str]) -> bool:
        if cursor.full or group.head.id not in ctx.known_product_ids:
            return True
        if group.children and old_members.get(group.head.id) != group.digest():
            return True
        return any(cursor.in_window(m.updated_at) and cursor.fresh(m.id, m.updated_at) for m in group.members)

    def _batch(self, batch: Sequence[Group], changed: Sequence[Group], lookups: Lookups | None,
               known_stock: Mapping[str, int] | None) -> Iterator[Item]:
        skus = [m.sku for g in batch for m in g.members if m.type_id == "simple" and m.sku]
        stock = self._stock(skus, known_stock)
        records: dict[str, dict] = {}
        ids = [m.id for g in changed for m in g.members]
        if ids:
            for page in self.client.pages("products", what="products", fields=RECORD_FIELDS,
                                          filters=[in_filter("entity_id", ids)]):
                records.update((ident(r.get("id")), r) for r in page)
            self._learn_options(list(records.values()), lookups)
        changed_ids = {g.head.id for g in changed}
        for group in batch:
            if group.head.id in changed_ids:
                assert lookups is not None  # read before any changed batch
                yield from self._map_group(group, records, stock, lookups)
            else:
                yield from self._unchanged(group, stock)

    @staticmethod
    def _map_group(group: Group, records: Mapping[str, dict], stock: Mapping[str, int],
                   lookups: Lookups) -> Iterator[Item]:
        head = records.get(group.head.id)
        if head is None:  # deleted between the listing and this read: it is gone next run
            yield Present(product_ids=(group.head.id,))
            return
        if head.get("type_id") == "configurable":
            children = [records[c.id] for c in group.children if c.id in records]
            yield from map_configurable(head, children, stock, lookups)
        elif head.get("type_id") in IMPORTED_TYPES:
            yield map_simple(head, stock.get(text_of(head.get("sku")), 0), lookups)
        else:
            yield skipped_type(head)

    @staticmethod
    def _unchanged(group: Group, stock: Mapping[str, int]) -> Iterator[Item]:
        """A group whose records did not change: only its stock may have (MSI writes leave updated_at)."""
        if not group.children:
            yield StockUpdate(product_id=group.head.id, stock=stock.get(group.head.sku, 0))
            return
        yield Present(product_ids=(group.head.id,))
        for child in group.children:
            yield StockUpdate(product_id=group.head.id, variant_id=child.id, stock=stock.get(child.sku, 0))
