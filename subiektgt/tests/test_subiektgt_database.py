"""The database side: portable statements, bulk query counts, stock, photos, errors, secrets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.dialects import mssql, sqlite
from sqlalchemy.exc import OperationalError, ProgrammingError

from gwsync.connector import ReadContext
from gwsync.errors import AuthError, CannotRun, ConfigError, Unreachable
from gwsync.models import Product, Skipped
from gwsync.redact import redact
from gwsync_subiektgt.connector import SubiektGTConnector
from gwsync_subiektgt.database import DB_HOST, SubiektDatabase, database_error, needs_password, parse_url


def connector(fake, **overrides) -> SubiektGTConnector:
    return SubiektGTConnector({**fake.config(), **overrides})


def queries(conn: SubiektGTConnector) -> dict[str, int]:
    return {route.split(" ", 1)[1]: n for route, n in conn.stats.per_route().items() if route.startswith(DB_HOST)}


class Recorder:
    """Statements a read sends, answered with a few canned rows (no database)."""

    def __init__(self) -> None:
        self.statements = []

    def __call__(self, statement, what):
        self.statements.append(statement)
        if what == "sl_Magazyn":
            return [{"mag_Id": 1, "mag_Symbol": "MAG", "mag_Nazwa": "Magazyn główny", "mag_Glowny": 1}]
        if what == "tw_ZmianaTw clock":
            return [{"newest": "2026-03-02 08:00:01.123"}]
        return []


@pytest.mark.parametrize("schema", [None, "dbo"])
def test_every_statement_is_portable_sql_server_sql(monkeypatch, schema):
    recorder = Recorder()
    monkeypatch.setattr(SubiektDatabase, "all", lambda db, statement, what: recorder(statement, what))
    conn = SubiektGTConnector({"db_url": "mssql+pymssql://reader:pw-123456@erp.local:1433/Firma", "schema": schema,
                               "option_fields": "1,2"})
    ctx = ReadContext()
    list(conn.read(ctx))
    conn.db.photo_bytes([1, 2])
    list(conn.read(ReadContext(cursor=ctx.new_cursor, full=False)))
    conn.check()
    assert len(recorder.statements) > 10
    for statement in recorder.statements:
        for dialect in (mssql.dialect(), sqlite.dialect()):
            compiled = str(statement.compile(dialect=dialect, schema_translate_map={None: schema} if schema else None))
            upper = compiled.upper()
            assert "ISNULL" not in upper and "NOLOCK" not in upper and "tw_IdVatZak" not in compiled
            assert "dbo." not in compiled  # never written in: SUBIEKT_SCHEMA decides
            # every table goes through the engine's schema_translate_map
            assert ("__[SCHEMA__none]" in compiled) == (schema is not None and "FROM" in upper)
    assert conn.db.engine.get_execution_options().get("schema_translate_map") == (
        {None: schema} if schema else None)
    sql = " ".join(str(s.compile(dialect=mssql.dialect())) for s in recorder.statements)
    assert "coalesce([sl_ModelTowar].[mtw_IdModel]" in sql  # models grouped; ISNULL would be T-SQL only
    assert "[sl_StawkaVAT].[vat_Id] = [tw__Towar].[tw_IdVatSp]" in sql  # the sales rate


def test_a_full_read_costs_the_same_queries_for_any_catalog_size(subiekt, tmp_path):
    from gwsync_subiektgt.fake import SubiektFake

    subiekt.seed(5)
    small = connector(subiekt)
    list(small.read(ReadContext()))
    with SubiektFake.running(tmp_path / "big" if (tmp_path / "big").mkdir() is None else None) as big_fake:
        big_fake.seed(120)
        big = connector(big_fake)
        items = list(big.read(ReadContext()))
    assert queries(small) == queries(big) == {
        "tw_Parametr": 1, "sl_Magazyn": 1, "tw_ZmianaTw clock": 1, "tw_Stan": 1, "tw_ZdjecieTw metadata": 1,
        "tw__Towar products": 1, "tw__Towar counts": 1}
    assert len([i for i in items if isinstance(i, Product)]) >= 120


def test_rows_left_out_by_rule_are_counted_and_the_rest_accounted_for(subiekt):
    subiekt.seed(4)
    conn = connector(subiekt)
    items = list(conn.read(ReadContext()))
    symbols = {v.sku for i in items if isinstance(i, Product) for v in i.variants} | {
        i.sku for i in items if isinstance(i, Product)}
    for left_out in ("TRANSPORT", "ZESTAW-1", "OLD-1", "STAC-1", "CHINO-36"):
        assert left_out not in symbols
    assert {"KSIAZKA-1", "CHINO-30", "CHINO-32", "CHINO-34", "CZAP-WYC"} <= symbols
    assert not [i for i in items if isinstance(i, Skipped)]
    rows_read = sum(len(i.variants) or 1 for i in items if isinstance(i, Product))
    assert conn.db.counts() == {"importable": rows_read, "blocked": 1, "deleted": 2, "not_for_shop": 1,
                                "services": 1, "sets": 1, "other": 0}


def test_stock_sums_the_chosen_warehouses_less_reservations_never_below_zero(subiekt):
    subiekt.seed(0)
    tw_id = int(subiekt.add_product())
    subiekt.execute("UPDATE tw_Stan SET st_Stan = ?, st_StanRez = ? WHERE st_TowId = ? AND st_MagId = 1",
                    (4.5, 1, tw_id))
    subiekt.execute("UPDATE tw_Stan SET st_Stan = ?, st_StanRez = ? WHERE st_TowId = ? AND st_MagId = 2",
                    (1, 3, tw_id))  # more reserved than on hand: 0, not -2
    subiekt.execute("UPDATE tw_Stan SET st_Stan = 50, st_StanRez = 0 WHERE st_TowId = ? AND st_MagId = 3",
                    (tw_id,))  # HUR
    assert connector(subiekt).db.stock([1, 2])[tw_id] == 3  # 4.5 - 1 = 3.5 -> 3 whole units
    assert connector(subiekt).db.stock([1, 2, 3])[tw_id] == 53


def test_the_main_warehouse_counts_when_none_is_named(subiekt):
    subiekt.seed(1)
    conn = connector(subiekt, warehouses=None)
    assert "stock from MAG;" in conn.check()


def test_photos_come_main_first_and_only_as_metadata(subiekt):
    subiekt.seed(0)
    tw_id = int(subiekt.add_product())
    with subiekt.db.write() as db:
        later = subiekt.db.add_photo(db, tw_id, main=False)
        main = subiekt.db.add_photo(db, tw_id, main=True)
    photos = connector(subiekt).db.photos()[tw_id]
    first = photos[0].photo_id  # the product's own main photo, added with it
    assert [p.photo_id for p in photos] == [first, main, later]  # zd_Glowne DESC, zd_Id
    assert {p.empty for p in photos} == {False}


def test_the_change_log_time_is_bound_back_exactly_as_the_database_gave_it(subiekt):
    subiekt.seed(2)
    db = connector(subiekt).db
    clock = db.change_clock()
    assert isinstance(clock, str) and clock.count(".") == 1  # SQLite copy: SQL Server's text form, milliseconds
    assert db.changed_since(clock)  # the newest entry itself (closed window)
    subiekt.change_price()
    assert len(db.changed_since(clock)) == 2


def test_the_password_comes_from_the_url_or_its_own_setting_and_is_never_shown():
    url = parse_url("mssql+pymssql://reader@erp.local:1433/Firma", "Pa55-w0rd!x")
    assert url.password == "Pa55-w0rd!x"
    assert "Pa55-w0rd!x" not in redact(f"failed: {url.render_as_string(hide_password=False)}")
    assert needs_password("mssql+pymssql://reader@erp.local/Firma")
    assert not needs_password("mssql+pymssql://reader:x@erp.local/Firma")
    assert not needs_password("sqlite:////data/copy.sqlite")
    with pytest.raises(ConfigError, match="SUBIEKT_DB_URL is not a database URL"):
        parse_url("Server=erp;Database=Firma;User Id=sa;Password=hunter22")


class DriverError(Exception):
    """What pymssql raises: (SQL Server error number, message bytes)."""


@pytest.mark.parametrize("args, kind, words", [
    ((18456, b"Login failed for user 'reader'.DB-Lib error message 20018"), AuthError, "refused the login"),
    ((229, b"The SELECT permission was denied on the object 'tw_Cena'"), AuthError, "db_datareader"),
    ((4060, b"Cannot open database \"Firma\" requested by the login."), CannotRun, "cannot open the database"),
    ((208, b"Invalid object name 'tw__Towar'."), CannotRun, "not a Subiekt GT database"),
    ((20009, b"Unable to connect: Adaptive Server is unavailable or does not exist (erp.local)"), Unreachable,
     "port 1433"),
])
def test_driver_errors_become_one_line_saying_what_to_fix(args, kind, words):
    url = parse_url("mssql+pymssql://reader:S3cret-pass@erp.local:1433/Firma")
    error = database_error(OperationalError("SELECT 1", {}, DriverError(*args)), SubiektDatabase(url).where)
    assert type(error) is kind and words in str(error)
    assert "S3cret-pass" not in str(error) and "reader@erp.local:1433/Firma" in str(error)
    assert "\n" not in str(error)


def test_an_unknown_driver_error_keeps_its_first_words():
    error = database_error(ProgrammingError("SELECT", {}, DriverError(102, b"Incorrect syntax near 'x'.")), "db")
    assert isinstance(error, CannotRun) and "Incorrect syntax" in str(error)


def test_the_schema_setting_names_the_tables_schema(subiekt):
    subiekt.seed(1)
    with pytest.raises(CannotRun, match="not a Subiekt GT database"):
        connector(subiekt, schema="ksiegowosc").check()  # on SQLite an unknown schema is an unknown table


def test_prices_from_sql_server_arrive_as_decimal_and_stay_exact(subiekt):
    subiekt.seed(0)
    tw_id = int(subiekt.add_product())
    subiekt.execute("UPDATE tw_Cena SET tc_CenaBrutto1 = 19.99 WHERE tc_IdTowar = ?", (tw_id,))
    items = [i for i in connector(subiekt).read(ReadContext()) if getattr(i, "product_id", "") == str(tw_id)]
    assert items[0].price == Decimal("19.99")


def test_a_sqlite_copy_is_opened_read_only_and_a_wrong_path_creates_nothing(subiekt, tmp_path):
    subiekt.seed(1)
    missing = tmp_path / "nowhere" / "copy.sqlite"
    with pytest.raises(Unreachable, match="cannot reach"):
        SubiektGTConnector({"db_url": f"sqlite:///{missing}"}).check()
    assert not missing.exists() and not missing.parent.exists()
    db = connector(subiekt).db
    with db.engine.connect() as conn, pytest.raises(OperationalError, match="readonly"):
        conn.exec_driver_sql("DELETE FROM tw__Towar")
