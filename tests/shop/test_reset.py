"""The yearly reset (年底清零): dry run, idempotence, honour untouched, spending after it."""

import datetime as dt

import pytest
from sqlalchemy import text

from pointsapp.points.errors import Refused
from pointsapp.points.ledger import verify_chain
from pointsapp.points.shop.redeem import Want, redeem
from pointsapp.points.shop.reset import reset_warning, run_reset
from pointsapp.points.shop.settings import DEFAULT_BANDS, save_settings
from tests.shop.helpers import NOW, counts, give, raw_honour, raw_redeemable, stocked

JAN10 = dt.datetime(2027, 1, 10, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 local on the reset day


def _reset_on(session, world, month=1, day=10, budget=None):
    save_settings(
        session,
        world.village,
        world.admin,
        reset_month=month,
        reset_day=day,
        points_budget=budget,
        star_period="year",
        star_mode="points",
        bands=DEFAULT_BANDS["points"],
    )
    session.commit()


def _setup(session, world):
    a, b, c = world.households[:3]
    give(session, world, [a], times=3)  # 60 in 2026
    give(session, world, [b], times=2)  # 40 in 2026
    give(session, world, [c], rule="WM-03")  # -10 in 2026: nothing to clear
    stocked(session, world, price=10, qty=50)
    redeem(
        session,
        actor=world.clerk,
        village=world.village,
        household=a,
        wants=[Want(1, code="SOAP")],
        key="a-2026",
        now=NOW,
    )
    session.commit()
    _reset_on(session, world)
    return a, b, c


def test_dry_run_writes_nothing_and_the_second_run_changes_nothing(world, session):
    a, b, c = _setup(session, world)
    before = counts(session)
    preview = run_reset(session, world.village, 2026, world.admin, dry_run=True, now=JAN10)
    session.commit()
    assert counts(session) == before
    assert (preview.households, preview.points) == (2, 90)
    assert {r.household_id: r.points for r in preview.rows} == {a.id: 50, b.id: 40}
    honour = {h.id: raw_honour(session, h.id) for h in (a, b, c)}
    done = run_reset(session, world.village, 2026, world.admin, now=JAN10)
    session.commit()
    assert (done.households, done.points, done.already) == (2, 90, None)
    assert [raw_redeemable(session, h.id) for h in (a, b, c)] == [0, 0, -10]
    assert {h.id: raw_honour(session, h.id) for h in (a, b, c)} == honour  # honour untouched
    assert session.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'expiry'")).scalar_one() == 2
    assert verify_chain(session, world.village).ok
    after = counts(session)
    again = run_reset(session, world.village, 2026, world.admin, now=JAN10 + dt.timedelta(days=3))
    session.commit()
    assert again.already is not None and counts(session) == after


def test_points_earned_after_the_year_survive_and_spending_takes_old_points_first(world, session):
    a, b, _ = _setup(session, world)
    jan5 = dt.datetime(2027, 1, 5, 2, 0, tzinfo=dt.timezone.utc)
    give(session, world, [a], day=dt.date(2027, 1, 4))  # +20 in the new year
    redeem(
        session,
        actor=world.clerk,
        village=world.village,
        household=b,
        wants=[Want(3, code="SOAP")],
        key="b-2027",
        now=jan5,
    )  # b spends 30 of its 40 old points
    session.commit()
    run_reset(session, world.village, 2026, world.admin, now=JAN10)
    session.commit()
    assert raw_redeemable(session, a.id) == 20  # only the 2027 points are left
    assert raw_redeemable(session, b.id) == 0  # 10 old points cleared
    # A redemption after the reset spends only post-reset points: a has 20, not 70.
    with pytest.raises(Refused) as exc:
        redeem(
            session,
            actor=world.clerk,
            village=world.village,
            household=a,
            wants=[Want(3, code="SOAP")],
            key="a-after",
            now=JAN10 + dt.timedelta(hours=1),
        )
    assert exc.value.code == "insufficient_points" and "has 20 redeemable" in exc.value.message
    session.rollback()
    redeem(
        session,
        actor=world.clerk,
        village=world.village,
        household=a,
        wants=[Want(2, code="SOAP")],
        key="a-after-ok",
        now=JAN10 + dt.timedelta(hours=1),
    )
    session.commit()
    assert raw_redeemable(session, a.id) == 0 and raw_honour(session, a.id) == 80
    assert verify_chain(session, world.village).ok


def test_reset_refuses_when_off_or_not_due(world, session):
    give(session, world, world.households[:1])
    with pytest.raises(Refused) as exc:
        run_reset(session, world.village, 2026, world.admin, now=JAN10)
    assert exc.value.code == "reset_off"
    _reset_on(session, world)
    with pytest.raises(Refused) as exc:
        run_reset(session, world.village, 2026, world.admin, now=JAN10 - dt.timedelta(days=1))
    assert exc.value.code == "reset_not_due" and "2027-01-10" in exc.value.message
    with pytest.raises(Refused) as exc:
        run_reset(session, world.village, 2026, world.clerk, now=JAN10)
    assert exc.value.code == "not_allowed"


def test_the_card_warning_names_the_points_and_the_day(world, session):
    a, b, c = _setup(session, world)
    dec20 = dt.date(2026, 12, 20)
    warn = reset_warning(session, world.village, a, dec20)
    assert (warn.points, warn.due_on) == (50, dt.date(2027, 1, 10))
    assert reset_warning(session, world.village, c, dec20) is None  # nothing to clear
    assert reset_warning(session, world.village, a, dt.date(2026, 10, 1)) is None  # too early to warn
    run_reset(session, world.village, 2026, world.admin, now=JAN10)
    session.commit()
    assert reset_warning(session, world.village, a, dt.date(2027, 1, 10)) is None  # done
