"""Registry integrity: one move path that keeps heads right, same-name people told apart by
birth date, the roster round trip, and moves that count from their date.

Oracles are raw SQL over the tables, not the code under test."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pointsapp.points.imports.roster_export import export_roster
from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.demo import build_demo
from pointsapp.points.errors import Refused
from pointsapp.points.imports.errors import ImportErrors
from pointsapp.points.imports.reader import read_table
from pointsapp.points.imports.roster import ROSTER_COLUMNS, import_roster
from pointsapp.points.moves import move_villager
from pointsapp.points.registry import Household, Role, StaffUser, Village, Villager, VillagerStatus
from pointsapp.points.rules import load_rulebook_text
from tests.samples import ROSTER_NAME, SOURCES, sample_in

HEADER = [
    "序号",
    "村民小组",
    "户号",
    "户主姓名",
    "姓名",
    "与户主关系",
    "性别",
    "出生年月",
    "联系电话",
    "门牌号",
    "备注",
]
NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.timezone.utc)
RULES = """rules:
  - {code: DJ-01, name: 参加党日活动, category: 党建引领, points: 5, per: occasion, unit: 次, scope: person,
     evidence: sign_in, logged_by: [admin], effective_from: 2026-01-01}
"""


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["测试村村民花名册"])
    sheet.append(HEADER)
    for n, r in enumerate(rows, start=1):
        sheet.append([n, *r])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def load(session, village, rows, **kw):
    return import_roster(session, village, read_table(xlsx(rows), ROSTER_COLUMNS, filename="r.xlsx"), now=NOW, **kw)


def snapshot(session, village_id: int) -> dict:
    """The registry as raw rows."""
    q = lambda sql: sorted(tuple(r) for r in session.execute(text(sql), {"v": village_id}).all())  # noqa: E731
    return {
        "groups": q("SELECT id, name, sort_key FROM groups WHERE village_id = :v"),
        "households": q(
            "SELECT id, group_id, number, house_number, head_id, active FROM households WHERE village_id = :v"
        ),
        "villagers": q(
            "SELECT id, household_id, name, sex, birth_year, birth_month, phone, relation, status "
            "FROM villagers WHERE village_id = :v"
        ),
        "moves": q(
            "SELECT m.id FROM household_moves m JOIN villagers p ON p.id = m.villager_id WHERE p.village_id = :v"
        ),
    }


def misplaced_heads(session, village_id: int) -> list:
    """Households whose head does not live in them (raw SQL)."""
    return session.execute(
        text(
            "SELECT h.number, p.name FROM households h JOIN villagers p ON p.id = h.head_id "
            "WHERE h.village_id = :v AND p.household_id <> h.id"
        ),
        {"v": village_id},
    ).all()


@pytest.fixture
def village(session):
    v = Village(name="测试村")
    session.add(v)
    session.flush()
    return v


FAMILIES = [
    ["第一组", "1", "滕文", "滕文", "户主", "男", "1956-03", None, "001", None],
    ["第一组", "1", "滕文", "滕文", "子", "男", "1976-08", "13800001234", "001", None],
    ["第一组", "1", "滕文", "李秀", "配偶", "女", "1958", None, "001", None],
    ["第一组", "2", "王五", "王五", "户主", "男", "1970.01", None, "002", None],
    ["第一组", "2", "王五", "赵兰", "配偶", "女", "1972-02", None, "002", None],
]


def test_same_name_people_in_one_household_are_told_apart_by_birth_date(session, village):
    load(session, village, FAMILIES)
    session.commit()
    rows = session.execute(
        text(
            "SELECT p.name, p.birth_year, p.birth_month, p.relation, h.head_id = p.id FROM villagers p "
            "JOIN households h ON h.id = p.household_id WHERE h.number = '1' ORDER BY p.birth_year"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("滕文", 1956, 3, "户主", 1),
        ("李秀", 1958, None, "配偶", 0),
        ("滕文", 1976, 8, "子", 0),
    ]
    # Again, listed the other way round: each row finds its own person, nothing changes.
    before = snapshot(session, village.id)
    again = load(session, village, [FAMILIES[1], FAMILIES[0], *FAMILIES[2:]])
    session.commit()
    assert again.changes == 0 and again.unchanged == 5 and not again.not_in_file
    assert snapshot(session, village.id) == before
    # One of them changes phone: exactly that one is updated.
    changed = [list(r) for r in FAMILIES]
    changed[0][7] = "139 0000 5678"
    report = load(session, village, changed)
    session.commit()
    assert len(report.updated) == 1 and "row 3 滕文" in report.updated[0]
    phones = dict(session.execute(text("SELECT birth_year, phone FROM villagers WHERE name = '滕文'")).all())
    assert phones == {1956: "13900005678", 1976: "13800001234"}


def test_same_name_and_no_birth_date_is_a_row_error(session, village):
    rows = [list(r) for r in FAMILIES]
    rows[1][6] = None
    with pytest.raises(ImportErrors) as info:
        load(session, village, rows)
    assert [e.row for e in info.value.errors] == [4]
    assert "出生年月" in info.value.errors[0].reason and "household 1" in info.value.errors[0].reason
    rows[1][6] = "1956-03"
    with pytest.raises(ImportErrors, match=r"row 4.*listed twice in household 1"):
        load(session, village, rows)
    assert session.execute(text("SELECT count(*) FROM villagers")).scalar_one() == 0


def test_a_head_who_moves_by_import_leaves_a_new_head_behind(session, village):
    load(session, village, FAMILIES)
    session.commit()
    # 王五 (head of 2) marries into household 1; household 2 now names 赵兰 as its head.
    moved = [r for r in FAMILIES if r[1] != "2"] + [
        ["第一组", "1", "滕文", "王五", "女婿", "男", "1970.01", None, "001", None],
        ["第一组", "2", "赵兰", "赵兰", "户主", "女", "1972-02", None, "002", None],
    ]
    report = load(session, village, moved)
    session.commit()
    assert len(report.moved) == 1 and "王五" in report.moved[0]
    assert any("户主 王五 → 赵兰" in u for u in report.updated)
    assert misplaced_heads(session, village.id) == []
    heads = dict(
        session.execute(text("SELECT h.number, p.name FROM households h JOIN villagers p ON p.id = h.head_id")).all()
    )
    assert heads == {"1": "滕文", "2": "赵兰"}
    move = session.execute(text("SELECT moved_on FROM household_moves")).scalar_one()
    assert str(move)[:10] == "2026-11-26"  # the village's today by default
    # The same file again changes nothing.
    assert load(session, village, moved).changes == 0


def test_a_head_moving_out_of_a_household_the_file_omits_is_refused_naming_it(session, village):
    load(session, village, FAMILIES)
    session.commit()
    before = snapshot(session, village.id)
    # Only household 1 is listed, now with 王五 in it: household 2 would keep 赵兰 but no head.
    partial = FAMILIES[:3] + [["第一组", "1", "滕文", "王五", "女婿", "男", "1970.01", None, "001", None]]
    with pytest.raises(ImportErrors) as info:
        load(session, village, partial)
    [err] = info.value.errors
    assert err.row == 6 and "head of household 2" in err.reason
    with pytest.raises(ImportErrors):
        load(session, village, partial, dry_run=True)  # the preview says so too
    session.rollback()
    assert snapshot(session, village.id) == before


def test_admin_move_and_import_move_share_one_head_rule(session, village):
    load(session, village, FAMILIES)
    session.commit()
    h1, h2 = (session.execute(select(Household).where(Household.number == n)).scalar_one() for n in ("1", "2"))
    head = h1.head
    move_villager(session, village, head, h2, dt.date(2026, 11, 20), relation="兄弟", now=NOW)
    session.commit()
    assert misplaced_heads(session, village.id) == []
    new_head = session.execute(
        text("SELECT p.name, p.birth_year FROM households h JOIN villagers p ON p.id = h.head_id WHERE h.number = '1'")
    ).one()
    assert tuple(new_head) == ("滕文", 1976)  # the next active member, not the one who left
    # A move cannot be dated after the village's today, nor before the person's last move.
    with pytest.raises(Refused) as info:
        move_villager(session, village, head, h1, dt.date(2026, 11, 27), now=NOW)
    assert info.value.code == "future_date"
    with pytest.raises(Refused) as info:
        move_villager(session, village, head, h1, dt.date(2026, 11, 19), now=NOW)
    assert info.value.code == "move_before_last"


def test_the_last_person_moving_out_leaves_no_head(session, village):
    load(session, village, FAMILIES + [["第二组", "3", "孤老", "孤老", "户主", "男", "1940-01", None, "003", None]])
    session.commit()
    h1, h3 = (session.execute(select(Household).where(Household.number == n)).scalar_one() for n in ("1", "3"))
    move_villager(session, village, h3.head, h1, dt.date(2026, 11, 20), now=NOW)
    session.commit()
    assert session.execute(text("SELECT head_id FROM households WHERE number = '3'")).scalar_one() is None
    assert misplaced_heads(session, village.id) == []


def _round_trip(session: Session, village: Village, admin: StaffUser) -> None:
    before = snapshot(session, village.id)
    data = export_roster(session, admin, village, today=dt.date(2026, 11, 26))
    session.commit()
    table = read_table(data, ROSTER_COLUMNS, filename="export.xlsx")
    dry = import_roster(session, village, table, dry_run=True, now=NOW)
    session.rollback()
    assert dry.changes == 0 and not dry.unmatched and not dry.not_in_file, dry.lines()[:20]
    report = import_roster(session, village, table, now=NOW)
    session.commit()
    assert report.changes == 0 and report.unchanged == len(before["villagers"])
    assert snapshot(session, village.id) == before
    assert misplaced_heads(session, village.id) == []


def test_roster_round_trip_on_the_demo_village(engine):
    session = Session(engine)
    build_demo(session, villages=1, months=1, seed=1, now=NOW)
    session.commit()
    village = session.execute(select(Village)).scalar_one()
    admin = session.execute(select(StaffUser).where(StaffUser.username == "admin")).scalar_one()
    twins = session.execute(
        text(
            "SELECT count(*) FROM (SELECT household_id, name FROM villagers GROUP BY household_id, name "
            "HAVING count(*) > 1) t"
        )
    ).scalar_one()
    assert twins > 0  # the demo has same-name people in one household (滕文 born 1976 and 1956)
    # A head moves and another person dies, so the export has both shapes.
    h1, h2 = (
        session.execute(select(Household).where(Household.village_id == village.id, Household.number == n)).scalar_one()
        for n in ("1", "2")
    )
    move_villager(session, village, h1.head, h2, dt.date(2026, 11, 20), relation="兄弟", now=NOW)
    session.commit()
    _round_trip(session, village, admin)
    session.close()


@pytest.mark.parametrize("source", SOURCES)
def test_roster_round_trip_on_the_sample(session, village, source):
    """../shared/samples/roster-longtianping.xlsx (skipped when absent) and its generated equivalent."""
    import_roster(session, village, read_table(sample_in(source, ROSTER_NAME), ROSTER_COLUMNS), now=NOW)
    admin = StaffUser(username="adm", role=Role.admin, village_id=village.id)
    admin.set_password("correct horse 1")
    session.add(admin)
    session.commit()
    h1 = session.execute(select(Household).where(Household.number == "1")).scalar_one()
    h2 = session.execute(select(Household).where(Household.number == "2")).scalar_one()
    move_villager(session, village, h1.head, h2, dt.date(2026, 11, 20), now=NOW)
    session.commit()
    _round_trip(session, village, admin)


def test_a_move_counts_from_its_date(session, village):
    load(session, village, FAMILIES)
    grid = StaffUser(username="g", role=Role.admin, village_id=village.id)
    rev = StaffUser(username="r", role=Role.reviewer, village_id=village.id)
    for u in (grid, rev):
        u.set_password("correct horse 1")
        session.add(u)
    load_rulebook_text(session, village, RULES)
    session.commit()
    mover = session.execute(select(Villager).where(Villager.name == "赵兰")).scalar_one()
    h1 = session.execute(select(Household).where(Household.number == "1")).scalar_one()
    old_id = mover.household_id
    move_villager(session, village, mover, h1, dt.date(2026, 11, 15), now=NOW)
    session.commit()
    res = capture(
        session,
        actor=grid,
        village=village,
        rule_code="DJ-01",
        key="k1",
        now=NOW,
        lines=[
            Line(villager_id=mover.id, occurred_on=dt.date(2026, 11, 10), ref="before"),
            Line(villager_id=mover.id, occurred_on=dt.date(2026, 11, 15), ref="on"),
            Line(villager_id=mover.id, occurred_on=dt.date(2026, 11, 20), ref="after"),
        ],
    )
    approve(session, list(res_subs(session, res)), rev, now=NOW)
    session.commit()
    credited = session.execute(text("SELECT occurred_on, household_id FROM ledger_entries ORDER BY occurred_on")).all()
    assert [r[1] for r in credited] == [old_id, h1.id, h1.id]
    assert (
        session.execute(text("SELECT status FROM villagers WHERE id = :i"), {"i": mover.id}).scalar_one()
        == VillagerStatus.active.value
    )


def res_subs(session, res):
    from pointsapp.points.ledger import Submission

    return [session.get(Submission, ln.submission_id) for ln in res.lines]
