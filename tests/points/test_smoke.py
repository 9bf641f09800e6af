import datetime as dt

from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import verify_chain
from pointsapp.points.standings import balance, leaderboard
from tests.factories import NOW


def test_capture_approve_balance(world, session):
    p = world.people[0][1]
    res = capture(
        session,
        actor=world.grid,
        village=world.village,
        rule_code="DJ-01",
        occurred_on=dt.date(2026, 11, 5),
        lines=[Line(villager_id=p.id)],
        key=world.key(),
        now=NOW,
    )
    assert [ln.status for ln in res.lines] == ["pending"]
    session.commit()
    subs = [ln.submission_id for ln in res.lines]
    from pointsapp.points.ledger import Submission

    approve(session, [session.get(Submission, i) for i in subs], world.reviewer, now=NOW)
    session.commit()
    assert balance(session, villager=p).honour == 5
    assert balance(session, household=world.households[0]).honour == 5
    board = leaderboard(session, "household", "2026-11", village=world.village)
    assert board[0].points == 5 and board[0].rank == 1
    assert verify_chain(session, world.village).ok
