"""Top-N boards (issue 12): read from the tallies' rank indexes, and never stale.

The county's top 100 and a village's top households are compared with raw SQL that sums the ledger
itself (GROUP BY over ledger_entries, ranked with RANK()), before and after new postings and a
correction. The plans are checked to walk ``ix_tallies_county_rank`` / ``ix_tallies_board_rank``
without sorting; the check itself is shown to fail when the index is gone.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pointsapp.points.capture import Line, capture
from pointsapp.points.db import Base, explain
from pointsapp.points.demo import build_demo
from pointsapp.points.engine import make_engine
from pointsapp.points.ledger import LedgerEntry, Submission
from pointsapp.points.registry import StaffUser, Village, Villager
from pointsapp.points.review import approve, correct
from pointsapp.points.standings import leaderboard, top_stmt
from tests.conftest import PG_URL, _reset_pg

NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Two demo villages with three months of activity, built once for the module."""
    url = PG_URL or f"sqlite:///{tmp_path_factory.mktemp('rank') / 'rank.db'}"
    if PG_URL:
        _reset_pg(PG_URL)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        build_demo(s, villages=2, months=3, seed=3, now=NOW)
        s.commit()
    if PG_URL:  # (SQLite without statistics plans as a county's would; with them, 20 groups sort cheaper)
        with engine.begin() as c:
            c.execute(text("ANALYZE"))
    yield engine
    engine.dispose()


@pytest.fixture
def s(demo):
    with Session(demo) as session:
        yield session


def raw_villager_top(s, n, village_id=None):
    """Active villagers' honour points summed from the ledger, ranked 1, 2, 2, 4 (positive only)."""
    scope = "AND e.village_id = :v" if village_id else ""
    return [
        tuple(r)
        for r in s.execute(
            text(f"""
        WITH pts AS (SELECT villager_id, SUM(points) AS p FROM ledger_entries e
                     WHERE villager_id IS NOT NULL AND kind NOT IN ('redemption', 'expiry') {scope}
                     GROUP BY villager_id)
        SELECT v.id, v.name, vl.name, pts.p, RANK() OVER (ORDER BY pts.p DESC)
        FROM pts JOIN villagers v ON v.id = pts.villager_id AND v.status = 'active'
        JOIN villages vl ON vl.id = v.village_id
        WHERE pts.p > 0 ORDER BY pts.p DESC, v.id LIMIT :n"""),
            {"n": n, "v": village_id},
        )
    ]


def raw_household_top(s, village_id, month_lo, month_hi, n):
    return [
        tuple(r)
        for r in s.execute(
            text("""
        WITH pts AS (SELECT household_id, SUM(points) AS p FROM ledger_entries
                     WHERE village_id = :v AND occurred_on BETWEEN :lo AND :hi
                     AND kind NOT IN ('redemption', 'expiry') GROUP BY household_id)
        SELECT h.id, pts.p, RANK() OVER (ORDER BY pts.p DESC)
        FROM pts JOIN households h ON h.id = pts.household_id AND h.active
        WHERE pts.p > 0 ORDER BY pts.p DESC, h.id LIMIT :n"""),
            {"v": village_id, "lo": month_lo, "hi": month_hi, "n": n},
        )
    ]


def county_top(s, n):
    return [(r.id, r.name, r.village, r.points, r.rank) for r in leaderboard(s, "villager", "all", limit=n)]


def _staff(s, village, role):
    return (
        s.execute(select(StaffUser).where(StaffUser.village_id == village.id, StaffUser.role == role)).scalars().first()
    )


KEYS = itertools.count()


def _post(s, village, people, rule="BZ-03"):
    """Capture ``rule`` (BZ-03: 50 points, no cap) for ``people`` and approve it."""
    res = capture(
        s,
        actor=_staff(s, village, "admin"),
        village=village,
        rule_code=rule,
        occurred_on=DAY,
        lines=[Line(villager_id=p) for p in people],
        key=f"t-{next(KEYS)}",
        now=NOW,
    )
    subs = (
        s.execute(select(Submission).where(Submission.batch_id == res.batch_id, Submission.status == "pending"))
        .scalars()
        .all()
    )
    entries = approve(s, subs, _staff(s, village, "reviewer"), now=NOW)
    s.commit()
    return entries


