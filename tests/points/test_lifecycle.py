"""The month lifecycle (issue 10): open → published (公示) → closed, frozen notices, supplements.

The clock is set explicitly: most steps happen on the 1st of December, the first day the
November notice can be published.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from pointsapp.points.capture import correct
from pointsapp.points.errors import Refused
from pointsapp.points.lifecycle import close_blockers, close_month, last_finished_month
from pointsapp.points.notice import (
    notices_of_household,
    open_and_past_notices,
    plan_publish,
    publish_notice,
)
from pointsapp.points.objections import raise_objection, resolve_objection
from tests.points.helpers import cap, post

SH = dt.timezone(dt.timedelta(hours=8))


def at(y, m, d, hour=10):
    """A local (Asia/Shanghai) wall-clock time, as UTC."""
    return dt.datetime(y, m, d, hour, tzinfo=SH).astimezone(dt.UTC)


DEC1 = at(2026, 12, 1, 0)  # the very start of 1 December
NOV20 = at(2026, 11, 20)


def award(session, world, person, day=dt.date(2026, 11, 5), now=NOV20):
    res = cap(session, world, world.grid, "ZY-01", [person], day=day, now=now)
    return post(session, world, res, now=now)[0]


def raw_notice(session, notice_id):
    """The stored notice and its list, byte for byte, read with raw SQL."""
    row = session.execute(
        text(
            "SELECT month, number, kind, head_seq, head_hash, entry_count, digest, opens_on, "
            "closes_on FROM notices WHERE id = :id"
        ),
        {"id": notice_id},
    ).one()
    seqs = (
        session.execute(text("SELECT seq FROM notice_entries WHERE notice_id = :id ORDER BY seq"), {"id": notice_id})
        .scalars()
        .all()
    )
    return tuple(row), seqs


def test_publishing_the_running_month_is_refused_with_the_reason(world, session):
    award(session, world, world.people[0][0])
    assert last_finished_month(world.village, DEC1) == "2026-11"
    with pytest.raises(Refused) as info:
        publish_notice(session, world.village, "2026-12", world.reviewer, now=DEC1)
    assert info.value.code == "month_running" and "still running" in info.value.message
    with pytest.raises(Refused) as info:
        publish_notice(session, world.village, "2026-11", world.reviewer, now=at(2026, 11, 30, 23))
    assert info.value.code == "month_running"
    session.rollback()
    n = publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    session.commit()
    assert (n.kind, n.number, n.entry_count, n.opens_on, n.closes_on) == (
        "main",
        1,
        1,
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 7),
    )


def test_closing_during_the_window_or_with_an_open_objection_is_refused(world, session):
    e = award(session, world, world.people[0][0])
    with pytest.raises(Refused) as info:
        close_month(session, world.village, "2026-11", world.admin, now=DEC1)
    assert info.value.code == "not_published"
    session.rollback()
    publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    session.commit()
    with pytest.raises(Refused) as info:
        close_month(session, world.village, "2026-11", world.admin, now=at(2026, 12, 7, 23))
    assert info.value.code == "notice_window_open" and "2026-12-07" in info.value.message
    session.rollback()
    obj = raise_objection(session, e, world.households[0], "我那天没去", now=at(2026, 12, 3))
    session.commit()
    blockers = close_blockers(session, world.village, "2026-11", now=at(2026, 12, 8))
    assert [b.code for b in blockers] == ["open_objections"]
    with pytest.raises(Refused) as info:
        close_month(session, world.village, "2026-11", world.admin, now=at(2026, 12, 8))
    assert info.value.code == "open_objections"
    session.rollback()
    resolve_objection(session, obj, world.reviewer, "签到表上有您", correct_entry=False, now=at(2026, 12, 8))
    closed = close_month(session, world.village, "2026-11", world.admin, now=at(2026, 12, 8))
    session.commit()
    head = session.execute(
        text("SELECT ledger_seq, ledger_head FROM villages WHERE id = :v"), {"v": world.village.id}
    ).one()
    assert (closed.head_seq, closed.head_hash) == tuple(head)


def test_a_zero_day_window_closes_as_soon_as_published(world, session):
    world.village.notice_days = 0
    award(session, world, world.people[0][0])
    n = publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    assert not n.is_open(dt.date(2026, 12, 1)) and n.window_over(dt.date(2026, 12, 1))
    close_month(session, world.village, "2026-11", world.admin, now=DEC1)
    session.commit()


def test_a_late_approval_gets_a_supplement_and_the_first_notice_never_changes(world, session):
    p, q = world.people[0][0], world.people[1][0]
    first = award(session, world, p)
    late_capture = cap(session, world, world.grid, "ZY-01", [q], day=dt.date(2026, 11, 28), now=at(2026, 11, 28))
    main = publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    session.commit()
    before = raw_notice(session, main.id)
    assert before[1] == [first.seq]

    late = post(session, world, late_capture, now=at(2026, 12, 2))[0]  # approved after the notice
    dec = award(session, world, world.people[1][1], day=dt.date(2026, 12, 2), now=at(2026, 12, 2))
    assert raw_notice(session, main.id) == before
    with pytest.raises(Refused) as info:
        close_month(session, world.village, "2026-11", world.admin, now=at(2026, 12, 9))
    assert info.value.code == "awaiting_supplement"
    session.rollback()

    plan = plan_publish(session, world.village, "2026-11", now=at(2026, 12, 3))
    assert (plan.kind.value, plan.number, plan.entries) == ("supplement", 2, 1)
    sup = publish_notice(session, world.village, "2026-11", world.reviewer, now=at(2026, 12, 3))
    session.commit()
    assert raw_notice(session, main.id) == before
    _row, listed = raw_notice(session, sup.id)
    assert listed == [late.seq] and dec.seq not in listed
    assert sup.digest != main.digest and (sup.opens_on, sup.closes_on) == (dt.date(2026, 12, 3), dt.date(2026, 12, 9))
    with pytest.raises(Refused) as info:  # nothing new since
        publish_notice(session, world.village, "2026-11", world.reviewer, now=at(2026, 12, 4))
    assert info.value.code == "nothing_new"
    session.rollback()
    # The main window is over on the 8th, the supplement's only after the 9th.
    with pytest.raises(Refused) as info:
        close_month(session, world.village, "2026-11", world.admin, now=at(2026, 12, 9))
    assert info.value.code == "notice_window_open" and "supplementary notice 1" in info.value.message
    session.rollback()
    # the close page names which notice's window is still open (the main one's is over)
    blockers = close_blockers(session, world.village, "2026-11", now=at(2026, 12, 9))
    assert [(b.code, b.notice, b.until) for b in blockers] == [("notice_window_open", 2, dt.date(2026, 12, 9))]
    close_month(session, world.village, "2026-11", world.admin, now=at(2026, 12, 10))
    session.commit()
    assert [n.number for n in notices_of_household(session, world.households[1])] == [2]
    assert [n.number for n in notices_of_household(session, world.households[0])] == [1]


def test_a_correction_of_an_objected_entry_is_shown_with_its_month(world, session):
    e = award(session, world, world.people[0][0])
    publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    session.commit()
    obj = raise_objection(session, e, world.households[0], "记错人了", now=at(2026, 12, 2))
    resolve_objection(session, obj, world.reviewer, "已更正", correct_entry=True, now=at(2026, 12, 2))
    session.commit()
    fix = obj.correction
    assert fix.occurred_on == dt.date(2026, 12, 2) and fix.corrects_seq == e.seq
    sup = publish_notice(session, world.village, "2026-11", world.reviewer, now=at(2026, 12, 3))
    session.commit()
    assert raw_notice(session, sup.id)[1] == [fix.seq]
    # December's own notice will not list it again.
    assert plan_publish(session, world.village, "2026-12", now=at(2027, 1, 1)).entries == 0


def test_open_notices_newest_first(world, session):
    award(session, world, world.people[0][0], day=dt.date(2026, 10, 5), now=at(2026, 10, 6))
    award(session, world, world.people[0][0])
    oct_ = publish_notice(session, world.village, "2026-10", world.reviewer, days=30, now=at(2026, 11, 25))
    nov = publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    session.commit()
    assert [n.id for n in open_and_past_notices(session, world.village, dt.date(2026, 12, 2), limit=0)[0]] == [
        nov.id,
        oct_.id,
    ]
    assert open_and_past_notices(session, world.village, dt.date(2026, 12, 25), limit=0)[0] == []


def test_open_and_past_notices_in_one_read_match_the_windows(world, session):
    """Oracle: each notice's window and publication order read with raw SQL and sorted in Python."""
    award(session, world, world.people[0][0], day=dt.date(2026, 9, 5), now=at(2026, 9, 6))
    award(session, world, world.people[0][0], day=dt.date(2026, 10, 5), now=at(2026, 10, 6))
    award(session, world, world.people[0][0])
    publish_notice(session, world.village, "2026-09", world.reviewer, days=7, now=at(2026, 10, 2))
    publish_notice(session, world.village, "2026-10", world.reviewer, days=30, now=at(2026, 11, 25))
    publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    session.commit()
    raw = session.execute(
        text("SELECT id, opens_on, closes_on, published_at FROM notices WHERE village_id = :v"), {"v": world.village.id}
    ).all()
    newest_first = sorted(raw, key=lambda r: (str(r.published_at), r.id), reverse=True)
    day = lambda v: v if isinstance(v, dt.date) else dt.date.fromisoformat(v)  # noqa: E731  (SQLite: text)
    for today in (dt.date(2026, 10, 3), dt.date(2026, 12, 2), dt.date(2026, 12, 25), dt.date(2027, 3, 1)):
        want_open = [r.id for r in newest_first if day(r.opens_on) <= today <= day(r.closes_on)]
        want_past = [r.id for r in newest_first if day(r.closes_on) < today]
        for limit, offset in ((12, 0), (1, 0), (1, 1), (2, 1), (5, 3)):
            got_open, got_past = open_and_past_notices(session, world.village, today, limit=limit, offset=offset)
            assert [n.id for n in got_open] == want_open, (today, limit, offset)
            assert [n.id for n in got_past] == want_past[offset : offset + limit], (today, limit, offset)


