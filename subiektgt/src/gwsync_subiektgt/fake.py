"""A Subiekt GT company database as a SQLite file, for tests, benchmarks and the Docker smoke test.

Tables and columns carry Subiekt GT's real names and types as far as SQLite has them
(`money` -> NUMERIC, `bit` -> INTEGER, `image` -> BLOB, `datetime` -> TEXT in the
`YYYY-MM-DD hh:mm:ss.fff` form a SQL Server export writes), with more columns than the
connector reads (tw_IdVatZak, tw_CenaOtwarta, tc_CenaNetto..., st_StanMin...). The rows
follow ../shared/platforms/subiekt-gt.md section 8: goods, a service, a set, deleted
goods, goods not for the e-shop, models with sizes, three warehouses with reservations,
photos as BLOBs (one NULL), VAT `zw`. Writes here stand for what Subiekt's users do;
the connector itself only reads.

The DDL is written out on purpose (not generated from the connector's declarations):
the connector must meet a database it did not create.
"""

from __future__ import annotations

import os
import random
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from gwsync.testing.images import png

LEVELS = range(1, 11)
FIELDS = range(1, 9)

DDL = [
    """CREATE TABLE tw__Towar (
        tw_Id INTEGER PRIMARY KEY, tw_Zablokowany INTEGER NOT NULL DEFAULT 0, tw_Rodzaj INTEGER NOT NULL,
        tw_Symbol VARCHAR(20) NOT NULL, tw_Nazwa VARCHAR(50) NOT NULL, tw_Opis VARCHAR(255) NOT NULL DEFAULT '',
        tw_IdVatSp INTEGER, tw_IdVatZak INTEGER, tw_JednMiary VARCHAR(10) NOT NULL DEFAULT 'szt.',
        tw_PKWiU VARCHAR(20) NOT NULL DEFAULT '', tw_IdGrupa INTEGER, tw_IdProducenta INTEGER,
        tw_PodstKodKresk VARCHAR(20) NOT NULL DEFAULT '', tw_Charakter TEXT, tw_Masa NUMERIC,
        tw_Objetosc NUMERIC, tw_CenaOtwarta INTEGER NOT NULL DEFAULT 0, tw_Usuniety INTEGER NOT NULL DEFAULT 0,
        tw_SklepInternet INTEGER NOT NULL DEFAULT 0, """
    + ", ".join(f"tw_Pole{n} VARCHAR(50) NOT NULL DEFAULT ''" for n in FIELDS) + ")",
    "CREATE TABLE tw_Cena (tc_Id INTEGER PRIMARY KEY, tc_IdTowar INTEGER NOT NULL UNIQUE, "
    "tc_CenaNetto0 NUMERIC, tc_CenaBrutto0 NUMERIC, "
    + ", ".join(f"tc_CenaNetto{n} NUMERIC, tc_CenaBrutto{n} NUMERIC, tc_IdWaluta{n} CHAR(3), tc_Zysk{n} NUMERIC"
                for n in LEVELS) + ")",
    "CREATE TABLE sl_StawkaVAT (vat_Id INTEGER PRIMARY KEY, vat_Nazwa VARCHAR(50) NOT NULL, vat_Stawka NUMERIC "
    "NOT NULL, vat_Symbol VARCHAR(3) NOT NULL, vat_CzyWidoczna INTEGER NOT NULL DEFAULT 1, vat_IdPanstwo INTEGER)",
    "CREATE TABLE sl_GrupaTw (grt_Id INTEGER PRIMARY KEY, grt_Nazwa VARCHAR(50) NOT NULL, grt_NrAnalityka VARCHAR(5))",
    "CREATE TABLE sl_ModelTw (mdt_Id INTEGER PRIMARY KEY, mdt_Nazwa VARCHAR(50) NOT NULL)",
    "CREATE TABLE sl_ModelTowar (mtw_Id INTEGER PRIMARY KEY, mtw_IdModel INTEGER NOT NULL, "
    "mtw_IdTowar INTEGER NOT NULL UNIQUE)",
    "CREATE TABLE sl_Magazyn (mag_Id INTEGER PRIMARY KEY, mag_Symbol VARCHAR(3) NOT NULL, mag_Nazwa VARCHAR(50) "
    "NOT NULL, mag_Status INTEGER NOT NULL DEFAULT 0, mag_Opis VARCHAR(255), mag_Glowny INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE tw_Stan (st_TowId INTEGER NOT NULL, st_MagId INTEGER NOT NULL, st_Stan NUMERIC NOT NULL, "
    "st_StanMin NUMERIC NOT NULL DEFAULT 0, st_StanRez NUMERIC NOT NULL DEFAULT 0, st_StanMax NUMERIC NOT NULL "
    "DEFAULT 0, PRIMARY KEY (st_TowId, st_MagId))",
    "CREATE TABLE tw_ZdjecieTw (zd_Id INTEGER PRIMARY KEY, zd_IdTowar INTEGER NOT NULL, zd_Zdjecie BLOB, "
    "zd_Glowne INTEGER NOT NULL DEFAULT 0, zd_CRC INTEGER)",
    "CREATE TABLE tw_Parametr (twp_Id INTEGER PRIMARY KEY, "
    + ", ".join(f"twp_Nazwa{n} VARCHAR(50) NOT NULL DEFAULT ''" for n in FIELDS) + ", "
    + ", ".join(f"twp_NazwaCeny{n} VARCHAR(50) NOT NULL DEFAULT '', twp_WalutaCeny{n} VARCHAR(3) NOT NULL "
                f"DEFAULT 'PLN', twp_StalaCena{n} INTEGER" for n in LEVELS) + ", twp_StawkaVAT INTEGER)",
    "CREATE TABLE tw_ZmianaTw (twz_TowarId INTEGER NOT NULL, twz_NrZmiany INTEGER NOT NULL, "
    "twz_CzasModyf DATETIME NOT NULL)",
    "CREATE TABLE tw_KodKreskowy (kk_Id INTEGER PRIMARY KEY, kk_IdTowar INTEGER NOT NULL, kk_Kod VARCHAR(20) "
    "NOT NULL, kk_Ilosc NUMERIC)",
]

