import datetime as dt

import pytest
from sqlalchemy import text

from pointsapp.points.capture import correct
from pointsapp.points.errors import Refused
from pointsapp.points.lifecycle import close_month
from pointsapp.points.notice import publish_notice
from pointsapp.points.standings import balance, leaderboard
from tests.points.helpers import cap, post, subs

DEC_NOW = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 on 3 Dec in Shanghai
NOV_NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)


def close_period(session, village, month, actor, *, now):
    """Publish the month with a 0-day window (if not yet), then close it."""
    village.notice_days = 0
    try:
        publish_notice(session, village, month, actor, now=now)
    except Refused as exc:
        if exc.code not in ("nothing_new", "already_closed", "month_running", "not_allowed"):
            raise
        session.rollback()
    return close_month(session, village, month, actor, now=now)


def test_close_refused_while_captures_wait_then_locks_the_month(world, session):
    p = world.people[0][0]
    res = cap(session, world, world.grid, "ZY-01", [p], day=dt.date(2026, 11, 20), now=NOV_NOW)
    with pytest.raises(Refused) as info:
        close_period(session, world.village, "2026-11", world.admin, now=DEC_NOW)
    assert info.value.code == "pending_left"
    post(session, world, res, now=NOV_NOW)
    closed = close_period(session, world.village, "2026-11", world.admin, now=DEC_NOW)
    session.commit()
    # Oracle in raw SQL: the close records the chain's head at that moment, which is the last entry's.
    head = session.execute(
        text("SELECT seq, hash FROM ledger_entries WHERE village_id = :v ORDER BY seq DESC LIMIT 1"),
        {"v": world.village.id},
    ).one()
    stored = session.execute(
        text("SELECT head_seq, head_hash FROM closed_periods WHERE village_id = :v AND month = '2026-11'"),
        {"v": world.village.id},
    ).one()
    assert head.seq >= 1 and tuple(stored) == tuple(head) == (closed.head_seq, closed.head_hash)
    late = cap(session, world, world.grid, "ZY-01", [p], day=dt.date(2026, 11, 21), now=DEC_NOW)
    assert late.lines[0].code == "period_closed"


def test_cannot_approve_into_a_closed_month(world, session):
    a = cap(session, world, world.grid, "ZY-01", [world.people[0][0]], day=dt.date(2026, 10, 20))
    post(session, world, a)
    b = cap(session, world, world.grid, "ZY-01", [world.people[0][1]], day=dt.date(2026, 10, 21))
    from pointsapp.points.capture import reject

    reject(session, subs(session, b), world.reviewer, "test")
    close_period(session, world.village, "2026-10", world.admin, now=DEC_NOW)
    # A stale pending capture that slipped in before the close (simulated) is refused at approval.
    sub = subs(session, b)[0]
    sub.status = "pending"
    from pointsapp.points.capture import approve

    with pytest.raises(Refused) as info:
        approve(session, [sub], world.reviewer, now=DEC_NOW)
    assert info.value.code == "period_closed"


def test_correction_goes_into_the_open_month_with_a_link(world, session):
    p = world.people[0][0]
    res = cap(session, world, world.grid, "ZY-01", [p], day=dt.date(2026, 11, 20))
    original = post(session, world, res)[0]
    close_period(session, world.village, "2026-11", world.admin, now=DEC_NOW)
    fix = correct(session, original, world.reviewer, "记错人了", now=DEC_NOW)
    session.commit()
    assert (fix.kind, fix.points, fix.corrects_id) == ("correction", -5, original.id)
    assert fix.occurred_on == dt.date(2026, 12, 3)
    assert balance(session, villager=p).honour == 0
    nov = {r.id: r.points for r in leaderboard(session, "villager", "2026-11", village=world.village)}
    dec = {r.id: r.points for r in leaderboard(session, "villager", "2026-12", village=world.village)}
    assert nov[p.id] == 5 and dec[p.id] == -5  # the closed month is untouched
    with pytest.raises(Refused, match="nothing left"):
        correct(session, original, world.reviewer, "again", now=DEC_NOW)


def test_month_not_over_cannot_be_closed(world, session):
    with pytest.raises(Refused, match="has not ended"):
        close_period(session, world.village, "2026-12", world.admin, now=DEC_NOW)


def test_only_admins_close(world, session):
    with pytest.raises(Refused, match="may not close"):
        close_period(session, world.village, "2026-10", world.reviewer, now=DEC_NOW)
