"""Fixtures for the staff feature's tests."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.activities import Activity
from pointsapp.points.periods import local_today
from pointsapp.points.registry import Household, Role, StaffUser, Villager
from pointsapp.points.rules import Rule
from tests.conftest import PASSWORD, login


def today() -> dt.date:
    return local_today("Asia/Shanghai")


def last_month_day() -> dt.date:
    """The last day of the last finished month: entries dated there can be published now."""
    return today().replace(day=1) - dt.timedelta(days=1)


@pytest.fixture
def world(app, app_world):
    """app_world plus a county viewer ("view1", no village) and the ids tests need."""
    with app.app_context():
        viewer = StaffUser(username="view1", role=Role.viewer, village_id=None)
        viewer.set_password(PASSWORD)
        db.session.add(viewer)
        db.session.commit()
        app_world["users"]["view1"] = viewer.id
        app_world["rules"] = {r.code: r.id for r in db.session.execute(select(Rule)).scalars()}
    return app_world


def make_activity(app, world, code="LJ-01", *, by="grid1", group_index=0, held_on=None, title=None) -> int:
    with app.app_context():
        from pointsapp.points.registry import Group

        groups = db.session.execute(select(Group).order_by(Group.sort_key)).scalars().all()
        a = Activity(
            village_id=world["village"],
            rule_id=world["rules"][code],
            title=title or f"活动 {code}",
            held_on=held_on or today(),
            place="村部",
            group_id=groups[group_index].id if group_index is not None else None,
            created_by_id=world["users"][by],
        )
        db.session.add(a)
        db.session.commit()
        return a.id


def add_people(app, world, count: int, *, group_index: int = 0, per_household: int = 3) -> list[int]:
    """Add ``count`` villagers in new households of a group (for 30-people captures)."""
    from pointsapp.points.registry import Group

    names = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"]
    given = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛"]
    ids = []
    with app.app_context():
        group = db.session.execute(select(Group).order_by(Group.sort_key)).scalars().all()[group_index]
        n = 0
        hh_no = 100
        while n < count:
            hh_no += 1
            h = Household(
                village_id=world["village"], group_id=group.id, number=str(hh_no), house_number=f"{hh_no:03d}"
            )
            db.session.add(h)
            db.session.flush()
            members = []
            for i in range(min(per_household, count - n)):
                v = Villager(
                    village_id=world["village"],
                    household_id=h.id,
                    name=names[(n // len(given)) % len(names)] + given[n % len(given)] + ("" if i else ""),
                    relation="户主" if i == 0 else "家属",
                )
                db.session.add(v)
                members.append(v)
                n += 1
            db.session.flush()
            h.head_id = members[0].id
            ids += [m.id for m in members]
        db.session.commit()
    return ids


__all__ = ["login", "PASSWORD", "today", "make_activity", "add_people"]
