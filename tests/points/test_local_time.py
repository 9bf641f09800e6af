"""Months and local days: month arithmetic and the time-zone helpers of points/periods.py, at the
edges where a UTC instant and the village's date disagree. Oracles are written out by hand
(fixed offsets of the zones in winter) or computed by counting months independently."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from pointsapp.points import periods
from pointsapp.points.objections import OBJECTIONS_PER_HOUSEHOLD_PER_DAY, Objection, report_missing_entry
from pointsapp.points.errors import Refused

EDGE = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 on 1 December in Shanghai


def test_the_edge_of_a_month_in_shanghai_and_elsewhere():
    shanghai, berlin = SimpleNamespace(timezone="Asia/Shanghai"), SimpleNamespace(timezone="Europe/Berlin")
    assert periods.village_today(shanghai, EDGE) == dt.date(2026, 12, 1)
    assert periods.village_today(berlin, EDGE) == dt.date(2026, 11, 30)  # 17:30 in Berlin
    assert periods.village_today(None, EDGE) == dt.date(2026, 12, 1)  # the default zone
    assert periods.village_today(SimpleNamespace(timezone=""), EDGE) == dt.date(2026, 12, 1)
    assert periods.local_today("Asia/Shanghai", EDGE.replace(tzinfo=None)) == dt.date(2026, 12, 1)  # naive = UTC
    assert periods.month_key(periods.village_today(shanghai, EDGE)) == "2026-12"
    assert periods.previous_month_of(periods.village_today(shanghai, EDGE)) == "2026-11"
    assert periods.previous_month_of(periods.village_today(berlin, EDGE)) == "2026-10"


def test_local_midnight_and_local_time():
    utc = dt.timezone.utc
    assert periods.local_midnight_utc(dt.date(2026, 12, 1), "Asia/Shanghai") == dt.datetime(
        2026, 11, 30, 16, tzinfo=utc
    )
    assert periods.local_midnight_utc(dt.date(2026, 12, 1), "Europe/Berlin") == dt.datetime(
        2026, 11, 30, 23, tzinfo=utc
    )
    assert periods.local_month_end_utc("2026-11", "Asia/Shanghai") == dt.datetime(2026, 11, 30, 16, tzinfo=utc)
    local = periods.local_time(EDGE.replace(tzinfo=None), "Asia/Shanghai")
    assert (local.date(), local.hour, local.minute) == (dt.date(2026, 12, 1), 0, 30)


def test_month_lists():
    assert periods.previous_month("2026-01") == "2025-12"
    assert periods.month_shift("2026-11", 2) == "2027-01"
    assert periods.month_range("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert periods.recent_months(dt.date(2026, 1, 31), 3) == ["2026-01", "2025-12", "2025-11"]
    assert periods.recent_quarters(dt.date(2026, 2, 1), 3) == ["2026-Q1", "2025-Q4", "2025-Q3"]


@given(st.integers(1990, 2100), st.integers(1, 12), st.integers(-400, 400))
def test_month_shift_counts_months(year, month, by):
    # independent oracle: walk month by month
    y, m = year, month
    for _ in range(abs(by)):
        m += 1 if by > 0 else -1
        if m == 13:
            y, m = y + 1, 1
        elif m == 0:
            y, m = y - 1, 12
    assert periods.month_shift(f"{year:04d}-{month:02d}", by) == f"{y:04d}-{m:02d}"


@given(st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)), st.integers(1, 30))
def test_recent_months_are_consecutive_and_end_at_the_day(day, count):
    keys = periods.recent_months(day, count)
    assert keys[0] == f"{day.year:04d}-{day.month:02d}" and len(keys) == len(set(keys)) == count
    starts = [periods.parse_month(k).start for k in keys]
    assert all(later - dt.timedelta(days=1) == periods.parse_month(k).end for later, k in zip(starts, keys[1:]))


@pytest.mark.parametrize("zone,allowed", [("Asia/Shanghai", False), ("Europe/Berlin", True)])
def test_objection_limit_counts_the_village_day(session, world, zone, allowed):
    """Objections raised at 22:00 UTC on 30 November are 1 December in Shanghai (they count
    against that day's limit) but 30 November in Berlin (a new day starts at 23:00 UTC)."""
    world.village.timezone = zone
    household = world.households[0]
    before = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.timezone.utc)
    for i in range(OBJECTIONS_PER_HOUSEHOLD_PER_DAY):
        report_missing_entry(session, household, f"missing {i}", now=before)
    later = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
    if allowed:
        assert report_missing_entry(session, household, "another", now=later).id
    else:
        with pytest.raises(Refused) as err:
            report_missing_entry(session, household, "another", now=later)
        assert err.value.code == "too_many_objections"
    assert session.query(Objection).count() == OBJECTIONS_PER_HOUSEHOLD_PER_DAY + allowed
