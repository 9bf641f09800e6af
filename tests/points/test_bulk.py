"""bulk_insert round-trips any value: COPY on PostgreSQL (psycopg's write_row escapes), executemany on SQLite.

Runs on the test database (PostgreSQL when POINTSAPP_TEST_DATABASE_URL is set, as in CI's second pass);
read back with raw SQL.
"""

from __future__ import annotations

import datetime as dt
import enum

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, Text, text
from sqlalchemy.orm import Session

from pointsapp.points.bulk import bulk_insert, fix_sequences


class Kind(enum.Enum):
    award = "award"
    deduction = "deduction"


META = MetaData()
SAMPLE = Table(
    "bulk_sample",
    META,
    Column("id", Integer, primary_key=True),
    Column("body", Text),
    Column("label", String(40)),
    Column("n", Integer),
    Column("flag", Boolean),
    Column("day", Date),
    Column("at", DateTime(timezone=True)),
    Column("kind", String(20)),
)
COLUMNS = ("id", "body", "label", "n", "flag", "day", "at", "kind")

# Text PostgreSQL can store (no NUL), with what COPY's text format must escape: tab, newline, CR,
# backslash, a literal \N, and characters outside the BMP.
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)
TRICKY = ["\\N", "a\tb", "line\nbreak", "cr\rlf", "back\\slash", "贾德䶮", "杨明𠮷", "", " ", "\\.", "'quote\""]


def read_back(session: Session) -> list[tuple]:
    rows = session.execute(text("SELECT id, body, label, n, flag, day, at, kind FROM bulk_sample ORDER BY id"))
    out = []
    for r in rows:
        at = r.at
        if isinstance(at, str):  # SQLite keeps the text it was given
            at = dt.datetime.fromisoformat(at)
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=dt.timezone.utc)
        day = dt.date.fromisoformat(r.day) if isinstance(r.day, str) else r.day
        out.append((r.id, r.body, r.label, r.n, None if r.flag is None else bool(r.flag), day, at, r.kind))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(st.one_of(st.none(), TEXT, st.sampled_from(TRICKY)), min_size=1, max_size=12))
def test_any_text_round_trips(engine, bodies):
    META.drop_all(engine)
    META.create_all(engine)
    at = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.timezone.utc)
    rows = [
        (i + 1, b, (b or "")[:40] or None, i - 3, i % 2 == 0, dt.date(2026, 12, 1), at, Kind.award)
        for i, b in enumerate(bodies)
    ]
    with Session(engine) as s:
        assert bulk_insert(s, SAMPLE, COLUMNS, rows) == len(rows)
        s.commit()
        got = read_back(s)
    assert got == [(*r[:7], "award") for r in rows]


def test_enum_values_dates_and_nulls(engine):
    META.drop_all(engine)
    META.create_all(engine)
    local = dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # 2026-11-30 16:30 UTC
    rows = [
        (1, None, None, None, None, None, None, None),
        (2, "\\N", "x", 0, False, dt.date(2026, 1, 1), local, Kind.deduction),
    ]
    with Session(engine) as s:
        bulk_insert(s, SAMPLE, COLUMNS, rows)
        fix_sequences(s, [SAMPLE])
        s.commit()
        got = read_back(s)
    assert got[0] == (1, None, None, None, None, None, None, None)
    assert got[1][:6] == (2, "\\N", "x", 0, False, dt.date(2026, 1, 1))
    assert got[1][6] == local and got[1][7] == "deduction"
    assert bulk_insert(Session(engine), SAMPLE, COLUMNS, []) == 0
