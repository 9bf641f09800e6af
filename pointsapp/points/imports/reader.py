"""Read the tables villages keep (Excel ``.xlsx``/``.xls``, OpenDocument ``.ods`` or CSV) into plain rows
keyed by canonical field names.

Real files are not clean: a merged title row sits above the header, header spellings vary
(户主 / 户主姓名), a blank row and a signature line (制表人：村委会) follow the data, phone numbers
are sometimes numbers and sometimes text, and a CSV saved by Chinese Excel is GB18030/GBK encoded.
``read_table`` copes with those shapes and reports every row it skipped, so nobody has to clean a
file by hand before importing it. It does not validate the data: the caller does, with the
normalisers in ``values`` (``parse_date``, ``normalize_phone``, ...), and reports errors by ``SheetRow.number``,
the row number the user sees in Excel (or the line number in a CSV).

Workbooks are read with ``pandas.read_excel`` and its calamine engine (one reader for all three formats),
after ``sheetscan`` has measured the first sheet: a sheet whose filled cells reach past ``MAX_ROWS``,
``MAX_COLUMNS`` or ``MAX_CELLS`` is refused before any reader builds it in memory. A formula saved without
its value (a file written by a program and never opened in Excel or WPS) is refused with the row and column
rather than read as an empty cell; a formula with a saved value gives that value.

Framework-free: no Flask, no SQLAlchemy, no pandas types in the results.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ImportErrors, RowError
from .sheetscan import FormulaCell, ScanError, cell_name, scan

__all__ = [
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "Column",
    "ReadError",
    "SheetRow",
    "Skipped",
    "Table",
    "UnreadableCells",
    "read_table",
]

HEADER_SEARCH_ROWS = 20
"""The header row must be among the first this many rows of the sheet."""


@dataclass(frozen=True)
class Column:
    """One canonical field of a file layout."""

    key: str  # canonical key, e.g. "head_name"
    spellings: tuple[str, ...]  # accepted header texts, e.g. ("户主姓名", "户主"); the first names it in errors
    required: bool = True


@dataclass(frozen=True)
class SheetRow:
    number: int  # the row number the user sees (Excel row; CSV line, 1-based)
    values: dict[str, object]  # canonical key -> cleaned cell value; every declared column has a key
    # (None when the cell is empty or an optional column is absent)


@dataclass
class Skipped:
    number: int
    reason: str  # "title", "empty" or "footer"
    text: str  # the row's non-empty cells joined by a space, for the report


@dataclass
class Table:
    rows: list[SheetRow]
    header_row: int
    columns: dict[str, str]  # canonical key -> header text found (only columns present in the file)
    skipped: list[Skipped]
    encoding: str | None  # CSV: the detected encoding; None for Excel files


class ReadError(ValueError):
    """The file cannot be read as a table of the expected layout; the message names the file.

    ``code`` says which problem it is and ``params`` hold its details (file, limits, cells), so the
    message can be said in the user's language without parsing the English text."""

    def __init__(self, message: str, code: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class UnreadableCells(ImportErrors, ReadError):
    """Cells the reader cannot give a value for (formulas saved without their value), one RowError
    each, naming row and column. Both an ``ImportErrors`` (row errors) and a ``ReadError``."""

    def __init__(self, errors: list[RowError]) -> None:
        ImportErrors.__init__(self, errors)
        self.code = "file.unreadable_cells"
        self.params = {"cells": [f"{e.row}:{e.column}" for e in errors]}


# --------------------------------------------------------------------------------------------
# Cell cleaning
# --------------------------------------------------------------------------------------------

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_EDGE_JUNK = re.compile(rf"^[\s{_ZERO_WIDTH}]+|[\s{_ZERO_WIDTH}]+$")
_MIDNIGHT = dt.time(0, 0)


def _strip(text: str) -> str:
    """Strip whitespace (str.strip already covers the full-width space U+3000) and zero-width marks."""
    text = text.strip()
    if text and (text[0] in _ZERO_WIDTH or text[-1] in _ZERO_WIDTH):
        text = _EDGE_JUNK.sub("", text)
    return text


def _clean(value: object) -> object:
    """Light cleaning of one raw cell value; returns plain Python types only."""
    if value is None:
        return None
    if isinstance(value, str):
        return _strip(value) or None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return float(value)
    if isinstance(value, dt.datetime):  # also pandas.Timestamp, a datetime subclass
        if value.tzinfo is None and value.time() == _MIDNIGHT:
            return dt.date(value.year, value.month, value.day)
        return dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo,
        )
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, (dt.time, dt.timedelta)):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _clean(item())
        except (TypeError, ValueError):
            pass
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value


