"""Read the tables villages keep (Excel ``.xlsx`` or CSV) into plain rows keyed by canonical field names.

Real files are not clean: a merged title row sits above the header, header spellings vary
(户主 / 户主姓名), a blank row and a signature line (制表人：村委会) follow the data, phone numbers
are sometimes numbers and sometimes text, and a CSV saved by Chinese Excel is GB18030/GBK encoded.
``read_table`` copes with those shapes and reports every row it skipped, so nobody has to clean a
file by hand before importing it. It does not validate the data: the caller does, with the
normalisers in ``values`` (``parse_date``, ``normalize_phone``, ...), and reports errors by ``SheetRow.number``,
the row number the user sees in Excel (or the line number in a CSV).

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

__all__ = [
    "Column",
    "ReadError",
    "SheetRow",
    "Skipped",
    "Table",
    "read_table",
]

HEADER_SEARCH_ROWS = 20
"""The header row must be among the first this many rows of the sheet."""


@dataclass(frozen=True)
class Column:
    """One canonical field of a file layout."""

    key: str                      # canonical key, e.g. "head_name"
    spellings: tuple[str, ...]    # accepted header texts, e.g. ("户主姓名", "户主"); the first names it in errors
    required: bool = True


@dataclass(frozen=True)
class SheetRow:
    number: int                   # the row number the user sees (Excel row; CSV line, 1-based)
    values: dict[str, object]     # canonical key -> cleaned cell value; every declared column has a key
                                  # (None when the cell is empty or an optional column is absent)


@dataclass
class Skipped:
    number: int
    reason: str                   # "title", "empty" or "footer"
    text: str                     # the row's non-empty cells joined by a space, for the report


@dataclass
class Table:
    rows: list[SheetRow]
    header_row: int
    columns: dict[str, str]       # canonical key -> header text found (only columns present in the file)
    skipped: list[Skipped]
    encoding: str | None          # CSV: the detected encoding; None for Excel files


class ReadError(ValueError):
    """The file cannot be read as a table of the expected layout; the message names the file.

    ``code`` and ``params`` (``file`` and the details) are for translated messages.
    """

    def __init__(self, message: str, code: str | None = None, **params):
        super().__init__(message)
        self.code, self.params = code, params


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
    if isinstance(value, dt.datetime):   # also pandas.Timestamp, a datetime subclass
        if value.tzinfo is None and value.time() == _MIDNIGHT:
            return dt.date(value.year, value.month, value.day)
        return dt.datetime(value.year, value.month, value.day, value.hour, value.minute,
                           value.second, value.microsecond, tzinfo=value.tzinfo)
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, (dt.time, dt.timedelta)):
        return value
    item = getattr(value, "item", None)      # numpy scalars
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

_EXCEL_EXTENSIONS = {".xlsx", ".xlsm"}
_CSV_EXTENSIONS = {".csv"}


def _load(source: str | Path | bytes, filename: str | None) -> tuple[str, str, bytes]:
    """Return (display name, extension, raw bytes)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not filename:
            raise ReadError("uploaded file: a file name is needed to tell Excel from CSV")
        name = Path(filename).name or filename
        data = bytes(source)
    else:
        path = Path(source)
        name = Path(filename).name if filename else path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ReadError(f"{name}: file not found") from None
        except IsADirectoryError:
            raise ReadError(f"{name}: is a folder, not a file") from None
        except OSError as exc:
            raise ReadError(f"{name}: cannot open the file ({exc.strerror or exc})") from None
    ext = Path(name).suffix.lower()
    if ext in _EXCEL_EXTENSIONS or ext in _CSV_EXTENSIONS:
        return name, ext, data
    if ext == ".xls":
        raise ReadError(f"{name}: old Excel 97-2003 (.xls) files are not supported; "
                        "open it in Excel or WPS and save it as .xlsx")
    shown = ext or "(no extension)"
    raise ReadError(f"{name}: unsupported file type {shown}; use an Excel .xlsx file or a .csv file")


def _excel_rows(name: str, data: bytes) -> list[list[object]]:
    """All rows of the first worksheet, padded to equal length; index 0 is Excel row 1."""
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise ReadError(f"{name}: this is an old .xls workbook (or a password-protected one) "
                        "renamed to .xlsx; save it as .xlsx without a password")
    if not data:
        raise ReadError(f"{name}: the file is empty", "file.no_data", file=name)
    import openpyxl  # deferred: importing openpyxl costs time that CSV-only callers need not pay
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException) as exc:
        raise ReadError(f"{name}: not a valid .xlsx file ({exc})", "file.bad_xlsx", file=name) from None
    except Exception as exc:  # damaged workbooks surface as many different exception types
        raise ReadError(f"{name}: cannot open the workbook ({type(exc).__name__}: {exc})") from None
    try:
        if not book.worksheets:
            raise ReadError(f"{name}: the workbook has no worksheet")
        sheet = book.worksheets[0]
        # Some writers store a wrong <dimension>; without it openpyxl reads every cell that exists.
        sheet.reset_dimensions()
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    except ReadError:
        raise
    except Exception as exc:  # a damaged sheet XML surfaces as many different exception types
        raise ReadError(f"{name}: cannot read the worksheet ({type(exc).__name__}: {exc})") from None
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        if len(r) < width:
            r.extend([None] * (width - len(r)))
    return rows


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
        raise ReadError(f"{name}: cannot decode the text (not UTF-8 and not GB18030/GBK; "
                        f"bad bytes at position {exc.start})", "file.bad_encoding", file=name) from None


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
    except csv.Error as exc:
        raise ReadError(f"{name}: broken CSV near line {reader.line_num} ({exc})") from None
    width = max((len(r) for r in rows), default=0)
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
            index = positions.get(_header_key(spelling))
            if index is not None and index not in used:
                found[column.key] = index
                used.add(index)
                break
    return found


