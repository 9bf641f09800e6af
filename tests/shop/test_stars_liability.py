"""Star ratings from the ledger, and the liability guard against raw SQL."""

import datetime as dt

import pytest
from sqlalchemy import text

from pointsapp.points.errors import Refused
from pointsapp.points.shop.liability import liability
from pointsapp.points.shop.redeem import Want, redeem
from pointsapp.points.shop.settings import DEFAULT_BANDS, get_settings, save_settings
from pointsapp.points.shop.stars import star_ratings
from pointsapp.points.shop.stock import write_off
from tests.shop.helpers import NOW, give, more_households, stocked


def _points_sql(session, period_start, period_end):
    """Honour points per household in a period, straight from the entries."""
    rows = session.execute(
        text(
            "SELECT household_id, sum(points) FROM ledger_entries WHERE occurred_on BETWEEN :a AND :b "
            "AND kind NOT IN ('redemption', 'expiry') GROUP BY household_id"
        ),
        {"a": period_start, "b": period_end},
    )
    return {h: int(p) for h, p in rows}


def test_default_bands_give_stars_without_configuration(world, session):
    a, b, c, d = world.households
    give(session, world, [a], rule="JC-01")  # 100
    give(session, world, [a], times=10)  # +200 = 300
    give(session, world, [b], times=7)  # 140
    give(session, world, [c])  # 20
    settings = get_settings(session, world.village)
    assert not settings.saved and settings.bands == tuple(DEFAULT_BANDS["points"])
    rows = {r.household: r for r in star_ratings(session, world.village, "2026")}
    sql = _points_sql(session, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert {h: r.points for h, r in rows.items() if r.points} == sql
    assert [rows[h.id].stars for h in (a, b, c, d)] == [5, 3, 1, 0]
    # the quarter counts only its own points
    q3 = star_ratings(session, world.village, "2026-Q3")
    assert {r.household: r.stars for r in q3} == {h.id: 0 for h in world.households}


def test_percentage_bands_rank_households(world, session):
    homes = more_households(session, world, 16)  # 20 households in all
    for i, h in enumerate(homes):
        give(session, world, [h], times=i + 1)  # 20, 40, ... 320
    save_settings(
        session,
        world.village,
        world.admin,
        reset_month=None,
        reset_day=None,
        points_budget=None,
        star_period="quarter",
        star_mode="percent",
        bands=[[5, 10], [4, 25], [1, 50]],
    )
    session.commit()
    rows = star_ratings(session, world.village, "2026-Q4")
    stars = [r.stars for r in rows]
    # 16 households have points: top 10% -> 2, top 25% -> 4, top 50% -> 8
    assert stars[:8] == [5, 5, 4, 4, 1, 1, 1, 1] and set(stars[8:]) == {0}
    with pytest.raises(Refused) as exc:
        save_settings(
            session,
            world.village,
            world.admin,
            reset_month=2,
            reset_day=30,
            points_budget=None,
            star_period="year",
            star_mode="points",
            bands=DEFAULT_BANDS["points"],
        )
    assert exc.value.code == "bad_reset_day"
    with pytest.raises(Refused) as exc:
        save_settings(
            session,
            world.village,
            world.admin,
            reset_month=None,
            reset_day=None,
            points_budget=None,
            star_period="year",
            star_mode="points",
            bands=[[5, 10], [4, 20]],
        )
    assert exc.value.code == "bad_bands"


def _outstanding_sql(session, village_id):
    return int(
        session.execute(
            text(
                "SELECT coalesce(sum(b), 0) FROM (SELECT household_id, sum(points) AS b FROM ledger_entries "
                "WHERE village_id = :v GROUP BY household_id) per WHERE b > 0"
            ),
            {"v": village_id},
        ).scalar_one()
    )


def test_liability_equals_outstanding_points_in_sql(world, session):
    a, b, c, _ = world.households
    give(session, world, [a, b], times=3)  # 60 each
    give(session, world, [c], rule="WM-03")  # -10: not a liability
    item = stocked(session, world, price=10, qty=5)
    redeem(
        session,
        actor=world.clerk,
        village=world.village,
        household=a,
        wants=[Want(2, item_id=item.id)],
        key="x",
        now=NOW,
    )
    session.commit()
    li = liability(session, world.village, 2026)
    assert li.outstanding == _outstanding_sql(session, world.village.id) == 100
    assert li.stock_value == 30 and li.budget is None and li.level == "short" and li.warn
    save_settings(
        session,
        world.village,
        world.admin,
        reset_month=None,
        reset_day=None,
        points_budget=150,
        star_period="year",
        star_mode="points",
        bands=DEFAULT_BANDS["points"],
    )
    session.commit()
    li = liability(session, world.village, 2026)
    # budget 150 minus this year's purchase of 50 yuan leaves 100: cover 130 >= 100 outstanding
    assert (li.bought, li.budget_left, li.cover, li.level) == (50, 100, 130, "tight")
    write_off(session, world.village, world.admin, item, 3, reason="过期", now=NOW)
    session.commit()
    li = liability(session, world.village, 2026)
    assert (li.stock_value, li.cover, li.level) == (0, 100, "tight")
