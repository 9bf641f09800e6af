"""Spending at the shop is not taking part: a household that only redeemed in a month is not
counted as participating, and a redemption on the 1st does not switch cards, boards and the
dashboard to a month with no points (issue 10, section 7, on the demo: the desk opens on day 1)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from pointsapp.points.anchors import check_tallies
from pointsapp.points.ledger import verify_chain
from pointsapp.points.shop.redeem import Want, redeem
from pointsapp.points.standings import board_month, month_participation
from pointsapp.reports import services
from tests.shop.helpers import give, stocked

DEC1 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai


def test_a_redemption_on_day_one_is_not_taking_part(world, session):
    h0, h1 = world.households[0], world.households[1]
    give(session, world, [h0, h1], day=dt.date(2026, 11, 5))  # November: both earn 20
    stocked(session, world)
    redeem(
        session,
        actor=world.clerk,
        village=world.village,
        household=h0,
        wants=[Want(1, code="SOAP")],
        key="day1",
        now=DEC1,
    )
    session.commit()
    # the oracle: households with earning entries in December, straight from the ledger
    earning = session.execute(
        text(
            "SELECT count(DISTINCT household_id) FROM ledger_entries WHERE village_id = :v AND occurred_on >= :d "
            "AND kind NOT IN ('redemption', 'expiry')"
        ),
        {"v": world.village.id, "d": dt.date(2026, 12, 1)},
    ).scalar_one()
    assert earning == 0
    assert month_participation(session, world.village, "2026-12")[0] == earning
    assert board_month(session, world.village, dt.date(2026, 12, 1)) == "2026-11"
    assert services.summary(session, world.village, "2026-12").entries == 0
    nov = services.summary(session, world.village, "2026-11")
    assert (nov.entries, nov.households_with_entries) == (2, 2)
    res = verify_chain(session, world.village)
    check_tallies(session, world.village, res)
    assert res.ok, res.problems


def test_spending_is_not_put_under_public_notice(world, session):
    """A 公示 lists points earned and lost; what a household took home from the shop is not on it
    (the printed board sheet already left spending out, and the notice's count now agrees)."""
    from sqlalchemy import select

    from pointsapp.points.lifecycle import close_blockers
    from pointsapp.points.notice import NoticeEntry, publish_notice

    h0 = world.households[0]
    give(session, world, [h0], day=dt.date(2026, 11, 5))
    stocked(session, world)
    red = redeem(
        session,
        actor=world.clerk,
        village=world.village,
        household=h0,
        wants=[Want(1, code="SOAP")],
        key="nov",
        now=dt.datetime(2026, 11, 20, 4, tzinfo=dt.timezone.utc),
    ).redemption
    session.commit()
    notice = publish_notice(session, world.village, "2026-11", world.reviewer, days=0, now=DEC1)
    session.commit()
    listed = set(session.execute(select(NoticeEntry.seq).where(NoticeEntry.notice_id == notice.id)).scalars())
    earning = set(
        session.execute(
            text(
                "SELECT seq FROM ledger_entries WHERE village_id = :v AND occurred_on BETWEEN '2026-11-01' AND '2026-11-30' "
                "AND kind NOT IN ('redemption', 'expiry')"
            ),
            {"v": world.village.id},
        ).scalars()
    )
    assert listed == earning and red.entry.seq not in listed and notice.entry_count == len(earning) == 1
    # and the month can close: the redemption is not "waiting for a supplementary notice"
    assert [b.code for b in close_blockers(session, world.village, "2026-11", now=DEC1)] == []