_FOOTER_WORDS = ("制表", "填表", "登记人", "审核", "审批", "复核", "核对", "记录人", "负责人", "经办",
                 "统计人", "签字", "签名", "盖章", "合计", "总计", "小计")
_SIGN_LABEL_ENDINGS = ("人", "签字", "签名", "盖章", "日期", "时间", "单位", "合计", "总计", "小计",
                       "注", "说明", "附注")
_TOTAL = re.compile(r"^(合计|总计|小计)")
_DATE_TEXT = re.compile(
    r"^\d{4}\s*年(\s*\d{1,2}\s*月(\s*\d{1,2}\s*[日号])?)?$"
    r"|^\d{4}([-/.])\d{1,2}(\3\d{1,2})?$")
_NUMBER_TEXT = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?$")


def _is_signature(value: object) -> bool:
    """A cell like 制表人：村委会, 审核人: 彭德高, 合计：240 or （盖章）."""
    if not isinstance(value, str):
        return False
    text = unicodedata.normalize("NFKC", value)
    if "盖章" in text or "签字" in text or "签名" in text:
        return True
    if ":" not in text:
        return False
    label = _ALL_SPACE.sub("", text.split(":", 1)[0])
    return 0 < len(label) <= 10 and (label.endswith(_SIGN_LABEL_ENDINGS) or bool(_TOTAL.match(label)))


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
    if isinstance(first, str) and _TOTAL.match(first):        # 合计 … 240
        return all(_is_signature(v) or _is_date_like(v) or _is_number(v) for v in filled[1:])
    if any(_is_signature(v) for v in filled):                  # 制表人：村委会 … 2026年1月
        return all(_is_signature(v) or _is_date_like(v) for v in filled)
    if len(filled) == 1 and isinstance(first, str):            # 制表人 村委会 (no colon)
        return any(word in first for word in _FOOTER_WORDS)
    return False


# --------------------------------------------------------------------------------------------
# read_table
# --------------------------------------------------------------------------------------------

def read_table(source: str | Path | bytes, columns: Sequence[Column], filename: str | None = None) -> Table:
    """Read an ``.xlsx`` (first worksheet) or ``.csv`` file into canonical rows.

    ``source`` is a path or the file's bytes (then ``filename`` decides the type). The header row is
    the first of the first 20 rows holding every required column under one of its spellings; rows
    above it are skipped as "title". After it, rows with nothing in any recognised column are
    skipped as "empty", and signature/total lines at the end (制表人：…, 审核人：…, 合计) as "footer";
    empty rows after the last non-empty row are not reported. Every other row is returned, errors and
    all: validation is the caller's job. Raises ``ReadError`` for unreadable files and missing columns.
    """
    if not columns:
        raise ValueError("read_table needs at least one Column")
    name, ext, data = _load(source, filename)
    encoding: str | None = None
    if ext in _CSV_EXTENSIONS:
        raw, numbers, encoding = _csv_rows(name, data)
    else:
        raw = _excel_rows(name, data)
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


def _find_header(name: str, rows: list[list[object]], numbers: list[int],
                 columns: Sequence[Column]) -> tuple[int, dict[str, int]]:
    required = [c for c in columns if c.required]
    best: tuple[int, int] | None = None          # (number of required columns found, row index)
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
        raise ReadError(f"{name}: the file has no data (no header row found)", "file.no_data", file=name)
    if best is None:
        missing = required
        where = f"no header row with these columns in the first {HEADER_SEARCH_ROWS} rows"
    else:
        found = _match_header(rows[best[1]], columns)
        missing = [c for c in required if c.key not in found]
        where = f"header row looks like row {numbers[best[1]]}"
    names = ", ".join(_spell(c) for c in missing)
    plural = "s" if len(missing) > 1 else ""
    raise ReadError(f"{name}: missing column{plural} {names} ({where})", "file.missing_columns", file=name,
                    names=names)


def _spell(column: Column) -> str:
    if not column.spellings:
        return column.key
    first, *others = column.spellings
    return f"{first} (or {' / '.join(others)})" if others else first


# --------------------------------------------------------------------------------------------
# Normalisers: each raises ValueError with a readable reason naming the bad value
# --------------------------------------------------------------------------------------------
