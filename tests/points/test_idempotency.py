import datetime as dt

from sqlalchemy import func, select

from pointsapp.points.capture import Line, capture
from pointsapp.points.ledger import CaptureBatch, Submission


def test_same_key_a_hundred_times_records_once(world, session):
    p = world.people[0][0]
    first = None
    for _ in range(100):
        res = capture(
            session,
            actor=world.grid,
            village=world.village,
            rule_code="ZY-01",
            occurred_on=dt.date(2026, 11, 8),
            lines=[Line(villager_id=p.id)],
            key="tap-tap-tap",
        )
        session.commit()
        first = first or res
        assert [(ln.status, ln.points, ln.submission_id) for ln in res.lines] == [
            (ln.status, ln.points, ln.submission_id) for ln in first.lines
        ]
    assert res.replayed and not first.replayed and res.first_by == "grid1"
    assert session.execute(select(func.count()).select_from(Submission)).scalar_one() == 1
    assert session.execute(select(func.count()).select_from(CaptureBatch)).scalar_one() == 1


def test_a_replayed_capture_posts_one_entry(world, session):
    from pointsapp.points.capture import approve
    from pointsapp.points.ledger import LedgerEntry

    p = world.people[0][0]
    for _ in range(100):
        res = capture(
            session,
            actor=world.grid,
            village=world.village,
            rule_code="ZY-01",
            occurred_on=dt.date(2026, 11, 8),
            lines=[Line(villager_id=p.id)],
            key="same",
        )
    approve(session, [session.get(Submission, res.lines[0].submission_id)], world.reviewer)
    session.commit()
    for _ in range(100):
        again = capture(
            session,
            actor=world.grid,
            village=world.village,
            rule_code="ZY-01",
            occurred_on=dt.date(2026, 11, 8),
            lines=[Line(villager_id=p.id)],
            key="same",
        )
    assert again.lines[0].status == "posted"
    assert session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 1


def test_replay_returns_first_result_even_for_refusals(world, session):
    outsider = world.people[2][0]  # group 2: outside grid1's groups
    a = capture(
        session,
        actor=world.grid,
        village=world.village,
        rule_code="ZY-01",
        occurred_on=dt.date(2026, 11, 8),
        lines=[Line(villager_id=outsider.id)],
        key="k",
    )
    b = capture(
        session,
        actor=world.grid,
        village=world.village,
        rule_code="ZY-01",
        occurred_on=dt.date(2026, 11, 8),
        lines=[Line(villager_id=outsider.id)],
        key="k",
    )
    assert a.lines[0].code == b.lines[0].code == "outside_groups"
    assert b.replayed


def _activity(world, session, code="LJ-01"):
    from pointsapp.points.activities import Activity
    from pointsapp.points.rules import rules_by_code

    act = Activity(
        village_id=world.village.id,
        rule_id=rules_by_code(session, world.village)[code].id,
        title="清廉党课",
        held_on=dt.date(2026, 11, 8),
        created_by_id=world.admin.id,
    )
    session.add(act)
    session.flush()
    return act


def test_activity_marks_a_person_once(world, session):
    p = world.people[0][1]
    kw = dict(
        actor=world.grid,
        village=world.village,
        rule_code="LJ-01",
        occurred_on=dt.date(2026, 11, 8),
        activity_id=_activity(world, session).id,
    )
    capture(session, lines=[Line(villager_id=p.id)], key="a1", **kw)
    again = capture(session, lines=[Line(villager_id=p.id)], key="a2", **kw)
    assert again.lines[0].status == "duplicate" and again.lines[0].points == 0


def test_a_cancelled_activity_takes_no_captures(world, session):
    import pytest

    from pointsapp.points.db import utcnow
    from pointsapp.points.errors import Refused

    act = _activity(world, session)
    act.cancelled_at, act.cancelled_by_id, act.cancel_reason = utcnow(), world.admin.id, "下雨"
    with pytest.raises(Refused) as info:
        capture(
            session,
            actor=world.grid,
            village=world.village,
            rule_code="LJ-01",
            occurred_on=act.held_on,
            lines=[Line(villager_id=world.people[0][1].id)],
            key="x",
            activity_id=act.id,
        )
    assert info.value.code == "activity_cancelled"