def test_corrections_are_still_refused_into_a_closed_month(world, session):
    e = award(session, world, world.people[0][0])
    world.village.notice_days = 0
    publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    close_month(session, world.village, "2026-11", world.admin, now=DEC1)
    session.commit()
    fix = correct(session, e, world.reviewer, "记错了", now=at(2026, 12, 2))
    session.commit()
    # The month is closed: the correction belongs to December, its own month.
    dec = plan_publish(session, world.village, "2026-12", now=at(2027, 1, 1))
    assert dec.entries == 1 and fix.occurred_on.month == 12


def _objected(world, session):
    e = award(session, world, world.people[0][0])
    publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    obj = raise_objection(session, e, world.households[0], "我那天没去", now=at(2026, 12, 2))
    session.commit()
    return obj.id


def test_two_reviewers_resolving_one_objection_at_once_exactly_one_wins(world, session, engine):
    import threading

    from sqlalchemy.orm import Session

    from pointsapp.points.objections import Objection
    from pointsapp.points.registry import StaffUser

    obj_id = _objected(world, session)
    ids = {"rev1": world.reviewer.id, "rev2": world.reviewer2.id}
    session.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def reviewer(name: str, correct_it: bool):
        with Session(engine, expire_on_commit=False) as s:
            obj = s.get(Objection, obj_id)
            actor = s.get(StaffUser, ids[name])
            _ = (obj.status, obj.entry.points, actor.role)  # both have read it as open
            s.commit()
            barrier.wait()
            try:
                resolve_objection(s, obj, actor, f"answer by {name}", correct_entry=correct_it, now=at(2026, 12, 3))
                s.commit()
                outcomes[name] = "won"
            except Refused as exc:
                s.rollback()
                outcomes[name] = exc.code

    threads = [
        threading.Thread(target=reviewer, args=("rev1", False)),
        threading.Thread(target=reviewer, args=("rev2", True)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["not_open", "won"], outcomes
    row = session.execute(
        text("SELECT status, answer, correction_id FROM objections WHERE id = :id"), {"id": obj_id}
    ).one()
    corrections = session.execute(text("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'correction'")).scalar_one()
    winner = "rev1" if outcomes["rev1"] == "won" else "rev2"
    assert row.answer == f"answer by {winner}"
    assert (row.status, corrections) == (("upheld", 0) if winner == "rev1" else ("corrected", 1))


def test_a_stale_objection_is_refused_not_overwritten(world, session, engine):
    from sqlalchemy.orm import Session

    from pointsapp.points.objections import Objection
    from pointsapp.points.registry import StaffUser

    obj_id = _objected(world, session)
    rev2 = world.reviewer2.id
    session.commit()
    with Session(engine, expire_on_commit=False) as stale:
        obj = stale.get(Objection, obj_id)
        actor = stale.get(StaffUser, rev2)
        _ = (obj.status, obj.entry.points)
        stale.commit()
        resolve_objection(
            session,
            session.get(Objection, obj_id),
            world.reviewer,
            "签到表上有您",
            correct_entry=False,
            now=at(2026, 12, 3),
        )
        session.commit()
        with pytest.raises(Refused) as info:
            resolve_objection(stale, obj, actor, "改掉", correct_entry=True, now=at(2026, 12, 3))
        assert info.value.code == "not_open"
        stale.rollback()
    assert session.execute(text("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'correction'")).scalar_one() == 0


def test_nobody_upholds_an_objection_about_their_own_household(world, session):
    from pointsapp.points.objections import Objection

    obj_id = _objected(world, session)
    world.reviewer.villager_id = world.people[0][1].id  # a member of the objecting household
    session.commit()
    with pytest.raises(Refused) as info:
        resolve_objection(
            session, session.get(Objection, obj_id), world.reviewer, "没问题", correct_entry=False, now=at(2026, 12, 3)
        )
    assert info.value.code == "conflict_of_interest"


def test_the_database_allows_one_open_objection_per_entry(world, session):
    from sqlalchemy.exc import IntegrityError

    obj_id = _objected(world, session)
    with pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO objections (village_id, entry_id, household_id, reason, raised_at, status) "
                "SELECT village_id, entry_id, household_id, 'again', raised_at, 'open' FROM objections "
                "WHERE id = :id"
            ),
            {"id": obj_id},
        )
    session.rollback()
