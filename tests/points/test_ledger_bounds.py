"""The ledger's own edges (issue 10, section 10): dates, quantities, the score-import key, the
reserved special-award rule. Each test fails on the code before these bounds existed.

Oracles are raw SQL counts and sums over the tables."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import text

import pointsapp.points.models  # noqa: F401  (every table, the audit log too)
from pointsapp.points.errors import Refused
from pointsapp.points.imports import scores
from pointsapp.points.imports.errors import ImportErrors
from pointsapp.points.imports.reader import read_table
from pointsapp.points.imports.scores import SCORE_COLUMNS, import_scores
from pointsapp.points.rules import (
    RuleBookError,
    export_rulebook,
    load_rulebook_text,
    rules_by_code,
    special_award_rule,
)
from tests.factories import NOW
from tests.points.helpers import cap, close_period, post

HEADER = ["日期", "村民小组", "姓名", "细则编号", "积分项目", "数量", "记录人", "备注"]
DEC_NOW = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)


def sheet(rows) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["2026年11月积分登记表"])
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def load(world, rows, **kw):
    kw.setdefault("by", world.grid)
    kw.setdefault("now", NOW)
    return import_scores(world.s, world.village, read_table(sheet(rows), SCORE_COLUMNS, filename="s.xlsx"), **kw)


def count(session, table: str) -> int:
    return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


ROWS = [
    [dt.datetime(2026, 11, 3), "第一组", "向明华", "DJ-01", None, None, None, None],
    [dt.datetime(2026, 11, 3), "第一组", "谭高", "DJ-01", None, None, None, None],
    [dt.datetime(2026, 11, 4), "第一组", "唐海娟", "ZY-02", None, 3, None, None],
    [dt.datetime(2026, 11, 5), "第一组", "麻武", "ZY-01", None, 1, None, None],
]


# --- the import key --------------------------------------------------------------------------


def test_a_resorted_sheet_with_filled_in_quantities_is_the_same_import(world, session):
    load(world, ROWS)
    session.commit()
    assert count(session, "submissions") == 4
    resorted = [list(r) for r in reversed(ROWS)]
    for r in resorted:
        if r[5] is None:
            r[5] = 1  # an empty 数量 means 1
    resorted[0][0] = "2026/11/5"  # the same date typed another way
    with pytest.raises(Refused) as info:
        load(world, resorted)
    assert info.value.code == "already_imported" and "by grid1" in info.value.message
    assert count(session, "submissions") == 4 and count(session, "capture_batches") == 1


def test_a_different_quantity_is_a_different_import_and_matches_are_warned(world, session):
    post(session, world, cap(session, world, world.grid, "DJ-01", [world.people[0][0]], day=dt.date(2026, 11, 3)))
    report = load(world, ROWS, dry_run=True)
    assert [a.split(":")[0] for a in report.already] == ["row 3"]
    assert "向明华" in report.already[0] and "already posted" in report.already[0]
    assert any("1 rows match entries recorded before" in line for line in report.lines())
    changed = [list(r) for r in ROWS]
    changed[2][5] = 4
    load(world, ROWS)
    report = load(world, changed)  # 4 hours instead of 3: a new sheet
    session.commit()
    assert report.rows == 4 and len(report.already) == 3  # the three unchanged rows wait for review
    assert count(session, "capture_batches") == 3


def test_an_import_that_loses_the_race_says_so(world, session, monkeypatch):
    """Two desks import one sheet at once: the second finds the first's batch under the village
    lock (simulated by capturing the same key just before it) and must report a replay, not a
    new import, and approve nothing of the other's."""
    real = scores.capture

    def first_desk_wins(session, **kw):
        real(session, **kw)  # the other import, committed first
        return real(session, **kw)

    monkeypatch.setattr(scores, "capture", first_desk_wins)
    with pytest.raises(Refused) as info:
        load(world, ROWS, approve_as=world.reviewer)
    assert info.value.code == "already_imported"
    assert count(session, "ledger_entries") == 0


# --- dates -----------------------------------------------------------------------------------


def test_future_rows_are_refused_with_the_row_and_date(world, session):
    rows = [
        [dt.datetime(2099, 6, 15), "第一组", "向明华", "DJ-01", None, None, None, None],
        [dt.datetime(2026, 11, 21), "第一组", "谭高", "DJ-01", None, None, None, None],  # tomorrow
        [dt.datetime(2026, 11, 20), "第一组", "麻武", "DJ-01", None, None, None, None],
    ]  # today: fine
    with pytest.raises(ImportErrors) as info:
        load(world, rows)
    errs = {(e.row, e.column): e.reason for e in info.value.errors}
    assert set(errs) == {(3, "日期"), (4, "日期")}
    assert "after today (2026-11-20)" in errs[(4, "日期")]
    assert count(session, "submissions") == 0