def _display(value: object) -> str:
    """A cell value as the user would recognise it in a report."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value)


def _row_text(cells: Sequence[object]) -> str:
    return " ".join(_display(v) for v in cells if v is not None)


# --------------------------------------------------------------------------------------------
# Source loading
# --------------------------------------------------------------------------------------------

_SPREADSHEETS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
_CSV_EXTENSIONS = {".csv"}

MAX_ROWS = 100_000
"""Most rows a sheet or CSV may reach (a village roster has about 1,600; a year of score sheets 30,000)."""
MAX_COLUMNS = 256
"""Most columns (an .xls sheet has at most 256)."""
MAX_CELLS = 1_000_000
"""Most cells in the rectangle from A1 to the farthest filled cell: what a reader holds in memory."""


def _load(source: str | Path | bytes, filename: str | None) -> tuple[str, str, bytes]:
    """Return (display name, extension, raw bytes)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not filename:
            raise ReadError("uploaded file: a file name is needed to tell Excel from CSV", code="file.no_filename")
        name = Path(filename).name or filename
        data = bytes(source)
    else:
        path = Path(source)
        name = Path(filename).name if filename else path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ReadError(f"{name}: file not found", code="file.not_found", file=name) from None
        except IsADirectoryError:
            raise ReadError(f"{name}: is a folder, not a file", code="file.not_found", file=name) from None
        except OSError as exc:
            raise ReadError(
                f"{name}: cannot open the file ({exc.strerror or exc})", code="file.not_found", file=name
            ) from None
    ext = Path(name).suffix.lower()
    if ext in _SPREADSHEETS or ext in _CSV_EXTENSIONS:
        return name, ext, data
    shown = ext or "(no extension)"
    raise ReadError(
        f"{name}: unsupported file type {shown}; use an Excel file (.xlsx or .xls), "
        "an OpenDocument .ods file or a .csv file",
        code="file.unsupported_type",
        file=name,
        ext=shown,
    )


_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _kind(name: str, ext: str, data: bytes) -> str:
    """Which workbook format the bytes hold ("xlsx", "xls" or "ods"), whatever the extension says:
    WPS and users rename files (an old .xls saved as .xlsx still opens in Excel)."""
    if not data:
        raise ReadError(f"{name}: the file is empty", code="file.no_data", file=name)
    if data[:8] == _CFB_MAGIC:
        return "xls"
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                names = set(book.namelist())
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise ReadError(
                f"{name}: not a valid {ext} file ({exc})", code="file.bad_xlsx", file=name, ext=ext
            ) from None
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "content.xml" in names:
            return "ods"
        raise ReadError(
            f"{name}: not a valid {ext} file (a zip package, but not a spreadsheet)",
            code="file.bad_xlsx",
            file=name,
            ext=ext,
        )
    raise ReadError(
        f"{name}: not a valid {ext} file (not an Excel or OpenDocument workbook)",
        code="file.bad_xlsx",
        file=name,
        ext=ext,
    )


def _too_large(name: str, rows: int, columns: int, row_cell: str | None, column_cell: str | None) -> None:
    """Refuse a sheet whose filled area is over the limits, before any reader builds it."""
    if rows <= MAX_ROWS and columns <= MAX_COLUMNS and rows * columns <= MAX_CELLS:
        return
    raise ReadError(
        f"{name}: the sheet is too large to read: its filled cells reach row {rows:,} (cell {row_cell}) "
        f"and column {columns:,} (cell {column_cell}), {rows * columns:,} cells in all; at most "
        f"{MAX_ROWS:,} rows, {MAX_COLUMNS:,} columns and {MAX_CELLS:,} cells are read. Delete what lies "
        "outside the table (or copy the table into a new sheet) and save the file again",
        code="file.too_large",
        file=name,
        rows=rows,
        columns=columns,
        row_cell=row_cell,
        column_cell=column_cell,
        max_rows=MAX_ROWS,
        max_columns=MAX_COLUMNS,
        max_cells=MAX_CELLS,
    )


