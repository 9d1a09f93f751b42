"""Subiekt GT's tables as SQLAlchemy Core declares them: only the columns the connector reads.

Names are Subiekt's own (two underscores in `tw__Towar`). No schema is written here:
`SUBIEKT_SCHEMA` (e.g. `dbo`) is applied per connection with `schema_translate_map`, so
the same statements run on SQL Server and on the SQLite copy the tests use.

Money, quantity and time columns are declared without a type (`NullType`): the driver's
value comes back untouched (Decimal and datetime from SQL Server, int/float and text
from SQLite), and the mapping converts it explicitly (`Decimal(str(value))`), so no
SQLAlchemy type processor rounds a price through float.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, Text

PRICE_LEVELS = range(1, 11)  # tc_CenaBrutto1..10: column names cannot be bound, so a whitelist
FIELD_NUMBERS = range(1, 9)  # tw_Pole1..8, labelled by tw_Parametr.twp_Nazwa1..8

metadata = MetaData()

towar = Table(
    "tw__Towar", metadata,
    Column("tw_Id", Integer, primary_key=True),
    Column("tw_Symbol", String(20)),
    Column("tw_Nazwa", String(50)),
    Column("tw_Opis", String(255)),
    Column("tw_Charakter", Text),
    Column("tw_PodstKodKresk", String(20)),
    Column("tw_IdVatSp", Integer),
    Column("tw_IdGrupa", Integer),
    Column("tw_Masa"),
    Column("tw_Rodzaj", Integer),
    Column("tw_Zablokowany", Integer),
    Column("tw_Usuniety", Integer),
    Column("tw_SklepInternet", Integer),
    *(Column(f"tw_Pole{n}", String(50)) for n in FIELD_NUMBERS),
)

cena = Table(
    "tw_Cena", metadata,
    Column("tc_Id", Integer, primary_key=True),
    Column("tc_IdTowar", Integer),
    *(Column(f"tc_CenaBrutto{n}") for n in PRICE_LEVELS),
    *(Column(f"tc_CenaNetto{n}") for n in PRICE_LEVELS),
    *(Column(f"tc_IdWaluta{n}", String(3)) for n in PRICE_LEVELS),
)

stawka_vat = Table(
    "sl_StawkaVAT", metadata,
    Column("vat_Id", Integer, primary_key=True),
    Column("vat_Nazwa", String(50)),
    Column("vat_Stawka"),
    Column("vat_Symbol", String(3)),
)

grupa = Table(
    "sl_GrupaTw", metadata,
    Column("grt_Id", Integer, primary_key=True),
    Column("grt_Nazwa", String(50)),
)

model = Table(
    "sl_ModelTw", metadata,
    Column("mdt_Id", Integer, primary_key=True),
    Column("mdt_Nazwa", String(50)),
)

model_towar = Table(
    "sl_ModelTowar", metadata,
    Column("mtw_Id", Integer, primary_key=True),
    Column("mtw_IdModel", Integer),
    Column("mtw_IdTowar", Integer),
)

stan = Table(
    "tw_Stan", metadata,
    Column("st_TowId", Integer, primary_key=True),
    Column("st_MagId", Integer, primary_key=True),
    Column("st_Stan"),
    Column("st_StanRez"),
)

magazyn = Table(
    "sl_Magazyn", metadata,
    Column("mag_Id", Integer, primary_key=True),
    Column("mag_Symbol", String(3)),
    Column("mag_Nazwa", String(50)),
    Column("mag_Glowny", Integer),
)

zdjecie = Table(
    "tw_ZdjecieTw", metadata,
    Column("zd_Id", Integer, primary_key=True),
    Column("zd_IdTowar", Integer),
    Column("zd_Zdjecie", LargeBinary),
    Column("zd_Glowne", Integer),
    Column("zd_CRC"),
)

parametr = Table(
    "tw_Parametr", metadata,
    Column("twp_Id", Integer, primary_key=True),
    *(Column(f"twp_Nazwa{n}", String(50)) for n in FIELD_NUMBERS),
    *(Column(f"twp_NazwaCeny{n}", String(50)) for n in PRICE_LEVELS),
    *(Column(f"twp_WalutaCeny{n}", String(3)) for n in PRICE_LEVELS),
)

zmiana = Table(
    "tw_ZmianaTw", metadata,
    Column("twz_TowarId", Integer),
    Column("twz_NrZmiany", Integer),
    Column("twz_CzasModyf"),
)
