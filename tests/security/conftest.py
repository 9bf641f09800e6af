"""Fixtures of the security suite: two villages with posted entries, a county viewer and a
viewer bound to the first village, and helpers to sign in through the real /login page."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import Submission
from pointsapp.points.registry import (
    Group,
    Household,
    Role,
    StaffUser,
    Village,
    Villager,
)
from pointsapp.points.rules import load_rulebook_text

PASSWORD = "correct horse 1"
DAY = dt.date(2026, 11, 5)
RULES = """
rules:
  - {code: DJ-01, name: 参加党日活动, category: 党建引领, points: 5, per: occasion, unit: 次, scope: person,
     evidence: sign_in, logged_by: [grid_worker, admin], effective_from: 2026-01-01}
"""


def post(
    session,
    village: Village,
    grid: StaffUser,
    rev: StaffUser,
    people: list[int],
    *,
    key: str,
    note: str | None = None,
    day: dt.date = DAY,
) -> list[int]:
    res = capture(
        session,
        actor=grid,
        village=village,
        key=key,
        rule_code="DJ-01",
        occurred_on=day,
        lines=[Line(villager_id=p, note=note) if note else Line(villager_id=p) for p in people],
    )
    subs = [session.get(Submission, ln.submission_id) for ln in res.lines if ln.status in ("pending", "capped")]
    return [e.id for e in approve(session, subs, rev)]


def add_user(session, username: str, role: Role, village_id: int | None, groups=()) -> StaffUser:
    user = StaffUser(username=username, role=role, village_id=village_id)
    user.set_password(PASSWORD)
    user.groups = list(groups)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def two_villages(app, app_world):
    """app_world's 龙天坪村 plus 石门村, entries posted in both, and viewers:
    ``vview`` bound to 龙天坪村, ``county1`` county-wide."""
    with app.app_context():
        s = db.session
        v1 = s.get(Village, app_world["village"])
        v2 = Village(name="石门村")
        s.add(v2)
        s.flush()
        g = Group(village_id=v2.id, name="石门一组", sort_key=1)
        s.add(g)
        s.flush()
        people2 = []
        for n, names in enumerate([["石大山", "石小河"], ["石秀英"]], start=1):
            h = Household(village_id=v2.id, group_id=g.id, number=str(n))
            s.add(h)
            s.flush()
            members = [Villager(village_id=v2.id, household_id=h.id, name=nm) for nm in names]
            s.add_all(members)
            s.flush()
            h.head_id = members[0].id
            people2 += [m.id for m in members]
        load_rulebook_text(s, v2, RULES)
        grid2 = add_user(s, "grid2", Role.grid_worker, v2.id, [g])
        rev2b = add_user(s, "rev2b", Role.reviewer, v2.id)
        add_user(s, "admin2b", Role.admin, v2.id)
        add_user(s, "vview", Role.viewer, v1.id)
        add_user(s, "county1", Role.viewer, None)
        grid = s.get(StaffUser, app_world["users"]["grid1"])
        rev = s.get(StaffUser, app_world["users"]["rev1"])
        e1 = post(s, v1, grid, rev, app_world["people"][0], key="v1-a")
        e2 = post(s, v2, grid2, rev2b, people2, key="v2-a", note="石门村的备注")
        s.commit()
        ids = dict(app_world)
        ids.update(village2=v2.id, people2=people2, entries1=e1, entries2=e2)
        return ids


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    return client.post("/login", data={"username": username, "password": password, **extra})


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.execute(select(StaffUser.id).where(StaffUser.username == username)).scalar_one()


__all__ = ["PASSWORD", "add_user", "post", "sign_in", "user_id"]