def _excel_rows(name: str, ext: str, data: bytes) -> tuple[list[list[object]], dict[tuple[int, int], FormulaCell]]:
    """All rows of the first sheet, padded to equal length (index 0 is row 1), and its formula cells.

    The sheet is measured first (``sheetscan``) and refused when too large; only then does
    ``pandas.read_excel`` (calamine engine) load it. Every cell comes back as the workbook stores it:
    no NA guessing (a villager may be called "NA"), no type inference."""
    kind = _kind(name, ext, data)
    try:
        measured = scan(kind, data)
    except ScanError as exc:
        raise ReadError(f"{name}: not a valid {ext} file ({exc})", code="file.bad_xlsx", file=name, ext=ext) from None
    _too_large(name, measured.rows, measured.columns, measured.farthest_row_cell, measured.farthest_column_cell)
    if measured.rows == 0:
        return [], {}
    import pandas as pd  # deferred: importing pandas costs time that CSV-only callers need not pay

    try:
        frame = pd.read_excel(
            io.BytesIO(data), sheet_name=0, header=None, dtype=object, engine="calamine", na_filter=False
        )
    except Exception as exc:  # damaged workbooks surface as many different exception types
        raise ReadError(
            f"{name}: cannot read the workbook ({type(exc).__name__}: {exc})", code="file.bad_xlsx", file=name, ext=ext
        ) from None
    rows = [list(r) for r in frame.itertuples(index=False, name=None)]
    return rows, measured.formulas


def _decode(name: str, data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 with BOM, UTF-16 with BOM, UTF-8, else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            encoding = "gb18030"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{name}: cannot decode the text (not UTF-8 and not GB18030/GBK; bad bytes at position {exc.start})",
            code="file.bad_encoding",
            file=name,
        ) from None


def _sniff_delimiter(text: str) -> str:
    sample = [line for line in text[:65536].splitlines()[:30] if line.strip()]
    joined = "\n".join(sample)
    if "," in joined:
        return ","
    for candidate in ("\t", ";"):
        if candidate in joined:
            return candidate
    return ","


