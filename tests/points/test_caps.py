import datetime as dt
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import LedgerEntry, Submission
from pointsapp.points.registry import StaffUser, Village, Villager
from pointsapp.points.standings import balance
from tests.points.helpers import cap


def test_month_cap_partial_and_zero_point_attendance(world, session):
    p = world.people[0][1]
    got = [cap(session, world, world.grid, "DJ-01", [p], day=dt.date(2026, 11, d)).lines[0] for d in (2, 9, 16)]
    assert [(g.status, g.points) for g in got] == [("pending", 5), ("pending", 5), ("capped", 0)]
    assert "cap reached" in got[2].message
    session.commit()
    for g in got:
        approve(session, [session.get(Submission, g.submission_id)], world.reviewer)
    session.commit()
    rows = session.execute(select(LedgerEntry).where(LedgerEntry.villager_id == p.id)).scalars().all()
    assert [e.points for e in rows] == [5, 5, 0]
    assert rows[2].capped and "cap reached: 0 of 5" in rows[2].note  # attendance is kept
    # A new month starts a new cap.
    assert cap(session, world, world.grid, "DJ-01", [p], day=dt.date(2026, 12, 1)).lines[0].points == 5


def test_day_cap_with_partial_award_for_hours(world, session):
    p = world.people[0][1]
    a = cap(session, world, world.grid, "ZY-02", [p], day=dt.date(2026, 11, 3), qty=3).lines[0]
    b = cap(session, world, world.grid, "ZY-02", [p], day=dt.date(2026, 11, 3), qty=3).lines[0]
    c = cap(session, world, world.grid, "ZY-02", [p], day=dt.date(2026, 11, 4), qty=3).lines[0]
    assert (a.points, b.points, b.requested, b.status) == (6, 2, 6, "capped")
    assert c.points == 6  # the day cap resets the next day


def test_year_cap_for_household_rule(world, session):
    house = world.households[1]
    first = cap(session, world, world.admin, "MY-01", [house], day=dt.date(2026, 3, 1)).lines[0]
    second = cap(session, world, world.admin, "MY-01", [house], day=dt.date(2026, 10, 1)).lines[0]
    nxt = cap(
        session,
        world,
        world.admin,
        "MY-01",
        [house],
        day=dt.date(2027, 1, 5),  # captured that day
        now=dt.datetime(2027, 1, 5, 4, 0, tzinfo=dt.timezone.utc),
    ).lines[0]
    assert (first.points, second.points, nxt.points) == (20, 0, 20)


def test_household_rule_named_by_a_member_counts_for_the_household(world, session):
    member = world.people[1][2]
    res = cap(session, world, world.grid, "WM-02", [member]).lines[0]
    sub = session.get(Submission, res.submission_id)
    assert sub.household_id == world.households[1].id and sub.villager_id is None


def test_pending_captures_count_towards_the_cap(world, session):
    p = world.people[1][0]
    cap(session, world, world.grid, "LJ-01", [p])
    cap(session, world, world.grid, "LJ-01", [p])
    third = cap(session, world, world.grid, "LJ-01", [p]).lines[0]
    assert third.status == "capped" and third.points == 0


def test_rejection_frees_the_reserved_room(world, session):
    from pointsapp.points.capture import reject

    p = world.people[1][0]
    a = cap(session, world, world.grid, "DJ-01", [p])
    cap(session, world, world.grid, "DJ-01", [p])
    reject(session, [session.get(Submission, a.lines[0].submission_id)], world.reviewer, "not there")
    assert cap(session, world, world.grid, "DJ-01", [p]).lines[0].points == 5


def _threads(engine, world_ids, n, work):
    errors, barrier = [], threading.Barrier(n)

    def run(i):
        try:
            with Session(engine) as s:
                barrier.wait()
                work(s, i)
                s.commit()
        except Exception as exc:  # surfaced by the assertion below
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_sixteen_concurrent_captures_never_exceed_the_cap(engine, world, session):
    """16 writers capture ZY-02 (2 points/hour, month cap 30) for one person at once."""
    person_id, village_id, grid_id = world.people[0][1].id, world.village.id, world.grid.id
    session.close()

    def work(s, i):
        capture(
            s,
            actor=s.get(StaffUser, grid_id),
            village=s.get(Village, village_id),
            rule_code="ZY-02",
            occurred_on=dt.date(2026, 11, 1 + i),
            lines=[Line(villager_id=person_id, quantity=3)],
            key=f"thread-{i}",
        )

    errors = _threads(engine, None, 16, work)
    assert errors == []
    with Session(engine) as s:
        total = s.execute(select(func.sum(Submission.points)).where(Submission.villager_id == person_id)).scalar_one()
        assert total == 30
        assert s.execute(select(func.count()).select_from(Submission)).scalar_one() == 16


def test_concurrent_approvals_post_each_capture_once(engine, world, session):
    people = [p.id for hh in world.people for p in hh if hh is not world.people[0]]
    res = capture(
        session,
        actor=world.admin,
        village=world.village,
        rule_code="ZY-01",
        occurred_on=dt.date(2026, 11, 2),
        lines=[Line(villager_id=i) for i in people],
        key="batch",
    )
    session.commit()
    sub_ids = [line.submission_id for line in res.lines]
    reviewer_id, village_id = world.reviewer.id, world.village.id
    session.close()

    def work(s, i):
        from pointsapp.points.errors import Refused

        try:
            approve(s, [s.get(Submission, sid) for sid in sub_ids], s.get(StaffUser, reviewer_id))
        except Refused as exc:
            assert exc.code == "not_pending"

    assert _threads(engine, None, 8, work) == []
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == len(sub_ids)
        from pointsapp.points.ledger import verify_chain

        assert verify_chain(s, s.get(Village, village_id)).ok
        assert sum(balance(s, villager=s.get(Villager, v)).honour for v in people) == 5 * len(people)
