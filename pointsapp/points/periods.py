"""Local calendar periods: a month is a local month (Asia/Shanghai by default)."""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"


def local_today(tz: str = DEFAULT_TZ, now: dt.datetime | None = None) -> dt.date:
    from .db import utcnow

    now = now or utcnow()
    return now.astimezone(ZoneInfo(tz)).date()


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_key(day: dt.date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def year_key(day: dt.date) -> str:
    return f"{day.year:04d}"


def period_keys(day: dt.date) -> tuple[str, str, str, str]:
    """Every standings period a local date falls in, widest last."""
    return (month_key(day), quarter_key(day), year_key(day), "all")


@dataclass(frozen=True)
class Period:
    key: str            # "2026-11", "2026-Q4", "2026" or "all"
    start: dt.date | None
    end: dt.date | None  # inclusive


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def parse_period(text: str) -> Period:
    """Parse YYYY-MM, YYYY-Qn, YYYY or 'all'. Raises ValueError naming the value."""
    text = (text or "").strip()
    if text == "all":
        return Period("all", None, None)
    if m := _MONTH.match(text):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise ValueError(f"bad month in period {text!r}")
        return Period(f"{y:04d}-{mo:02d}", dt.date(y, mo, 1), _month_end(y, mo))
    if m := _QUARTER.match(text):
        y, q = int(m[1]), int(m[2])
        return Period(f"{y:04d}-Q{q}", dt.date(y, 3 * q - 2, 1), _month_end(y, 3 * q))
    if m := _YEAR.match(text):
        y = int(m[1])
        return Period(f"{y:04d}", dt.date(y, 1, 1), dt.date(y, 12, 31))
    raise ValueError(f"period {text!r} is not YYYY-MM, YYYY-Qn, YYYY or all")


def parse_month(text: str) -> Period:
    p = parse_period(text)
    if not _MONTH.match(p.key):
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    return p


@functools.lru_cache(maxsize=8192)
def cap_window(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The local day/month/year containing ``day``, as inclusive bounds."""
    if period == "day":
        return day, day
    if period == "month":
        return day.replace(day=1), _month_end(day.year, day.month)
    if period == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    raise ValueError(period)


def local_month_end_utc(month: str, tz: str = DEFAULT_TZ) -> dt.datetime:
    """The UTC instant at which a local month ends."""
    p = parse_month(month)
    nxt = p.end + dt.timedelta(days=1)
    local = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=ZoneInfo(tz))
    return local.astimezone(dt.timezone.utc)