def _csv_rows(name: str, data: bytes) -> tuple[list[list[object]], list[int], str]:
    """Rows of a CSV as strings, their 1-based starting line numbers, and the encoding."""
    text, encoding = _decode(name, data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows: list[list[object]] = []
    numbers: list[int] = []
    previous_line = 0
    try:
        for record in reader:
            numbers.append(previous_line + 1)
            previous_line = reader.line_num
            rows.append([_unwrap_excel_text(cell) for cell in record])
        if len(rows) > MAX_ROWS:
            width = max(len(r) for r in rows)
            _too_large(name, len(rows), width, cell_name(len(rows) - 1, 0), cell_name(0, width - 1))
    except csv.Error as exc:
        raise ReadError(
            f"{name}: broken CSV near line {reader.line_num} ({exc})",
            code="file.broken_csv",
            file=name,
            line=reader.line_num,
        ) from None
    width = max((len(r) for r in rows), default=0)
    if width:
        widest = max(range(len(rows)), key=lambda i: len(rows[i]))
        _too_large(name, len(rows), width, cell_name(len(rows) - 1, 0), cell_name(widest, width - 1))
    for r in rows:
        if len(r) < width:
            r.extend([None] * (width - len(r)))
    return rows, numbers, encoding


def _unwrap_excel_text(cell: str) -> str:
    """Excel's ="001" trick (keep leading zeros in a CSV) -> 001."""
    if cell.startswith('="') and cell.endswith('"') and len(cell) >= 3:
        return cell[2:-1].replace('""', '"')
    return cell


# --------------------------------------------------------------------------------------------
# Header, footer
# --------------------------------------------------------------------------------------------

_ALL_SPACE = re.compile(rf"[\s{_ZERO_WIDTH}]+")


def _header_key(text: object) -> str:
    """Normalised header text: NFKC, no whitespace at all (also U+3000), no trailing colon, casefolded."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = _display(_clean(text))
    text = _ALL_SPACE.sub("", unicodedata.normalize("NFKC", text))
    return text.rstrip(":").casefold()


def _match_header(cells: Sequence[object], columns: Sequence[Column]) -> dict[str, int]:
    """Map canonical key -> column index for the columns found in this row."""
    positions: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        if key and key not in positions:
            positions[key] = index
    found: dict[str, int] = {}
    used: set[int] = set()
    for column in columns:
        for spelling in column.spellings:
            at = positions.get(_header_key(spelling))
            if at is not None and at not in used:
                found[column.key] = at
                used.add(at)
                break
    return found


_FOOTER_WORDS = (
    "制表",
    "填表",
    "登记人",
    "审核",
    "审批",
    "复核",
    "核对",
    "记录人",
    "负责人",
    "经办",
    "统计人",
    "签字",
    "签名",
    "盖章",
    "合计",
    "总计",
    "小计",
)
_SIGN_LABEL_ENDINGS = (
    "人",
    "签字",
    "签名",
    "盖章",
    "日期",
    "时间",
    "单位",
    "合计",
    "总计",
    "小计",
    "注",
    "说明",
    "附注",
)
_TOTAL = re.compile(r"^(合计|总计|小计)")
_DATE_TEXT = re.compile(
    r"^\d{4}\s*年(\s*\d{1,2}\s*月(\s*\d{1,2}\s*[日号])?)?$"
    r"|^\d{4}([-/.])\d{1,2}(\3\d{1,2})?$"
)
_NUMBER_TEXT = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?$")


def _is_sign_label(label: str) -> bool:
    return 0 < len(label) <= 10 and (
        label.endswith(_SIGN_LABEL_ENDINGS) or bool(_TOTAL.match(label)) or any(word in label for word in _FOOTER_WORDS)
    )


def _is_signature(value: object) -> bool:
    """A cell like 制表人：村委会, 审核：彭德高, 审核人 彭德高, 合计：240 or （盖章）."""
    if not isinstance(value, str):
        return False
    text = unicodedata.normalize("NFKC", value).strip()
    if "盖章" in text or "签字" in text or "签名" in text:
        return True
    if ":" in text:
        return _is_sign_label(_ALL_SPACE.sub("", text.split(":", 1)[0]))
    parts = text.split(None, 1)  # 制表人 张三: a label, a space, a name
    return len(parts) == 2 and _is_sign_label(parts[0]) and any(w in parts[0] for w in _FOOTER_WORDS)


def _is_date_like(value: object) -> bool:
    if isinstance(value, (dt.date, dt.datetime)):
        return True
    return isinstance(value, str) and bool(_DATE_TEXT.match(unicodedata.normalize("NFKC", value)))


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(_NUMBER_TEXT.match(value))


def _is_footer(cells: Sequence[object]) -> bool:
    filled = [v for v in cells if v is not None]
    if not filled:
        return False
    first = filled[0]
    if isinstance(first, str) and _TOTAL.match(first):  # 合计 … 240
        return all(_is_signature(v) or _is_date_like(v) or _is_number(v) for v in filled[1:])
    if any(_is_signature(v) for v in filled):  # 制表人：村委会 … 2026年1月
        return all(_is_signature(v) or _is_date_like(v) for v in filled)
    if all(_is_date_like(v) for v in filled):  # the date under the signatures
        return True
    if len(filled) == 1 and isinstance(first, str):  # 制表人 村委会 (no colon)
        return any(word in first for word in _FOOTER_WORDS)
    return False


# --------------------------------------------------------------------------------------------
# read_table
# --------------------------------------------------------------------------------------------


def read_table(source: str | Path | bytes, columns: Sequence[Column], filename: str | None = None) -> Table:
    """Read an ``.xlsx``, ``.xls`` or ``.ods`` (first sheet) or ``.csv`` file into canonical rows.

    ``source`` is a path or the file's bytes (then ``filename`` decides the type). The header row is
    the first of the first 20 rows holding every required column under one of its spellings; rows
    above it are skipped as "title". After it, rows with nothing in any recognised column are
    skipped as "empty", and signature/total lines at the end (制表人：…, 审核人：…, 合计) as "footer";
    empty rows after the last non-empty row are not reported. Every other row is returned, errors and
    all: validation is the caller's job. Raises ``ReadError`` for unreadable or too large files and missing
    columns, and ``UnreadableCells`` (both a ReadError and an ImportErrors) for formulas without a value.
    """
    if not columns:
        raise ValueError("read_table needs at least one Column")
    name, ext, data = _load(source, filename)
    encoding: str | None = None
    formulas: dict[tuple[int, int], FormulaCell] = {}
    if ext in _CSV_EXTENSIONS:
        raw, numbers, encoding = _csv_rows(name, data)
    else:
        raw, formulas = _excel_rows(name, ext, data)
        numbers = list(range(1, len(raw) + 1))
    rows = [[_clean(v) for v in r] for r in raw]

    header_index, found = _find_header(name, rows, numbers, columns)
    header = rows[header_index]

    skipped: list[Skipped] = []
    for i in range(header_index):
        reason = "title" if any(v is not None for v in rows[i]) else "empty"
        skipped.append(Skipped(numbers[i], reason, _row_text(rows[i])))

    # Trailing part: drop empties after the last non-empty row, then peel off footer lines.
    end = len(rows)
    while end > header_index + 1 and not any(v is not None for v in rows[end - 1]):
        end -= 1
    footer_start = end
    i = end - 1
    while i > header_index:
        cells = rows[i]
        if any(v is not None for v in cells) and not _is_footer(cells):
            break
        if any(v is not None for v in cells):
            footer_start = i
        i -= 1

    positions = list(found.items())
    if formulas:
        _refuse_uncomputed(rows, numbers, header, positions, formulas, header_index + 1, footer_start)
    absent = [c.key for c in columns if c.key not in found]
    data_rows: list[SheetRow] = []
    for i in range(header_index + 1, end):
        cells = rows[i]
        if i >= footer_start and any(v is not None for v in cells):
            skipped.append(Skipped(numbers[i], "footer", _row_text(cells)))
            continue
        values = {key: cells[index] for key, index in positions}
        if all(v is None for v in values.values()):
            skipped.append(Skipped(numbers[i], "empty", _row_text(cells)))
            continue
        for key in absent:
            values[key] = None
        data_rows.append(SheetRow(numbers[i], values))

    return Table(
        rows=data_rows,
        header_row=numbers[header_index],
        columns={key: _display(header[index]) for key, index in found.items()},
        skipped=skipped,
        encoding=encoding,
    )


def _refuse_uncomputed(
    rows: list[list[object]],
    numbers: list[int],
    header: list[object],
    positions: list[tuple[str, int]],
    formulas: dict[tuple[int, int], FormulaCell],
    first: int,
    stop: int,
) -> None:
    """Raise UnreadableCells for formulas without a saved value, and error values (#N/A, #DIV/0!), in the
    data rows' recognised columns.

    Such a cell reads as empty, and an empty 数量 means 1: ``=1+2`` would silently award one unit."""
    errors = []
    for i in range(first, stop):
        for _key, index in positions:
            cell = formulas.get((i, index))
            if cell is None:
                continue
            if cell.error is not None:
                errors.append(
                    RowError(
                        numbers[i],
                        _display(header[index]),
                        cell.error,
                        "is an error value, not data; correct the cell and import again",
                    )
                )
            elif cell.cached is False or (cell.cached is None and rows[i][index] is None):
                errors.append(
                    RowError(
                        numbers[i],
                        _display(header[index]),
                        cell.formula or None,
                        "is a formula saved without its value; open the file in Excel or WPS, "
                        "save it, and import it again (or paste the cells as values)",
                    )
                )
    if errors:
        raise UnreadableCells(errors)


def _find_header(
    name: str, rows: list[list[object]], numbers: list[int], columns: Sequence[Column]
) -> tuple[int, dict[str, int]]:
    required = [c for c in columns if c.required]
    best: tuple[int, int] | None = None  # (number of required columns found, row index)
    for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if not any(v is not None for v in cells):
            continue
        found = _match_header(cells, columns)
        hits = sum(1 for c in required if c.key in found)
        if hits == len(required) and (required or found):
            return i, found
        if hits and (best is None or hits > best[0]):
            best = (hits, i)
    if not any(any(v is not None for v in r) for r in rows):
        raise ReadError(f"{name}: the file has no data (no header row found)", code="file.no_data", file=name)
    if best is None:
        missing = required
        where = f"no header row with these columns in the first {HEADER_SEARCH_ROWS} rows"
    else:
        found = _match_header(rows[best[1]], columns)
        missing = [c for c in required if c.key not in found]
        where = f"header row looks like row {numbers[best[1]]}"
    names = ", ".join(_spell(c) for c in missing)
    plural = "s" if len(missing) > 1 else ""
    raise ReadError(
        f"{name}: missing column{plural} {names} ({where})",
        code="file.missing_columns",
        file=name,
        names=names,
        columns=[c.spellings[0] if c.spellings else c.key for c in missing],
    )


def _spell(column: Column) -> str:
    if not column.spellings:
        return column.key
    first, *others = column.spellings
    return f"{first} (or {' / '.join(others)})" if others else first


# --------------------------------------------------------------------------------------------
# Normalisers: each raises ValueError with a readable reason naming the bad value
# --------------------------------------------------------------------------------------------