VAT = [(100001, "23%", "23.0000", "23"), (100002, "8%", "8.0000", "8"), (100003, "5%", "5.0000", "5"),
       (100004, "0%", "0.0000", "0"), (100005, "zwolniony", "0.0000", "zw"), (100006, "nie podlega", "0.0000", "np")]
WAREHOUSES = [(1, "MAG", "Magazyn główny", 1), (2, "SKL", "Sklep", 0), (3, "HUR", "Hurtownia", 0)]
GROUPS = [(1, "Koszulki"), (2, "Spodnie"), (3, "Akcesoria"), (4, "Usługi")]
SIZES = ("S", "M", "L", "XL", "XXL")
COLOURS = ("granat", "czarny", "beż", "biały")
GOODS, SERVICE, SET = 1, 2, 8


def jpeg(seed: int) -> bytes:
    """Bytes that start and end like a JPEG (SOI/APP0 ... EOI): what the sniffing sees."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + seed.to_bytes(4, "big") + b"\xff\xd9"


def gross(net: Decimal, rate: str) -> Decimal:
    return (net * (100 + Decimal(rate)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class SubiektDatabaseFile:
    """The SQLite file and the ways Subiekt's users change it."""

    def __init__(self, path: Path, seed: int = 7) -> None:
        self.path = path
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.clock = datetime(2026, 3, 2, 8, 0, 0)
        self.next_id = {"tw": 1200, "zd": 50, "md": 6, "mtw": 0, "change": 0}
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self.write() as db:
            for statement in DDL:
                db.execute(statement)
            db.executemany("INSERT INTO sl_StawkaVAT (vat_Id, vat_Nazwa, vat_Stawka, vat_Symbol) VALUES (?,?,?,?)",
                           VAT)
            db.executemany("INSERT INTO sl_Magazyn (mag_Id, mag_Symbol, mag_Nazwa, mag_Glowny) VALUES (?,?,?,?)",
                           WAREHOUSES)
            db.executemany("INSERT INTO sl_GrupaTw (grt_Id, grt_Nazwa) VALUES (?,?)", GROUPS)
            db.execute("INSERT INTO tw_Parametr (twp_Id, twp_Nazwa1, twp_Nazwa2, twp_NazwaCeny1, twp_NazwaCeny2, "
                       "twp_StawkaVAT) VALUES (1, 'Rozmiar', 'Kolor', 'Detaliczna', 'Hurtowa', 100001)")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _id(self, kind: str) -> int:
        self.next_id[kind] += 1
        return self.next_id[kind]

    def tick(self) -> str:
        """Subiekt's own clock (the SQL Server's getdate()), as a SQL Server export writes it."""
        self.clock += timedelta(seconds=1, milliseconds=self.rng.randint(3, 997))
        return self.clock.strftime("%Y-%m-%d %H:%M:%S.") + f"{self.clock.microsecond // 1000:03d}"

    def log_change(self, db: sqlite3.Connection, tw_id: int) -> None:
        """What Subiekt's trigger writes when a product card is saved."""
        db.execute("INSERT INTO tw_ZmianaTw VALUES (?,?,?)", (tw_id, self._id("change"), self.tick()))

    def add_good(self, db: sqlite3.Connection, *, name: str, symbol: str, net: Decimal, vat: int = 0,
                 group: int = 1, kind: int = GOODS, shop: int = 1, deleted: int = 0, blocked: int = 0,
                 fields: tuple[str, ...] = (), photos: int = 1, stock: tuple[int, ...] = (3, 1, 0),
                 ean: str = "", description: str | None = None) -> int:
        tw_id = self._id("tw")
        vat_id, _, rate, _ = VAT[vat]
        pole = {f"tw_Pole{n}": value for n, value in zip(FIELDS, fields, strict=False)}
        columns = {"tw_Id": tw_id, "tw_Zablokowany": blocked, "tw_Rodzaj": kind, "tw_Symbol": symbol,
                   "tw_Nazwa": name[:50], "tw_Opis": (description or "")[:255], "tw_IdVatSp": vat_id,
                   "tw_IdVatZak": VAT[0][0], "tw_IdGrupa": group, "tw_PodstKodKresk": ean,
                   "tw_Charakter": f"<p>{description}</p>" if description else None, "tw_Masa": 0.3,
                   "tw_Usuniety": deleted, "tw_SklepInternet": shop, **pole}
        db.execute(f"INSERT INTO tw__Towar ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                   tuple(columns.values()))
        price_gross = gross(net, rate)
        # SQLite hands money back as int/float, as the connector must expect of a copy
        db.execute("INSERT INTO tw_Cena (tc_Id, tc_IdTowar, tc_CenaNetto1, tc_CenaBrutto1, tc_IdWaluta1, "
                   "tc_CenaNetto2, tc_CenaBrutto2, tc_IdWaluta2) VALUES (?,?,?,?,?,?,?,?)",
                   (tw_id, tw_id, float(net), float(price_gross), "PLN", float(net * Decimal("0.8")),
                    float(price_gross * Decimal("0.8")), "PLN"))
        for (mag_id, *_), on_hand in zip(WAREHOUSES, stock, strict=False):
            reserved = 1 if on_hand > 2 else 0
            db.execute("INSERT INTO tw_Stan (st_TowId, st_MagId, st_Stan, st_StanRez) VALUES (?,?,?,?)",
                       (tw_id, mag_id, on_hand, reserved))
        for index in range(photos):
            self.add_photo(db, tw_id, main=index == 0)
        self.log_change(db, tw_id)
        return tw_id

    def add_photo(self, db: sqlite3.Connection, tw_id: int, *, main: bool, blob: bytes | None = b"") -> int:
        zd_id = self._id("zd")
        if blob == b"":
            blob = png((zd_id % 256, (zd_id * 7) % 256, 99)) if zd_id % 2 else jpeg(zd_id)
        crc = None if blob is None else self.rng.randint(1, 2**31)
        db.execute("INSERT INTO tw_ZdjecieTw VALUES (?,?,?,?,?)", (zd_id, tw_id, blob, int(main), crc))
        return zd_id

    def add_model(self, db: sqlite3.Connection, name: str, members: list[int]) -> int:
        md_id = self._id("md")
        db.execute("INSERT INTO sl_ModelTw VALUES (?,?)", (md_id, name))
        for tw_id in members:
            db.execute("INSERT INTO sl_ModelTowar VALUES (?,?,?)", (self._id("mtw"), md_id, tw_id))
        return md_id


class SubiektFake:
    """The standard suite's fake platform (gwsync.testing.FakePlatform) over a SQLite company database."""

    def __init__(self, path: Path, seed: int = 7) -> None:
        self.db = SubiektDatabaseFile(path, seed)
        self.path = path
        self.password = secrets.token_urlsafe(12)  # made per fake: no credential in code
        self.models: dict[int, list[int]] = {}

    @classmethod
    @contextmanager
    def running(cls, directory: Path | None = None, seed: int = 7) -> Iterator[SubiektFake]:
        with tempfile.TemporaryDirectory(prefix="subiekt-fake-") as tmp:
            fake = cls(Path(directory or tmp) / "subiekt.sqlite", seed)
            try:
                yield fake
            finally:
                fake.stop()

    # -- FakePlatform -------------------------------------------------------------

    def config(self) -> dict[str, str]:
        # a SQLite copy has no login: the user and password are there to be kept secret all the same
        return {"db_url": f"sqlite://subiekt:{self.password}@/{self.path}", "warehouses": "MAG,SKL",
                "option_fields": "1,2"}

    def bad_config(self) -> dict[str, str]:
        """A database that is not Subiekt's (no tw__Towar)."""
        other = self.path.with_name("not-subiekt.sqlite")
        with closing(sqlite3.connect(other)) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY)")
        return {**self.config(), "db_url": f"sqlite://subiekt:{self.password}@/{other}"}

    def secrets(self) -> list[str]:
        return [self.password]

    def seed(self, products: int, *, model_share: float = 0.3, extras: bool = True,
             photo_share: float = 1.0) -> None:
        """`products` goods for the e-shop (models count as one), plus rows an import leaves out;
        `photo_share` of them with photos."""
        rng = self.db.rng
        with self.db.write() as db:
            if extras:
                self._extras(db)
            for _ in range(products):
                photos = None if rng.random() < photo_share else 0
                if rng.random() < model_share:
                    self._model(db, rng.randint(2, 4), photos=1 if photos is None else 0)
                else:
                    self._lone(db, photos=photos)

    def _lone(self, db: sqlite3.Connection, photos: int | None = None) -> int:
        rng = self.db.rng
        n = self.db.next_id["tw"] + 1
        return self.db.add_good(
            db, name=f"Czapka zimowa {COLOURS[n % 4]} nr {n}", symbol=f"CZAP-{n}",
            net=Decimal(rng.randint(1000, 20000)) / 100, vat=rng.choice((0, 0, 0, 1)), group=3,
            photos=rng.randint(0, 2) if photos is None else photos,
            stock=(rng.randint(0, 9), rng.randint(0, 4), rng.randint(0, 4)), ean=f"590{n:010d}",
            description=f"Ciepła czapka, wzór {n}")

    def _model(self, db: sqlite3.Connection, sizes: int, photos: int = 1) -> int:
        rng = self.db.rng
        colour = rng.choice(COLOURS)
        base = Decimal(rng.randint(4000, 12000)) / 100
        first = self.db.next_id["tw"] + 1
        members = [self.db.add_good(
            db, name=f"Koszulka polo {colour} {size}", symbol=f"POLO-{first}-{size}", net=base + index * 4,
            group=1, fields=(size, colour), photos=photos, stock=(rng.randint(0, 6), rng.randint(0, 3), 5),
            ean=f"591{first + index:010d}", description=f"Koszulka polo, kolor {colour}")
            for index, size in enumerate(SIZES[:sizes])]
        md_id = self.db.add_model(db, f"Koszulka polo {colour} {first}", members)
        self.models[md_id] = members
        return md_id

    def _extras(self, db: sqlite3.Connection) -> None:
        """Rows an import must leave out or report: the cases of the platform doc."""
        add = self.db.add_good
        add(db, name="Usługa transportowa", symbol="TRANSPORT", net=Decimal("20"), kind=SERVICE, group=4, photos=0)
        add(db, name="Zestaw prezentowy", symbol="ZESTAW-1", net=Decimal("150"), kind=SET, photos=0)
        add(db, name="Stara koszulka", symbol="OLD-1", net=Decimal("10"), deleted=1, photos=0)
        add(db, name="Tylko w sklepie stacjonarnym", symbol="STAC-1", net=Decimal("30"), shop=0, photos=0)
        add(db, name="Książka kucharska", symbol="KSIAZKA-1", net=Decimal("39.90"), vat=4, group=3, photos=0,
            stock=(7, 0, 0))  # VAT zw
        self.blocked = add(db, name="Wycofana czapka", symbol="CZAP-WYC", net=Decimal("20"), blocked=1, photos=0)
        broken = add(db, name="Szalik w kratę", symbol="SZAL-1", net=Decimal("45"), group=3, photos=1)
        self.null_photo = self.db.add_photo(db, broken, main=False, blob=None)
        # a model whose XL was deleted: the rest of the model stays
        sizes = [add(db, name=f"Spodnie chino beż {w}", symbol=f"CHINO-{w}", net=Decimal("129.27"), group=2,
                     fields=(str(w), "beż"), deleted=int(w == 36)) for w in (30, 32, 34, 36)]
        self.models[self.db.add_model(db, "Spodnie chino beż", sizes)] = sizes[:3]

    def expected_items(self) -> int:
        """Gateway products of a full import: sellable, active goods for the e-shop, variants one each."""
        with closing(sqlite3.connect(self.path)) as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM tw__Towar t JOIN tw_Cena c ON c.tc_IdTowar = t.tw_Id "
                "WHERE t.tw_Rodzaj = 1 AND t.tw_Usuniety = 0 AND t.tw_SklepInternet = 1 "
                "AND t.tw_Zablokowany = 0 AND c.tc_CenaBrutto1 > 0").fetchone()
        return count

    def _lone_live(self, second: bool = False) -> int:
        with closing(sqlite3.connect(self.path)) as conn:
            ids = [row[0] for row in conn.execute(
                "SELECT tw_Id FROM tw__Towar t WHERE tw_Rodzaj = 1 AND tw_Usuniety = 0 AND tw_SklepInternet = 1 "
                "AND tw_Zablokowany = 0 AND NOT EXISTS (SELECT 1 FROM sl_ModelTowar WHERE mtw_IdTowar = t.tw_Id) "
                "ORDER BY tw_Id")]
        return ids[1] if second else ids[0]

    def change_price(self) -> tuple[str, str | None]:
        tw_id = self._lone_live()
        self.set_price(tw_id, Decimal("10.00"), log=True)
        return str(tw_id), None

    def set_price(self, tw_id: int, raise_by: Decimal, *, log: bool) -> None:
        with self.db.write() as db:
            db.execute("UPDATE tw_Cena SET tc_CenaBrutto1 = tc_CenaBrutto1 + ? WHERE tc_IdTowar = ?",
                       (float(raise_by), tw_id))
            if log:
                self.db.log_change(db, tw_id)

    def change_stock(self) -> tuple[str, str | None]:
        """A delivery document: tw_Stan changes, the change log does not."""
        md_id, members = next(iter(sorted(self.models.items())))
        with self.db.write() as db:
            db.execute("UPDATE tw_Stan SET st_Stan = st_Stan + 5 WHERE st_TowId = ? AND st_MagId = 1", (members[0],))
        return f"model-{md_id}", str(members[0])

    def add_product(self) -> str:
        with self.db.write() as db:
            tw_id = self._lone(db, photos=1)
        return str(tw_id)

    def remove_product(self) -> str:
        """Deleted in Subiekt: the row stays, marked tw_Usuniety."""
        tw_id = self._lone_live(second=True)
        with self.db.write() as db:
            db.execute("UPDATE tw__Towar SET tw_Usuniety = 1 WHERE tw_Id = ?", (tw_id,))
            self.db.log_change(db, tw_id)
        return str(tw_id)

    def execute(self, statement: str, params: tuple[Any, ...] = (), *, log: int | None = None) -> None:
        """A change as Subiekt would make it (tests); `log` adds a change-log entry for that good."""
        with self.db.write() as db:
            db.execute(statement, params)
            if log is not None:
                self.db.log_change(db, log)

    def stop(self) -> None:
        self.db.conn.close()


def start_fake(port: int = 0) -> SubiektFake:
    """A seeded fake for `python -m gwsync.testing.smoke subiektgt`: the file goes where the import
    container sees it too (GWSYNC_SMOKE_DIR, a volume both containers mount); `port` is unused."""
    directory = Path(os.environ.get("GWSYNC_SMOKE_DIR") or tempfile.mkdtemp(prefix="subiekt-smoke-"))
    path = directory / "subiekt-smoke.sqlite"
    path.unlink(missing_ok=True)
    return SubiektFake(path)