def test_county_top_100_equals_the_ledger_summed_in_sql_before_and_after_postings(s):
    assert county_top(s, 100) == raw_villager_top(s, 100)
    assert len(county_top(s, 100)) == 100
    # Villagers at the bottom of the county jump into the top: their all-time tallies move at once.
    bottom = [
        r[0]
        for r in s.execute(
            text(
                "SELECT v.id FROM villagers v JOIN villages vl ON vl.id = v.village_id WHERE v.status = 'active' "
                "AND vl.name <> '龙天坪村' ORDER BY v.id DESC LIMIT 3"
            )
        )
    ]
    village = s.get(Village, s.get(Villager, bottom[0]).village_id)
    for _ in range(5):  # 250 points each, so they clear the current top
        _post(s, village, bottom)
    top = county_top(s, 100)
    assert top == raw_villager_top(s, 100)
    assert set(bottom) <= {r[0] for r in top[:10]}
    # A correction takes points back: the county board follows the ledger.
    entry = s.execute(
        select(LedgerEntry)
        .where(LedgerEntry.villager_id == bottom[0], LedgerEntry.kind == "award")
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    ).scalar_one()
    correct(s, entry, _staff(s, village, "admin"), "记错了", now=NOW)
    s.commit()
    assert county_top(s, 100) == raw_villager_top(s, 100)
    assert county_top(s, 7) == raw_villager_top(s, 7)


def test_village_top_boards_equal_the_ledger(s):
    village = s.execute(select(Village).where(Village.name == "龙天坪村")).scalar_one()
    vtop = [
        (r.id, r.name, r.village, r.points, r.rank)
        for r in leaderboard(s, "villager", "all", village=village, limit=50)
    ]
    assert [(i, n, p, rk) for i, n, _v, p, rk in vtop] == [
        (i, n, p, rk) for i, n, _vl, p, rk in raw_villager_top(s, 50, village.id)
    ]
    month = leaderboard(s, "household", "2026-10", village=village, limit=20)
    assert [(r.id, r.points, r.rank) for r in month] == raw_household_top(
        s, village.id, dt.date(2026, 10, 1), dt.date(2026, 10, 31), 20
    )


def reads_rank_index(plan: list[str], index: str) -> bool:
    """The plan walks ``index`` and sorts nothing (PostgreSQL: no Sort node; SQLite: no temp B-tree)."""
    return any(index in line for line in plan) and not any(
        line.strip().startswith(("Sort", "->  Sort", "Incremental Sort", "->  Incremental Sort"))
        or "TEMP B-TREE" in line
        for line in plan
    )


def _plan(s, by, in_village, analyze=False):
    village = s.execute(select(Village.id).order_by(Village.id).limit(1)).scalar_one()
    if s.get_bind().dialect.name == "postgresql":
        # The demo is small enough that a sequential scan and a sort would be cheaper; make those
        # cost what they cost on a county's tallies, so the plan shows whether the index is usable.
        s.execute(text("SET LOCAL enable_seqscan = off"))
        s.execute(text("SET LOCAL enable_sort = off"))
        s.execute(text("SET LOCAL enable_bitmapscan = off"))
    code = {"villager": "v", "household": "h", "group": "g"}[by]
    return explain(
        s, top_stmt(by, in_village), {"period": "all", "kind": code, "limit": 100, "village": village}, analyze=analyze
    )


@pytest.mark.parametrize("by", ["villager", "household", "group"])
def test_top_boards_walk_the_rank_index_without_sorting(s, by):
    plan = _plan(s, by, False)
    assert reads_rank_index(plan, "ix_tallies_county_rank"), plan
    s.rollback()
    plan = _plan(s, by, True)
    assert reads_rank_index(plan, "ix_tallies_board_rank"), plan
    s.rollback()


def test_the_plan_check_fails_once_the_index_is_gone(demo):
    # A connection of its own: SQLite's statement cache would replay the plan from before the DROP.
    engine = make_engine(demo.url.render_as_string(hide_password=False))
    try:
        with Session(engine) as s:
            s.execute(text("DROP INDEX ix_tallies_county_rank"))
            plan = _plan(s, "villager", False)
            assert not reads_rank_index(plan, "ix_tallies_county_rank"), plan
            # The board is still right without it, only slower.
            assert county_top(s, 100) == raw_villager_top(s, 100)
            s.rollback()  # PostgreSQL and SQLite both undo the DROP INDEX
    finally:
        engine.dispose()
    with Session(demo) as s:
        assert reads_rank_index(_plan(s, "villager", False), "ix_tallies_county_rank")
