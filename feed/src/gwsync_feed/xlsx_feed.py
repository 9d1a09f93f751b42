"""XLSX workbooks read as CSV rows: openpyxl in read-only mode, row by row, first sheet.

Read-only mode streams the sheet's XML instead of building the workbook in
memory; only the shared-strings table (each distinct text once) is held. openpyxl
parses through defusedxml when it is installed (it is a dependency here), so a
workbook that declares entities is refused like an XML feed. Cell values become
the text a CSV export would hold, and then go through the same column mapping.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from defusedxml import DefusedXmlException
from openpyxl import load_workbook

from .errors import FeedError


def iter_rows(workbook: BinaryIO, where: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) from the header row on; blank rows are passed over."""
    try:
        book = load_workbook(workbook, read_only=True, data_only=True)
    except (DefusedXmlException, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise _error(exc, where) from None
    try:
        sheet = book.worksheets[0]
        width = 0  # the header's: short rows are padded (a sheet stores no empty trailing cells)
        for number, values in enumerate(_rows(sheet, where), start=1):
            cells = [cell_text(v) for v in values]
            while len(cells) > width > 0 and not cells[-1]:
                cells.pop()
            if any(cells):
                width = width or len(cells)
                yield number, cells + [""] * (width - len(cells))
        if not width:
            raise FeedError(f"XLSX {where}: the first sheet is empty (expected a header row)")
    finally:
        book.close()


def _rows(sheet: Any, where: str) -> Iterator[tuple[Any, ...]]:
    try:
        yield from sheet.iter_rows(values_only=True)
    except (DefusedXmlException, zipfile.BadZipFile, EOFError, ValueError, SyntaxError) as exc:
        raise _error(exc, where) from None


def _error(exc: BaseException, where: str) -> FeedError:
    """openpyxl wraps the parser's exception; the cause decides the message (one line)."""
    causes = [exc]
    while causes[-1].__context__ is not None and len(causes) < 10:
        causes.append(causes[-1].__context__)  # type: ignore[arg-type]
    if any(isinstance(c, DefusedXmlException) for c in causes):
        return FeedError(f"XLSX {where}: refused: the workbook declares entities or external references; "
                         "a spreadsheet needs none")
    if any(isinstance(c, (zipfile.BadZipFile, EOFError)) for c in causes):
        return FeedError(f"XLSX {where}: the workbook is cut short or damaged")
    return FeedError(f"XLSX {where}: not a readable workbook ({str(exc).splitlines()[0]})")


def cell_text(value: Any) -> str:
    """As a spreadsheet shows it: 12.0 -> "12" (EANs and SKUs stored as numbers), dates in ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()
