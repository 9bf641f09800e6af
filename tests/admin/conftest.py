"""Admin test fixtures: a signed-in admin client (through /login, like every test) and a second village."""

from __future__ import annotations

import datetime as dt

import pytest

from pointsapp.extensions import db
from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import Submission
from pointsapp.points.registry import Group, Household, Role, StaffUser, Village, Villager
from tests.conftest import login


@pytest.fixture
def admin(client, app_world):
    assert login(client, "admin1").status_code == 302
    return client


@pytest.fixture
def other(app, app_world):
    """Another village with one group, household, villager and admin: its ids must be 404 here."""
    with app.app_context():
        v = Village(name="石门村")
        db.session.add(v)
        db.session.flush()
        g = Group(village_id=v.id, name="第一组", sort_key=1)
        db.session.add(g)
        db.session.flush()
        h = Household(village_id=v.id, group_id=g.id, number="1")
        db.session.add(h)
        db.session.flush()
        p = Villager(village_id=v.id, household_id=h.id, name="外村人")
        db.session.add(p)
        db.session.flush()
        h.head_id = p.id
        u = StaffUser(username="other-admin", role=Role.admin, village_id=v.id)
        u.set_password("correct horse 1")
        db.session.add(u)
        db.session.commit()
        return {"village": v.id, "group": g.id, "household": h.id, "villager": p.id, "user": u.id}


def post_entries(app, app_world, lines, rule="DJ-01", day=dt.date(2026, 11, 5), key="k1"):
    """Capture (as grid1) and approve (as rev1) entries, straight through the core."""
    with app.app_context():
        grid = db.session.get(StaffUser, app_world["users"]["grid1"])
        rev = db.session.get(StaffUser, app_world["users"]["rev1"])
        village = db.session.get(Village, app_world["village"])
        res = capture(db.session, actor=grid, village=village, lines=lines, key=key, rule_code=rule, occurred_on=day)
        subs = [db.session.get(Submission, ln.submission_id) for ln in res.lines if ln.status in ("pending", "capped")]
        entries = approve(db.session, subs, rev)
        db.session.commit()
        return [e.id for e in entries]


__all__ = ["Line", "post_entries"]
