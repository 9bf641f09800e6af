"""Helpers for the reports tests: posting entries, the small world on a plain session."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import Submission
from pointsapp.points.registry import Household, StaffUser, Village, Villager

_keys = itertools.count(1)


NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.timezone.utc)  # 12:00 in Asia/Shanghai


def post(
    session, village: Village, lines: list[tuple], *, by: str = "admin1", approver: str = "rev1", now: dt.datetime = NOW
):
    """Capture and approve entries: lines are (subject, rule code, date, qty) where the subject is a
    Villager, a Household, a villager id or ("h", household id)."""
    actor = session.execute(select(StaffUser).where(StaffUser.username == by)).scalar_one()
    checker = session.execute(select(StaffUser).where(StaffUser.username == approver)).scalar_one()

    def line(subject, code, day, qty):
        if isinstance(subject, Household):
            subject = ("h", subject.id)
        elif isinstance(subject, Villager):
            subject = subject.id
        if isinstance(subject, tuple):
            return Line(household_id=subject[1], rule_code=code, occurred_on=day, quantity=qty)
        return Line(villager_id=subject, rule_code=code, occurred_on=day, quantity=qty)

    result = capture(
        session, actor=actor, village=village, key=f"t{next(_keys)}", now=now, lines=[line(*ln) for ln in lines]
    )
    subs = [session.get(Submission, r.submission_id) for r in result.lines if r.status in ("pending", "capped")]
    assert len(subs) == len(lines), [(r.status, r.message) for r in result.lines]
    return approve(session, subs, checker, now=now)


@pytest.fixture
def world_app(app, app_world):
    """(app, ids) with the small test village."""
    return app, app_world


@pytest.fixture
def session(engine):
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        yield s


@pytest.fixture
def world(session):
    from tests.factories import World

    w = World(session)
    session.commit()
    return w
