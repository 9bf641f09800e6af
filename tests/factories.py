"""Test data: a small village with staff in every role and the example rule book."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm import Session

from pointsapp.points.registry import Group, Household, Role, StaffUser, Village, Villager
from pointsapp.points.rules import load_rulebook_text
from tests.samples import sample

NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.timezone.utc)  # 12:00 in Asia/Shanghai


class World:
    """A village with two groups, four households, staff in every role, and the example rules."""

    def __init__(self, session: Session):
        self.s = session
        self._keys = itertools.count(1)
        self.village = Village(name="龙天坪村")
        session.add(self.village)
        session.flush()
        self.g1 = Group(village_id=self.village.id, name="第一组", sort_key=1)
        self.g2 = Group(village_id=self.village.id, name="第二组", sort_key=2)
        session.add_all([self.g1, self.g2])
        session.flush()
        self.households = []
        self.people = []
        for n, (group, names) in enumerate(
            [
                (self.g1, ["向明华", "谭高"]),
                (self.g1, ["唐海娟", "麻武", "唐芳金"]),
                (self.g2, ["贾生国"]),
                (self.g2, ["杨明𠮷", "贾德䶮"]),
            ],
            start=1,
        ):
            h = Household(village_id=self.village.id, group_id=group.id, number=str(n), house_number=f"{n:03d}")
            session.add(h)
            session.flush()
            members = [
                Villager(village_id=self.village.id, household_id=h.id, name=nm, relation="户主" if i == 0 else "家属")
                for i, nm in enumerate(names)
            ]
            session.add_all(members)
            session.flush()
            h.head_id = members[0].id
            self.households.append(h)
            self.people.append(members)
        load_rulebook_text(session, self.village, sample("rules-example.yaml").read_text())
        self.admin = self.user("admin1", Role.admin)
        self.admin2 = self.user("admin2", Role.admin)
        self.reviewer = self.user("rev1", Role.reviewer)
        self.reviewer2 = self.user("rev2", Role.reviewer)
        self.grid = self.user("grid1", Role.grid_worker, groups=[self.g1])
        session.flush()

    def user(self, name, role, groups=(), villager=None):
        u = StaffUser(username=name, role=role, village_id=self.village.id, villager=villager)
        u.set_password("correct horse 1")
        u.groups = list(groups)
        self.s.add(u)
        self.s.flush()
        return u

    def key(self) -> str:
        return f"k{next(self._keys)}"
