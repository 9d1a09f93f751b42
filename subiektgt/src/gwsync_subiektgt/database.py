"""The only module that speaks to Subiekt GT's database: SQLAlchemy Core, read-only.

Every statement is built with `select()` on the declared tables (schema.py): no text
SQL, no dialect hints (no TOP written by hand, no NOLOCK: short READ COMMITTED reads),
COALESCE rather than ISNULL, so the same code runs on SQL Server and on SQLite. The
catalog takes a handful of set-based queries whatever its size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import Select, and_, bindparam, case, create_engine, func, or_, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.types import NullType

from gwsync.http import CallStats
from gwsync.errors import AuthError, CannotRun, ConfigError, SyncError, Unreachable
from gwsync.redact import register_secret

from . import schema as s
from .mapping import Photo, Rules, flag, units

log = logging.getLogger(__name__)

GOOD, SERVICE, SET = 1, 2, 8  # tw_Rodzaj
DB_HOST = "subiekt-db"  # how queries show in the run's call counts
URL_EXAMPLE = "mssql+pymssql://user@host:1433/DATABASE"
PHOTO_BATCH = 16  # BLOBs per query: photos can be megabytes each


def parse_url(raw: str | None, password: str | None = None) -> URL:
    """The SQLAlchemy URL with the password (from the URL or SUBIEKT_DB_PASSWORD) registered as a secret."""
    text = (raw or "").strip()
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise ConfigError(f"SUBIEKT_DB_URL is not a database URL; expected e.g. {URL_EXAMPLE}") from None
    if url.password is None and password:
        url = url.set(password=password)
    if url.password:
        secret = str(url.password)
        for form in (secret, quote_plus(secret), quote_plus(secret).replace("+", "%20")):
            register_secret(form)
    return url


def needs_password(raw: Any) -> bool:
    """The URL names a user without a password: SUBIEKT_DB_PASSWORD must supply it."""
    try:
        url = make_url(str(raw or "").strip())
    except (ArgumentError, ValueError):
        return False
    return bool(url.username) and url.password is None


def shown(url: URL) -> str:
    """Where the database is, as messages name it: login, server, port and database, never the
    password (the URL itself is a secret, masked wherever it appears)."""
    if not url.host:
        return f"the file {url.database}" if url.database else url.drivername
    port = f":{url.port}" if url.port else ""
    login = f"{url.username}@" if url.username else ""
    return f"{login}{url.host}{port}/{url.database or ''}"


def _read_only(url: URL) -> URL:
    """A SQLite copy opens read-only (a wrong path is an error, not a new empty file); it has no
    login, so a user and password in the URL are not passed on."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return url
    path = url.database.removeprefix("file:")
    return URL.create(url.drivername, database=f"file:{path}", query={"mode": "ro", "uri": "true"})


def eligible() -> Any:
    """Goods for the e-shop (tw_Zablokowany is mapped: a blocked good is inactive, not absent)."""
    t = s.towar.c
    return and_(t.tw_Rodzaj == GOOD, t.tw_Usuniety == 0, t.tw_SklepInternet == 1)


