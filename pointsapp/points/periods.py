"""Local calendar periods: a month is a local month (Asia/Shanghai by default)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"


class HasTimezone(Protocol):
    timezone: str


def zone_of(village: HasTimezone | None, default: str = DEFAULT_TZ) -> str:
    """The time zone a village's days and months are counted in (``default`` without one)."""
    return (village.timezone if village is not None else None) or default


def local_today(tz: str = DEFAULT_TZ, now: dt.datetime | None = None) -> dt.date:
    """The local date at ``now`` (a UTC instant; default: the current time) in zone ``tz``."""
    from .db import utcnow

    now = now or utcnow()
    if now.tzinfo is None:  # naive values are UTC, as the database stores them
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(ZoneInfo(tz)).date()


def village_today(village: HasTimezone | None, now: dt.datetime | None = None) -> dt.date:
    """The village's local date at ``now`` (default: the current time)."""
    return local_today(zone_of(village), now)


def local_midnight_utc(day: dt.date, tz: str = DEFAULT_TZ) -> dt.datetime:
    """The UTC instant at which local day ``day`` begins in zone ``tz``."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(tz)).astimezone(dt.timezone.utc)


def local_time(at: dt.datetime, tz: str = DEFAULT_TZ) -> dt.datetime:
    """A stored UTC instant (naive values are UTC) as a local time in zone ``tz``."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(ZoneInfo(tz))


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_key(day: dt.date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def year_key(day: dt.date) -> str:
    return f"{day.year:04d}"


def month_shift(month: str, by: int) -> str:
    """The month ``by`` months after (negative: before) ``month``: ("2026-01", -1) → "2025-12"."""
    p = parse_month(month)
    index = p.start.year * 12 + p.start.month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous_month(month: str) -> str:
    return month_shift(month, -1)


def previous_month_of(day: dt.date) -> str:
    """The month before the one ``day`` falls in (the last finished month on ``day``)."""
    return month_shift(month_key(day), -1)


def month_range(end_month: str, months: int = 12) -> list[str]:
    """``months`` month keys ending with ``end_month``, oldest first."""
    return [month_shift(end_month, by) for by in range(1 - months, 1)]


def recent_months(day: dt.date, count: int = 12) -> list[str]:
    """The month of ``day`` and the ``count - 1`` before it, newest first."""
    return month_range(month_key(day), count)[::-1]


def recent_quarters(day: dt.date, count: int = 5) -> list[str]:
    """The quarter of ``day`` and the ``count - 1`` before it, newest first."""
    index = day.year * 4 + (day.month - 1) // 3
    return [f"{(index - i) // 4:04d}-Q{(index - i) % 4 + 1}" for i in range(count)]


def period_keys(day: dt.date) -> tuple[str, str, str, str]:
    """Every standings period a local date falls in, widest last."""
    return (month_key(day), quarter_key(day), year_key(day), "all")


@dataclass(frozen=True)
class Period:
    key: str  # "2026-11", "2026-Q4", "2026" or "all"
    start: dt.date | None
    end: dt.date | None  # inclusive


@dataclass(frozen=True)
class Month:
    """A local month (what :func:`parse_month` gives): never open-ended like the period "all"."""

    key: str  # "2026-11"
    start: dt.date
    end: dt.date  # inclusive


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


def parse_month(text: str) -> Month:
    p = parse_period(text)
    if not _MONTH.match(p.key) or p.start is None or p.end is None:
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    return Month(p.key, p.start, p.end)


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
    assert p.end is not None
    return local_midnight_utc(p.end + dt.timedelta(days=1), tz)
