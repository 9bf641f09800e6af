"""Read the tables villages keep (Excel ``.xlsx`` or CSV) into plain rows keyed by canonical field names.

Real files are not clean: a merged title row sits above the header, header spellings vary
(户主 / 户主姓名), a blank row and a signature line (制表人：村委会) follow the data, phone numbers
are sometimes numbers and sometimes text, and a CSV saved by Chinese Excel is GB18030/GBK encoded.
``read_table`` copes with those shapes and reports every row it skipped, so nobody has to clean a
file by hand before importing it. It does not validate the data: the caller does, with the
normalisers below (``parse_date``, ``normalize_phone``, ...), and reports errors by ``SheetRow.number``,
the row number the user sees in Excel (or the line number in a CSV).

Framework-free: no Flask, no SQLAlchemy, no pandas types in the results.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
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
    "as_text",
    "content_digest",
    "normalize_phone",
    "parse_date",
    "parse_quantity",
    "parse_year_month",
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
    """The file cannot be read as a table of the expected layout; the message names the file."""


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
        raise ReadError(f"{name}: the file is empty")
    import openpyxl  # deferred: importing openpyxl costs time that CSV-only callers need not pay
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException) as exc:
        raise ReadError(f"{name}: not a valid .xlsx file ({exc})") from None
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
                        f"bad bytes at position {exc.start})") from None


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
        raise ReadError(f"{name}: the file has no data (no header row found)")
    if best is None:
        missing = required
        where = f"no header row with these columns in the first {HEADER_SEARCH_ROWS} rows"
    else:
        found = _match_header(rows[best[1]], columns)
        missing = [c for c in required if c.key not in found]
        where = f"header row looks like row {numbers[best[1]]}"
    names = ", ".join(_spell(c) for c in missing)
    plural = "s" if len(missing) > 1 else ""
    raise ReadError(f"{name}: missing column{plural} {names} ({where})")


def _spell(column: Column) -> str:
    if not column.spellings:
        return column.key
    first, *others = column.spellings
    return f"{first} (or {' / '.join(others)})" if others else first


# --------------------------------------------------------------------------------------------
# Normalisers: each raises ValueError with a readable reason naming the bad value
# --------------------------------------------------------------------------------------------

def _nfkc(value: str) -> str:
    return _strip(unicodedata.normalize("NFKC", value))


def as_text(v: object) -> str | None:
    """A cell as text: ints as "123" (never "123.0"), strings stripped (leading zeros kept), empty -> None."""
    value = _clean(v)
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a usable value: {v!r}")
    return _display(value)


_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$")
_WHOLE_DECIMAL = re.compile(r"^(-?\d+)\.0+$")
_PHONE_CHARS = re.compile(r"^[\d\s\-()+.]+$")


def normalize_phone(v: object) -> str | None:
    """"138 0000 1234", 13800001234, "+86 138-0000-1234" -> "13800001234"; "0743 1234567" -> "0743-1234567"."""
    value = _clean(v)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a phone number: {v!r}")
    if isinstance(value, float):
        raise ValueError(f"not a phone number: {v!r} (has a fractional part)")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"not a phone number: {v!r}")
        text = str(value)
    elif isinstance(value, str):
        text = _nfkc(value)
    else:
        raise ValueError(f"not a phone number: {v!r}")
    if not text:
        return None
    if _SCIENTIFIC.match(text):
        raise ValueError(f"not a phone number: {v!r} (written in scientific notation, so digits were "
                         "lost; format the column as text and type the number again)")
    text = _WHOLE_DECIMAL.sub(r"\1", text)        # "13800001234.0" from a float column
    if not _PHONE_CHARS.match(text):
        raise ValueError(f"not a phone number: {v!r} (only digits, spaces, dashes and brackets are allowed)")
    digits = re.sub(r"\D", "", text)
    international = text.startswith("+") or digits.startswith("00")
    if international:
        for prefix in ("0086", "86"):
            if digits.startswith(prefix):
                digits = digits[len(prefix):]
                break
        else:
            raise ValueError(f"not a Chinese phone number: {v!r} (country code is not +86)")
        if not (len(digits) == 11 and digits.startswith("1")) and not digits.startswith("0"):
            digits = "0" + digits            # +86 743 1234567 -> 0743 1234567, +86 10 … -> 010 …
    elif len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]                  # 86-138-0000-1234
    if len(digits) == 11 and digits.startswith("1"):
        return digits
    if digits.startswith("0"):
        area_len = 3 if digits.startswith(("010", "02")) else 4
        area, local = digits[:area_len], digits[area_len:]
        if len(local) in (7, 8) and local[0] != "0":
            return f"{area}-{local}"
    raise ValueError(f"not a phone number: {v!r} (wrong number of digits: a mobile number has 11, "
                     "a landline an area code plus 7 or 8)")


_YM_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$"),                     # 1958.05, 1958-05, 1958/5
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月?份?$"),               # 1958年5月
    re.compile(r"^(\d{4})(\d{2})$"),                                   # 195805
)
_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_PATTERNS = (
    re.compile(rf"^(\d{{4}})\s*([-/.])\s*(\d{{1,2}})\s*\2\s*(\d{{1,2}}){_TIME_SUFFIX}$"),  # 2026-11-05
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$"),                 # 2026年11月5日
    re.compile(r"^(\d{4})()(\d{2})(\d{2})$"),                                             # 20261105
)
_YEARS = range(1900, 2101)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000


def _date_from_text(text: str) -> dt.date | None:
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            groups = [g for g in m.groups() if g and g.isdigit()]
            year, month, day = (int(g) for g in groups)
            try:
                return dt.date(year, month, day)
            except ValueError:
                raise ValueError(f"not a valid date: {text!r}") from None
    return None


def _year_month_from_text(original: object, text: str) -> tuple[int, int]:
    for pattern in _YM_PATTERNS:
        m = pattern.match(text)
        if m:
            return int(m.group(1)), int(m.group(2))
    try:
        day = _date_from_text(text)
    except ValueError:
        day = None
    if day is None:
        if re.fullmatch(r"\d{4}\s*年?", text):
            raise ValueError(f"not a year and month: {original!r} (the month is missing)")
        raise ValueError(f"not a year and month: {original!r} (write it like 1958.05 or 1958年5月)")
    return day.year, day.month


def parse_year_month(v: object) -> tuple[int, int] | None:
    """A birth month (出生年月) -> (year, month); None for an empty cell.

    Accepts "1958.05", "1958.5", "1958年5月", "1958-05", "1958/5", "195805", full dates, date values and
    Excel numbers such as 1958.05. A float keeps no trailing zero, so 1958.1 is read as "1958.10"
    (October); 1958.5 can only mean May.
    """
    value = _clean(v)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a year and month: {v!r}")
    if isinstance(value, (dt.date, dt.datetime)):
        year, month = value.year, value.month
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a year and month: {v!r}")
        whole, _, frac = f"{value:.2f}".partition(".")
        month = int(frac)
        if month > 12 and frac.endswith("0"):
            month = int(frac[0])             # 1958.5 -> May
        year = int(whole)
    elif isinstance(value, int):
        if 1000 <= value <= 9999:
            raise ValueError(f"not a year and month: {v!r} (the month is missing)")
        year, month = _year_month_from_text(v, str(value))
    elif isinstance(value, str):
        year, month = _year_month_from_text(v, _nfkc(value))
    else:
        raise ValueError(f"not a year and month: {v!r}")
    if not 1 <= month <= 12:
        raise ValueError(f"not a year and month: {v!r} (month {month} is not 1-12)")
    if year not in _YEARS:
        raise ValueError(f"not a year and month: {v!r} (year {year} is out of range)")
    return year, month


def parse_date(v: object) -> dt.date:
    """A date cell -> ``datetime.date``: date values, "2026-11-05", "2026/11/5", "2026.11.5",
    "2026年11月5日", "20261105", or an Excel serial number (20000-80000)."""
    value = _clean(v)
    if value is None:
        raise ValueError("the date is missing")
    if isinstance(value, bool):
        raise ValueError(f"not a date: {v!r}")
    day: dt.date | None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, (int, float)):
        day = _from_serial(value)
    elif isinstance(value, str):
        text = _nfkc(value)
        day = _date_from_text(text)
        if day is None and re.fullmatch(r"\d{5}(\.\d+)?", text):
            day = _from_serial(float(text))
    else:
        day = None
    if day is None:
        raise ValueError(f"not a date: {v!r} (write it like 2026-11-05 or 2026年11月5日)")
    if day.year not in _YEARS:
        raise ValueError(f"not a date: {v!r} (year {day.year} is out of range)")
    return day


def _from_serial(number: float) -> dt.date | None:
    if not (math.isfinite(number) and _SERIAL_MIN <= number <= _SERIAL_MAX):
        return None
    return _EXCEL_EPOCH + dt.timedelta(days=int(number))


def parse_quantity(v: object) -> int:
    """数量: empty -> 1; a positive whole number (3, "3", 3.0) -> int; anything else -> ValueError."""
    value = _clean(v)
    if value is None:
        return 1
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {v!r}")
    if isinstance(value, str):
        text = _nfkc(value)
        m = re.fullmatch(r"\+?(\d+)(?:\.0*)?", text)
        if not m:
            raise ValueError(f"not a quantity: {v!r} (expected a positive whole number)")
        number = int(m.group(1))
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        raise ValueError(f"not a quantity: {v!r} (expected a whole number)")
    else:
        raise ValueError(f"not a quantity: {v!r}")
    if number <= 0:
        raise ValueError(f"not a quantity: {v!r} (must be at least 1)")
    return number


# --------------------------------------------------------------------------------------------
# Digest
# --------------------------------------------------------------------------------------------

_ISO_LIKE_DATE = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?: 0{1,2}:00(?::00)?)?$")


def _digest_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, str):
        text = unicodedata.normalize("NFC", value)
        m = _ISO_LIKE_DATE.match(text)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(3)), int(m.group(4))).isoformat()
            except ValueError:
                return text
        m = _WHOLE_DECIMAL.match(text)
        return m.group(1) if m else text
    return _display(value)


def content_digest(table: Table) -> str:
    """SHA-256 (hex) of the data rows' canonical values, in order.

    Independent of file format, encoding, header spelling, title/footer/blank rows and row numbers:
    the same data as .xlsx, UTF-8 CSV or GBK CSV gives the same digest (dates become ISO text, numbers
    text, "2026/11/5" and "2026-11-05" count as the same date).
    """
    h = hashlib.sha256()
    for row in table.rows:
        record = [[key, _digest_value(row.values[key])] for key in sorted(row.values)]
        h.update(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