class SubiektDatabase:
    """A read-only view of one company's Subiekt GT database."""

    def __init__(self, url: URL, schema: str | None = None, stats: CallStats | None = None) -> None:
        self.url = url
        self.where = shown(url)
        self.stats = stats or CallStats()
        connect_args: dict[str, Any] = {}
        if url.get_driver_name() == "pymssql":
            # seconds: a login that hangs (firewall), a statement that waits on locks
            connect_args = {"login_timeout": 15, "timeout": 600, "appname": "gateway-sync"}
        try:
            engine: Engine = create_engine(_read_only(url), connect_args=connect_args, pool_pre_ping=True)
        except NoSuchModuleError:
            raise ConfigError(f"SUBIEKT_DB_URL: no driver for '{url.drivername}'; use {URL_EXAMPLE}") from None
        except (ArgumentError, ModuleNotFoundError, ImportError) as exc:
            raise ConfigError(f"SUBIEKT_DB_URL {self.where}: {type(exc).__name__}: {exc}") from None
        if schema:
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine = engine

    # -- plumbing ----------------------------------------------------------------

    def all(self, statement: Select, what: str) -> list[Mapping[str, Any]]:
        """Run one statement and read its rows (every statement is bounded: a page, an aggregate,
        metadata, a few BLOBs), on a pooled connection given back at once."""
        self.stats.record(DB_HOST, what, 1, 0)
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(statement).mappings())
        except SQLAlchemyError as exc:
            raise self.error(exc) from None

    def error(self, exc: SQLAlchemyError) -> SyncError:
        return database_error(exc, self.where)

    def close(self) -> None:
        self.engine.dispose()

    # -- lookups -------------------------------------------------------------------

    def parameters(self) -> Mapping[str, Any]:
        """tw_Parametr: one row of company-wide product settings (labels of tw_Pole1..8, price levels)."""
        rows = self.all(select(s.parametr).order_by(s.parametr.c.twp_Id).limit(1), "tw_Parametr")
        return rows[0] if rows else {}

    def warehouses(self) -> list[Mapping[str, Any]]:
        m = s.magazyn.c
        return self.all(select(m.mag_Id, m.mag_Symbol, m.mag_Nazwa, m.mag_Glowny).order_by(m.mag_Id), "sl_Magazyn")

    def counts(self) -> dict[str, int]:
        """Goods by import rule: what an import takes and what it leaves out, and why."""
        t = s.towar.c
        statement = (select(t.tw_Rodzaj, t.tw_Usuniety, t.tw_SklepInternet, t.tw_Zablokowany,
                            func.count().label("n"))
                     .group_by(t.tw_Rodzaj, t.tw_Usuniety, t.tw_SklepInternet, t.tw_Zablokowany))
        out = dict.fromkeys(("importable", "blocked", "deleted", "not_for_shop", "services", "sets", "other"), 0)
        for row in self.all(statement, "tw__Towar counts"):
            kind, n = row["tw_Rodzaj"], int(row["n"])
            if flag(row["tw_Usuniety"]):
                out["deleted"] += n
            elif kind != GOOD:
                out["services" if kind == SERVICE else "sets" if kind == SET else "other"] += n
            elif not flag(row["tw_SklepInternet"]):
                out["not_for_shop"] += n
            else:
                out["importable"] += n
                out["blocked"] += n if flag(row["tw_Zablokowany"]) else 0
        return out

    def probe_tables(self) -> None:
        """Read one row of every table an import reads: a missing right shows now, naming the table."""
        probes = [select(s.zdjecie.c.zd_Id, s.zdjecie.c.zd_CRC)]  # the BLOB column itself is read later
        probes += [select(*list(table.c)[:1]) for table in s.metadata.sorted_tables if table is not s.zdjecie]
        for statement in probes:
            self.all(statement.limit(1), "probe")

    # -- the catalog -----------------------------------------------------------------

    def product_page(self, rules: Rules, after: tuple[int, int] | None, size: int) -> list[Mapping[str, Any]]:
        """One keyset page of goods with price level, sales VAT, group and model, in (group key, tw_Id)
        order so that a model's goods arrive together (lone goods carry group key 0 and come first).

        Short pages keep every statement short on a server that Subiekt's users share."""
        statement, key = self._products(rules)
        if after is not None:
            group, last = after
            statement = statement.where(or_(key > group, and_(key == group, s.towar.c.tw_Id > last)))
        return self.all(statement.order_by(key, s.towar.c.tw_Id).limit(size), "tw__Towar products")

    def products_of(self, rules: Rules, ids: Sequence[int]) -> list[Mapping[str, Any]]:
        """The same rows for a few goods by id (changed ones), grouped the same way."""
        statement, key = self._products(rules)
        statement = statement.where(s.towar.c.tw_Id.in_(list(ids))).order_by(key, s.towar.c.tw_Id)
        return self.all(statement, "tw__Towar products by id")

    def _products(self, rules: Rules) -> tuple[Select, Any]:
        t, c, v, g, mt, md = s.towar, s.cena, s.stawka_vat, s.grupa, s.model_towar, s.model
        n = rules.price_level
        key = func.coalesce(mt.c.mtw_IdModel, 0) if rules.group_by_model else t.c.tw_Id * 0
        fields = [t.c[f"tw_Pole{i}"] for i in rules.option_fields]
        statement = (
            select(key.label("group_key"), t.c.tw_Id, t.c.tw_Symbol, t.c.tw_Nazwa, t.c.tw_Opis, t.c.tw_Charakter,
                   t.c.tw_PodstKodKresk, t.c.tw_IdVatSp, t.c.tw_Masa, t.c.tw_Zablokowany, *fields, g.c.grt_Nazwa,
                   mt.c.mtw_IdModel, md.c.mdt_Nazwa, v.c.vat_Stawka, v.c.vat_Symbol,
                   c.c[f"tc_CenaBrutto{n}"].label("gross"), c.c[f"tc_IdWaluta{n}"].label("currency"))
            .select_from(t.outerjoin(c, c.c.tc_IdTowar == t.c.tw_Id)
                         .outerjoin(v, v.c.vat_Id == t.c.tw_IdVatSp)  # the sales rate, never tw_IdVatZak
                         .outerjoin(g, g.c.grt_Id == t.c.tw_IdGrupa)
                         .outerjoin(mt, mt.c.mtw_IdTowar == t.c.tw_Id)
                         .outerjoin(md, md.c.mdt_Id == mt.c.mtw_IdModel))
            .where(eligible())
        )
        return statement, key

    def listing_page(self, rules: Rules, after: int | None, size: int) -> list[Mapping[str, Any]]:
        """Every good an import takes, narrow (identity, model and its name, blocked, price): incremental runs."""
        t, c, mt, md = s.towar, s.cena, s.model_towar, s.model
        n = rules.price_level
        statement = (select(t.c.tw_Id, mt.c.mtw_IdModel, md.c.mdt_Nazwa, t.c.tw_Zablokowany,
                            c.c[f"tc_CenaBrutto{n}"].label("gross"), c.c[f"tc_IdWaluta{n}"].label("currency"))
                     .select_from(t.outerjoin(c, c.c.tc_IdTowar == t.c.tw_Id)
                                  .outerjoin(mt, mt.c.mtw_IdTowar == t.c.tw_Id)
                                  .outerjoin(md, md.c.mdt_Id == mt.c.mtw_IdModel))
                     .where(eligible()))
        if after is not None:
            statement = statement.where(t.c.tw_Id > after)
        return self.all(statement.order_by(t.c.tw_Id).limit(size), "tw__Towar listing")

    def stock(self, warehouse_ids: Iterable[int]) -> dict[int, int]:
        """Available units per good: sum over the chosen warehouses of st_Stan - st_StanRez, each at least 0."""
        st = s.stan.c
        free = st.st_Stan - func.coalesce(st.st_StanRez, 0)
        statement = (select(st.st_TowId, func.sum(case((free > 0, free), else_=0)).label("available"))
                     .where(st.st_MagId.in_(list(warehouse_ids))).group_by(st.st_TowId))
        return {row["st_TowId"]: units(row["available"]) for row in self.all(statement, "tw_Stan")}

    def photos(self) -> dict[int, list[Photo]]:
        """Photo metadata of the goods an import takes (no BLOBs): main photo first."""
        z, t = s.zdjecie.c, s.towar.c
        statement = (select(z.zd_Id, z.zd_IdTowar, z.zd_CRC,
                            case((z.zd_Zdjecie.is_(None), 1), else_=0).label("empty"))
                     .select_from(s.zdjecie.join(s.towar, t.tw_Id == z.zd_IdTowar))
                     .where(eligible()).order_by(z.zd_IdTowar, z.zd_Glowne.desc(), z.zd_Id))
        out: dict[int, list[Photo]] = {}
        for row in self.all(statement, "tw_ZdjecieTw metadata"):
            out.setdefault(row["zd_IdTowar"], []).append(Photo(row["zd_Id"], row["zd_CRC"], flag(row["empty"])))
        return out

    def photo_bytes(self, photo_ids: Sequence[int]) -> dict[int, bytes | None]:
        """The BLOBs of a few photos (one query)."""
        z = s.zdjecie.c
        statement = select(z.zd_Id, z.zd_Zdjecie).where(z.zd_Id.in_(list(photo_ids)))
        found: dict[int, bytes | None] = {}
        for row in self.all(statement, "tw_ZdjecieTw BLOBs"):
            blob = row["zd_Zdjecie"]
            found[row["zd_Id"]] = None if blob is None else bytes(blob)
        return found

    # -- change log -------------------------------------------------------------------

    def change_clock(self) -> Any:
        """Subiekt's own newest tw_ZmianaTw time, as the driver returns it (None: empty log)."""
        rows = self.all(select(func.max(s.zmiana.c.twz_CzasModyf).label("newest")), "tw_ZmianaTw clock")
        return rows[0]["newest"] if rows else None

    def changed_since(self, since: Any) -> set[int]:
        """Goods whose tw_ZmianaTw entries are at or after `since` (the value bound back unchanged)."""
        z = s.zmiana.c
        statement = (select(z.twz_TowarId).where(z.twz_CzasModyf >= bindparam("since", since, type_=NullType()))
                     .distinct())
        return {row["twz_TowarId"] for row in self.all(statement, "tw_ZmianaTw changes")}


