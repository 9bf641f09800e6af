"""Cell values from village files: text, phone numbers, dates, quantities, and a content digest.

Each parser raises ValueError with a readable English reason that names the bad value; the
importers report it with the row and column. Framework-free.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import unicodedata

from .reader import Table, _clean, _display, _strip


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
    """ "138 0000 1234", 13800001234, "+86 138-0000-1234" -> "13800001234"; "0743 1234567" -> "0743-1234567"."""
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
        raise ValueError(
            f"not a phone number: {v!r} (written in scientific notation, so digits were "
            "lost; format the column as text and type the number again)"
        )
    text = _WHOLE_DECIMAL.sub(r"\1", text)  # "13800001234.0" from a float column
    if not _PHONE_CHARS.match(text):
        raise ValueError(f"not a phone number: {v!r} (only digits, spaces, dashes and brackets are allowed)")
    digits = re.sub(r"\D", "", text)
    international = text.startswith("+") or digits.startswith("00")
    if international:
        for prefix in ("0086", "86"):
            if digits.startswith(prefix):
                digits = digits[len(prefix) :]
                break
        else:
            raise ValueError(f"not a Chinese phone number: {v!r} (country code is not +86)")
        if not (len(digits) == 11 and digits.startswith("1")) and not digits.startswith("0"):
            digits = "0" + digits  # +86 743 1234567 -> 0743 1234567, +86 10 … -> 010 …
    elif len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]  # 86-138-0000-1234
    if len(digits) == 11 and digits.startswith("1"):
        return digits
    if digits.startswith("0"):
        area_len = 3 if digits.startswith(("010", "02")) else 4
        area, local = digits[:area_len], digits[area_len:]
        if len(local) in (7, 8) and local[0] != "0":
            return f"{area}-{local}"
    raise ValueError(
        f"not a phone number: {v!r} (wrong number of digits: a mobile number has 11, "
        "a landline an area code plus 7 or 8)"
    )


_YM_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$"),  # 1958.05, 1958-05, 1958/5
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月?份?$"),  # 1958年5月
    re.compile(r"^(\d{4})(\d{2})$"),  # 195805
)
_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_PATTERNS = (
    re.compile(rf"^(\d{{4}})\s*([-/.])\s*(\d{{1,2}})\s*\2\s*(\d{{1,2}}){_TIME_SUFFIX}$"),  # 2026-11-05
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$"),  # 2026年11月5日
    re.compile(r"^(\d{4})()(\d{2})(\d{2})$"),  # 20261105
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
            month = int(frac[0])  # 1958.5 -> May
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


def parse_birth(v: object) -> tuple[int, int | None] | None:
    """出生年月 as the roster holds it: a year and month, or a bare year (1958, "1958", "1958年")
    when only the year is known. None for an empty cell."""
    value = _clean(v)
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        text = str(value)
    elif isinstance(value, str):
        text = _nfkc(value)
    else:
        text = ""
    if m := re.fullmatch(r"(\d{4})\s*年?", text):
        year = int(m.group(1))
        if year not in _YEARS:
            raise ValueError(f"not a year and month: {v!r} (year {year} is out of range)")
        return year, None
    return parse_year_month(v)


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