def test_rows_in_or_before_the_latest_closed_month_are_refused(world, session):
    post(session, world, cap(session, world, world.grid, "DJ-01", [world.people[0][0]], day=dt.date(2026, 11, 3)))
    close_period(session, world.village, "2026-11", world.admin, now=DEC_NOW)
    session.commit()
    rows = [
        [dt.datetime(2026, 3, 10), "第一组", "谭高", "DJ-01", None, None, None, None],
        [dt.datetime(2026, 10, 10), "第一组", "谭高", "ZY-01", None, None, None, None],
        [dt.datetime(2026, 12, 2), "第一组", "麻武", "DJ-01", None, None, None, None],
    ]
    with pytest.raises(ImportErrors) as info:
        load(world, rows, now=DEC_NOW)
    assert {(e.row, e.column) for e in info.value.errors} == {(3, "日期"), (4, "日期")}
    assert all("2026-11, which is closed" in e.reason for e in info.value.errors)
    assert count(session, "submissions") == 1


# --- quantities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, qty, words",
    [
        ("WM-03", 300000000, "must be 1"),  # a deduction per occasion
        ("DJ-01", 2, "must be 1"),  # per occasion
        ("ZY-02", 1e20, "at most 12"),  # hours, as a float cell
        ("ZY-02", "100000000000000000000", "at most 12"),  # the rule states max_quantity: 12 (hours)
        ("ZY-02", 13, "at most 12"),
    ],
)
def test_a_huge_quantity_is_a_row_error(world, session, rule, qty, words):
    rows = [[dt.datetime(2026, 11, 3), "第一组", "向明华", rule, None, qty, None, None]]
    with pytest.raises(ImportErrors) as info:
        load(world, rows, by=world.admin, approve_as=world.reviewer)
    [err] = info.value.errors
    assert (err.row, err.column) == (3, "数量") and words in err.reason
    assert count(session, "ledger_entries") == 0
    assert session.execute(text("SELECT coalesce(sum(points), 0) FROM ledger_entries")).scalar_one() == 0


ZY02 = """rules:
  - {code: ZY-02, name: 志愿服务（按小时）, category: 志愿服务, points: 2, per: unit, unit: 小时, scope: person,
     caps: {day: 8, month: 30}, evidence: sign_in, logged_by: [grid_worker, admin], effective_from: START, MAXQ}
"""


def test_a_rule_states_its_maximum(world, session):
    assert rules_by_code(session, world.village)["ZY-02"].latest.quantity_limit == 12  # the demo rule book
    book = ZY02.replace("START", "2026-11-01").replace("MAXQ", "max_quantity: 8")
    assert load_rulebook_text(session, world.village, book).changed == ["ZY-02"]
    assert "max_quantity: 8" in export_rulebook(session, world.village)
    rows = [[dt.datetime(2026, 11, 3), "第一组", "向明华", "ZY-02", None, 9, None, None]]
    with pytest.raises(ImportErrors, match="at most 8 小时"):
        load(world, rows)
    rows[0][5] = 8
    assert load(world, rows).rows == 1
    with pytest.raises(RuleBookError, match="max_quantity"):
        load_rulebook_text(
            session,
            world.village,
            book.replace("per: unit", "per: occasion")
            .replace("max_quantity: 8", "max_quantity: 3")
            .replace("2026-11-01", "2026-11-15"),
        )
    with pytest.raises(RuleBookError, match="max_quantity"):
        load_rulebook_text(session, world.village, book.replace("max_quantity: 8", "max_quantity: 100000"))
    with pytest.raises(RuleBookError, match="'points' must be between"):
        load_rulebook_text(session, world.village, book.replace("points: 2,", "points: 3000000000,"))


# --- the rule book -----------------------------------------------------------------------------

SP00 = """rules:
  - {code: SP-00, name: 特别奖励, category: 特殊贡献, points: 100000, per: unit, unit: 分, scope: person,
     evidence: none, logged_by: [grid_worker], effective_from: 2026-11-01}
"""


