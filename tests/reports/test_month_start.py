"""Day 1 of a month (issue 10, section 7): card, board and dashboard show the last finished month
until the running month has posted points; households with no points are not ranked; the
dashboard compares the month so far with the same days of last month.

The clock is set to 1 December 2026, 10:00 in Shanghai. Oracles are raw SQL sums."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, text

from pointsapp.extensions import db
from pointsapp.points.registry import Household, StaffUser, Village
from pointsapp.reports import dashboard as dash
from tests.reports.conftest import post

DAY1 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
NOV20 = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.timezone.utc)


def _sum(start: str, end: str) -> int:
    return int(
        db.session.execute(
            text("SELECT coalesce(sum(points), 0) FROM ledger_entries WHERE occurred_on BETWEEN :a AND :b"),
            {"a": start, "b": end},
        ).scalar_one()
    )


def _households_with_points(month_start: str, month_end: str) -> dict[int, int]:
    rows = db.session.execute(
        text(
            "SELECT household_id, sum(points) FROM ledger_entries WHERE occurred_on BETWEEN :a AND :b "
            "GROUP BY household_id HAVING sum(points) <> 0"
        ),
        {"a": month_start, "b": month_end},
    ).all()
    return {hid: int(p) for hid, p in rows}


def _setup(app, app_world):
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        p = app_world["people"]
        post(
            db.session,
            v,
            [
                (p[0][0], "DJ-01", dt.date(2026, 11, 1), 1),
                (p[0][1], "ZY-01", dt.date(2026, 11, 2), 1),
                (p[2][0], "DJ-01", dt.date(2026, 11, 5), 1),
            ],
            now=NOV20,
        )
        post(
            db.session,
            v,
            [(p[1][0], "DJ-01", dt.date(2026, 10, 1), 1), (p[1][1], "DJ-01", dt.date(2026, 10, 9), 1)],
            now=NOV20,
        )
        db.session.commit()


def test_dashboard_on_day_one_shows_last_month_then_compares_same_days(app, app_world):
    _setup(app, app_world)
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        admin = db.session.get(StaffUser, app_world["users"]["admin1"])
        f = dash.parse_filters(db.session, v, period=None, group=None, now=DAY1)
        d = dash.staff_dashboard(db.session, admin, v, f, now=DAY1)
        assert f.period == "2026-11" and not d.to_date
        assert (d.this_month, d.last_month) == ("2026-11", "2026-10")
        points = {c.label: c for c in d.comparisons}["points"]
        assert (points.this, points.last) == (
            str(_sum("2026-11-01", "2026-11-30")),
            str(_sum("2026-10-01", "2026-10-31")),
        )
        # Households without points in November are listed last, unranked.
        nov = _households_with_points("2026-11-01", "2026-11-30")
        ranks = {r.id: r.rank for r in d.board.rows}
        assert {hid for hid, rank in ranks.items() if rank is not None} == set(nov)
        assert len(ranks) == db.session.execute(text("SELECT count(*) FROM households")).scalar_one()

        # The first posting of December: from now on, December so far against 1 November only.
        p = app_world["people"]
        post(db.session, v, [(p[3][0], "DJ-01", dt.date(2026, 12, 1), 1)], now=DAY1)
        db.session.commit()
        f = dash.parse_filters(db.session, v, period=None, group=None, now=DAY1)
        d = dash.staff_dashboard(db.session, admin, v, f, now=DAY1)
        assert f.period == "2026-12" and d.to_date
        assert (d.this_month, d.last_month) == ("2026-12-01", "2026-11-01")
        c = {c.label: c for c in d.comparisons}
        assert (c["points"].this, c["points"].last) == (
            str(_sum("2026-12-01", "2026-12-01")),
            str(_sum("2026-11-01", "2026-11-01")),
        )
        assert _sum("2026-11-01", "2026-11-01") != _sum("2026-11-01", "2026-11-30")  # not the whole month
        assert (c["households_with_entries"].this, c["households_with_entries"].last) == ("1", "1")


def test_card_and_board_on_day_one(app, app_world, client, monkeypatch):
    _setup(app, app_world)
    monkeypatch.setattr("pointsapp.villagers.routes._today", lambda village: DAY1.date())
    with app.app_context():
        nov = _households_with_points("2026-11-01", "2026-11-30")
        tokens = {h.id: h.card_token for h in db.session.execute(select(Household)).scalars()}
    ranked, unranked = sorted(nov), sorted(set(tokens) - set(nov))
    assert ranked and unranked
    for hid in ranked:
        page = client.get(f"/h/{tokens[hid]}").get_data(as_text=True)
        assert "2026年11月" in page or "2026-11" in page
        rank = re.search(r'id="rank-village">([^<]*)<', page).group(1)
        assert rank.endswith(f"（共{len(nov)}户）"), rank  # ranked among households with points
    for hid in unranked:
        page = client.get(f"/h/{tokens[hid]}").get_data(as_text=True)
        assert re.search(r'id="rank-village">([^<]*)<', page).group(1) == "—"
    board = client.get(f"/board?village={app_world['village']}").get_data(as_text=True)
    table = board[board.index('id="board-table"') :]
    cells = re.findall(r'<tr><td class="num">([^<]*)</td>', table)
    assert all(c.isdigit() for c in cells[: len(ranked)]) and cells[0] == "1"
    assert cells[len(ranked) :] == ["—"] * len(unranked)
    assert f"未参与（本期没有积分，不排名）：{len(unranked)} 户" in board


def test_county_page_on_day_one_shows_last_month(app, app_world, client):
    """/county opens on the last finished month until some village posts points in the running one."""
    from pointsapp.points.db import set_clock
    from pointsapp.points.registry import Role
    from tests.conftest import PASSWORD, login

    _setup(app, app_world)
    with app.app_context():
        county = StaffUser(username="county1", role=Role.viewer, village_id=None)
        county.set_password(PASSWORD)
        db.session.add(county)
        db.session.commit()
    set_clock(DAY1)
    try:
        assert login(client, "county1").status_code == 302
        page = client.get("/county").get_data(as_text=True)
        assert "各村对比: 2026年11月" in page
        with app.app_context():
            v = db.session.get(Village, app_world["village"])
            post(db.session, v, [(app_world["people"][3][0], "DJ-01", dt.date(2026, 12, 1), 1)], now=DAY1)
            db.session.commit()
        assert "各村对比: 2026年12月" in client.get("/county").get_data(as_text=True)
    finally:
        set_clock(None)