# -- errors ------------------------------------------------------------------------------

_AUTH_CODES = {18456, 18452, 18486, 18487, 18488}  # login failed / locked / expired
_RIGHTS_CODES = {229, 230, 262, 297}  # permission denied on object / column
_DATABASE_CODES = {4060, 911}  # cannot open database / database does not exist
_UNREACHABLE_CODES = {20009, 20002, 20003, 20006, 20017, 20018, 20019, 20047}


def _code_and_text(exc: DBAPIError) -> tuple[int | None, str]:
    orig = exc.orig
    args = getattr(orig, "args", ()) or ()
    code = args[0] if args and isinstance(args[0], int) else None
    parts = []
    for arg in args:
        if isinstance(arg, bytes):
            parts.append(arg.decode("utf-8", "replace"))
        elif not isinstance(arg, int):
            parts.append(str(arg))
    message = " ".join(parts) or str(orig)
    return code, " ".join(message.split())


def database_error(exc: SQLAlchemyError, where: str) -> SyncError:
    """One line for the user: what went wrong and what to fix, never the password."""
    if not isinstance(exc, DBAPIError):
        return CannotRun(f"Subiekt GT database {where}: {type(exc).__name__}: {exc}")
    code, message = _code_and_text(exc)
    lowered = message.lower()
    if code in _AUTH_CODES or "login failed" in lowered:
        return AuthError(f"Subiekt GT: SQL Server refused the login at {where} (check the user and "
                         "SUBIEKT_DB_PASSWORD; use a SQL login, not Windows authentication)")
    if code in _RIGHTS_CODES or "permission was denied" in lowered:
        return AuthError(f"Subiekt GT: the login at {where} may not read the tables ({message[:160]}); "
                         "grant it db_datareader on the company database")
    if code in _DATABASE_CODES or "cannot open database" in lowered:
        return CannotRun(f"Subiekt GT: cannot open the database named in {where}; check the database "
                         "(one per company) and that the login is a user of it")
    if "no such table" in lowered or "invalid object name" in lowered or code == 208:
        return CannotRun(f"Subiekt GT: {where} is not a Subiekt GT database (no table tw__Towar or "
                         "another one it needs; check the database name and SUBIEKT_SCHEMA)")
    if code in _UNREACHABLE_CODES or "unable to connect" in lowered or "unable to open database" in lowered:
        return Unreachable(f"Subiekt GT: cannot reach the database at {where} (check host, the static TCP "
                           "port 1433, firewall or VPN)")
    return CannotRun(f"Subiekt GT database {where}: {message[:300]}")


def cursor_value(value: Any) -> dict[str, str] | None:
    """The change-log time as stored in the cursor, so it can be bound back exactly as read."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    return {"text": str(value)}


def bound_value(stored: Mapping[str, str]) -> Any:
    if "datetime" in stored:
        return datetime.fromisoformat(stored["datetime"])
    return stored["text"]