def test_the_special_award_rule_cannot_be_redefined(world, session):
    with pytest.raises(RuleBookError, match="SP-00.*reserved"):
        load_rulebook_text(session, world.village, SP00)
    assert "SP-00" not in rules_by_code(session, world.village)
    rule = special_award_rule(session, world.village)  # the system's own definition
    assert rule.latest.points == 1 and rule.latest.logged_by_roles == ("admin",)
    with pytest.raises(RuleBookError, match="SP-00.*reserved"):
        load_rulebook_text(session, world.village, SP00)
    # The exported rule book leaves it out, so it loads back unchanged.
    report = load_rulebook_text(session, world.village, export_rulebook(session, world.village))
    assert not (report.added or report.changed or report.retired)
    assert (
        session.execute(
            text("SELECT count(*) FROM rule_versions v JOIN rules r ON r.id = v.rule_id WHERE r.code = 'SP-00'")
        ).scalar_one()
        == 1
    )


DJ01 = """rules:
  - {code: DJ-01, name: 参加党日活动或村民议事会, category: 党建引领, points: 6, per: occasion, unit: 次,
     scope: person, caps: {month: 12}, evidence: sign_in, logged_by: [grid_worker, admin], effective_from: START}
"""
XX01 = """rules:
  - {code: XX-01, name: 新规则, category: 其他, points: 1, per: occasion, unit: 次, scope: person,
     evidence: none, logged_by: [admin], effective_from: START}
"""


def test_a_rule_version_cannot_start_in_or_before_a_closed_month(world, session):
    post(session, world, cap(session, world, world.grid, "DJ-01", [world.people[0][0]], day=dt.date(2026, 10, 3)))
    close_period(session, world.village, "2026-10", world.admin, now=DEC_NOW)
    session.commit()
    for start in ("2026-10-15", "2026-03-01"):
        with pytest.raises(RuleBookError) as info:
            load_rulebook_text(session, world.village, DJ01.replace("START", start))
        assert "rule DJ-01: field 'effective_from'" in str(info.value)
        assert "2026-10, which is closed" in str(info.value)
    with pytest.raises(RuleBookError, match="XX-01.*2026-10, which is closed"):
        load_rulebook_text(session, world.village, XX01.replace("START", "2026-09-01"))
    assert load_rulebook_text(session, world.village, DJ01.replace("START", "2026-11-01")).changed == ["DJ-01"]
    assert load_rulebook_text(session, world.village, XX01.replace("START", "2026-11-01")).added == ["XX-01"]
    versions = session.execute(
        text(
            "SELECT r.code, v.effective_from FROM rule_versions v JOIN rules r "
            "ON r.id = v.rule_id WHERE r.code IN ('DJ-01', 'XX-01') ORDER BY v.id"
        )
    ).all()
    assert [(c, str(d)[:10]) for c, d in versions] == [
        ("DJ-01", "2026-01-01"),
        ("DJ-01", "2026-11-01"),
        ("XX-01", "2026-11-01"),
    ]


# --- activities ------------------------------------------------------------------------------


def test_an_activity_cannot_be_moved_to_the_future_or_into_a_closed_month(world, session):
    from pointsapp.admin.services.activities import update_activity
    from pointsapp.staff.services import create_activity

    rule = rules_by_code(session, world.village)["DJ-01"]
    post(session, world, cap(session, world, world.grid, "DJ-01", [world.people[0][0]], day=dt.date(2026, 10, 3)))
    close_period(session, world.village, "2026-10", world.admin, now=DEC_NOW)
    session.commit()
    activity = create_activity(
        session,
        world.village,
        world.admin,
        rule_id=rule.id,
        title="党日活动",
        held_on=dt.date(2026, 11, 25),
        place=None,
        group_id=None,
    )
    for day, code in (
        (dt.date(2027, 1, 5), "future_date"),
        (dt.date(2026, 10, 20), "period_closed"),
        (dt.date(2026, 3, 1), "period_closed"),
    ):
        with pytest.raises(Refused) as info:
            update_activity(
                session,
                world.admin,
                world.village,
                activity,
                title="党日活动",
                held_on=day,
                place=None,
                group=None,
                now=DEC_NOW,
            )
        assert info.value.code == code and info.value.params["field"] == "held_on"
        with pytest.raises(Refused) as info:
            create_activity(
                session, world.village, world.admin, rule_id=rule.id, title="x", held_on=day, place=None, group_id=None
            )
        assert info.value.code == code
    update_activity(
        session,
        world.admin,
        world.village,
        activity,
        title="党日活动",
        held_on=dt.date(2026, 11, 26),
        place=None,
        group=None,
        now=DEC_NOW,
    )
    session.commit()
    assert session.execute(text("SELECT held_on FROM activities")).scalar_one() in ("2026-11-26", dt.date(2026, 11, 26))


# --- capture and review ------------------------------------------------------------------------


def test_capture_refuses_future_and_backdated_lines(world, session):
    from pointsapp.points.capture import Line, capture

    post(session, world, cap(session, world, world.grid, "DJ-01", [world.people[0][0]], day=dt.date(2026, 11, 3)))
    close_period(session, world.village, "2026-11", world.admin, now=DEC_NOW)
    session.commit()
    p = world.people[0][1]
    res = capture(
        session,
        actor=world.grid,
        village=world.village,
        rule_code="DJ-01",
        key="k-dates",
        now=DEC_NOW,
        lines=[
            Line(villager_id=p.id, occurred_on=dt.date(2099, 6, 15)),
            Line(villager_id=p.id, occurred_on=dt.date(2026, 12, 4)),  # tomorrow
            Line(villager_id=p.id, occurred_on=dt.date(2026, 10, 10)),  # before the closed month
            Line(villager_id=p.id, occurred_on=dt.date(2026, 3, 10)),
            Line(villager_id=p.id, occurred_on=dt.date(2026, 12, 3)),
        ],
    )  # today
    session.commit()
    assert [(ln.status, ln.code) for ln in res.lines] == [
        ("refused", "future_date"),
        ("refused", "future_date"),
        ("refused", "period_closed"),
        ("refused", "period_closed"),
        ("pending", None),
    ]
    assert res.lines[2].params["month"] == "2026-11"
    assert session.execute(text("SELECT count(*) FROM submissions WHERE status = 'pending'")).scalar_one() == 1


def test_approve_refuses_a_capture_dated_before_the_latest_closed_month(world, session):
    from pointsapp.points.review import approve

    old = cap(session, world, world.grid, "DJ-01", [world.people[0][1]], day=dt.date(2026, 10, 20))
    post(session, world, cap(session, world, world.grid, "DJ-01", [world.people[0][0]], day=dt.date(2026, 11, 3)))
    session.execute(text("UPDATE submissions SET status = 'rejected' WHERE id = :i"), {"i": old.lines[0].submission_id})
    session.commit()
    close_period(session, world.village, "2026-10", world.admin, now=DEC_NOW)
    close_period(session, world.village, "2026-11", world.admin, now=DEC_NOW)
    session.execute(text("UPDATE submissions SET status = 'pending' WHERE id = :i"), {"i": old.lines[0].submission_id})
    session.execute(text("DELETE FROM closed_periods WHERE month = '2026-10'"))  # only November is closed now
    session.commit()
    from pointsapp.points.ledger import Submission

    with pytest.raises(Refused) as info:
        approve(session, [session.get(Submission, old.lines[0].submission_id)], world.reviewer, now=DEC_NOW)
    assert info.value.code == "period_closed" and info.value.params["month"] == "2026-11"


@pytest.mark.parametrize(
    "rule, qty, code",
    [
        ("WM-03", 300000000, "quantity_per_occasion"),  # a deduction: once posted −3,000,000,000
        ("DJ-01", 2, "quantity_per_occasion"),
        ("ZY-02", 10**20, "quantity_too_large"),
        ("ZY-02", 1001, "quantity_too_large"),
        ("ZY-02", 0, "bad_quantity"),
    ],
)
def test_capture_bounds_the_quantity(world, session, rule, qty, code):
    from pointsapp.points.capture import Line, capture

    target = world.households[0] if rule == "WM-03" else world.people[0][0]
    line = Line(household_id=target.id, quantity=qty) if rule == "WM-03" else Line(villager_id=target.id, quantity=qty)
    res = capture(
        session,
        actor=world.admin,
        village=world.village,
        rule_code=rule,
        key=f"q{rule}{qty}",
        occurred_on=dt.date(2026, 11, 5),
        lines=[line],
        now=NOW,
    )
    session.commit()
    assert (res.lines[0].status, res.lines[0].code) == ("refused", code)
    assert session.execute(text("SELECT count(*) FROM submissions WHERE status = 'pending'")).scalar_one() == 0
    ok = capture(
        session,
        actor=world.admin,
        village=world.village,
        rule_code=rule,
        key=f"ok{rule}{qty}",
        occurred_on=dt.date(2026, 11, 5),
        lines=[Line(household_id=target.id) if rule == "WM-03" else Line(villager_id=target.id, quantity=1)],
        now=NOW,
    )
    assert ok.lines[0].status in ("pending", "capped")


def test_the_same_capture_twice_in_one_approval_posts_once(world, session):
    from pointsapp.points.ledger import Submission
    from pointsapp.points.review import approve

    res = cap(session, world, world.grid, "DJ-01", [world.people[0][0]], day=dt.date(2026, 11, 3))
    sub = session.get(Submission, res.lines[0].submission_id)
    entries = approve(session, [sub, sub, sub], world.reviewer, now=NOW)
    session.commit()
    assert len(entries) == 1
    assert session.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one() == 1
