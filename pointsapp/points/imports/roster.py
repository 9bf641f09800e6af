"""Roster (花名册) import: one row per person, grouped into households by 户号.

Idempotent: the same roster again changes nothing. An updated roster adds new groups,
households and people, updates changed details, recognises a person who moved to another
household (same name, sex and birth month, gone from the old one), and reports people in
the registry the file no longer lists. It never duplicates or deletes anyone.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..registry import Group, Household, HouseholdMove, Village, Villager, VillagerStatus
from .errors import ImportErrors, RowError
from .reader import Column, Table
from .values import as_text, normalize_phone, parse_year_month

ROSTER_COLUMNS = (
    Column("group", ("村民小组", "组别", "小组", "组名")),
    Column("household_no", ("户号", "户编号")),
    Column("head_name", ("户主姓名", "户主")),
    Column("name", ("姓名", "成员姓名")),
    Column("relation", ("与户主关系", "关系"), required=False),
    Column("sex", ("性别",), required=False),
    Column("birth", ("出生年月", "出生日期", "出生年月日"), required=False),
    Column("phone", ("联系电话", "电话", "手机号", "手机号码", "手机"), required=False),
    Column("house_number", ("门牌号", "门牌"), required=False),
    Column("note", ("备注",), required=False),
)
SEXES = {"男": "男", "女": "女", "M": "男", "F": "女"}
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def group_sort_key(name: str) -> int:
    """第三组 → 3, 第十二组 → 12, 5组 → 5; unknown shapes sort last."""
    if m := re.search(r"(\d+)", name):
        return int(m[1])
    if m := re.search(r"第?([一二三四五六七八九十]+)", name):
        text = m[1]
        if "十" in text:
            tens, _, ones = text.partition("十")
            return _CN_DIGITS.get(tens, 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
        return _CN_DIGITS[text[0]]
    return 10_000


@dataclass
class PersonRow:
    row: int
    group: str
    household_no: str
    head_name: str
    name: str
    relation: str | None
    sex: str | None
    birth: tuple[int, int] | None
    phone: str | None
    house_number: str | None


@dataclass
class RosterReport:
    dry_run: bool
    rows: int = 0
    groups_added: list[str] = field(default_factory=list)
    households_added: int = 0
    villagers_added: int = 0
    updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    unchanged: int = 0
    unmatched: list[str] = field(default_factory=list)      # file rows that could not be matched
    not_in_file: list[str] = field(default_factory=list)    # registry people the file no longer lists
    skipped: list[str] = field(default_factory=list)
    outcomes: dict[int, str] = field(default_factory=dict)  # row -> new / updated / unchanged / moved / unmatched

    @property
    def changes(self) -> int:
        return (len(self.groups_added) + self.households_added + self.villagers_added
                + len(self.updated) + len(self.moved))

    def lines(self) -> list[str]:
        out = [f"{'would add' if self.dry_run else 'added'}: {len(self.groups_added)} groups, "
               f"{self.households_added} households, {self.villagers_added} villagers",
               f"updated: {len(self.updated)}, moved: {len(self.moved)}, unchanged: {self.unchanged}"]
        out += [f"  updated {u}" for u in self.updated]
        out += [f"  moved {m}" for m in self.moved]
        out += [f"cannot match: {u}" for u in self.unmatched]
        if self.not_in_file:
            out.append(f"in the registry but not in the file (left as they are): {len(self.not_in_file)}")
            out += [f"  {n}" for n in self.not_in_file[:50]]
        out += [f"skipped {s}" for s in self.skipped]
        return out


def _parse_rows(table: Table) -> tuple[list[PersonRow], list[RowError]]:
    col = table.columns
    errors: list[RowError] = []
    people: list[PersonRow] = []
    for r in table.rows:
        v = r.values
        bad = len(errors)
        def err(key, code, reason, value=None, **params):
            errors.append(RowError(r.number, col.get(key, key), v.get(key) if value is None else value, reason,
                                   code, params))
        group, hno, head, name = (as_text(v["group"]), as_text(v["household_no"]),
                                  as_text(v["head_name"]), as_text(v["name"]))
        for key, val in (("group", group), ("household_no", hno), ("head_name", head), ("name", name)):
            if not val:
                err(key, "row.empty", "is empty")
        if name and len(name) > 50:
            err("name", "row.too_long", "is longer than 50 characters", n=50)
        sex = as_text(v.get("sex"))
        if sex is not None and sex not in SEXES:
            err("sex", "row.bad_sex", "must be 男 or 女")
        birth = phone = None
        try:
            birth = parse_year_month(v.get("birth"))
        except ValueError as exc:
            err("birth", "row.bad_birth", str(exc), detail=str(exc))
        try:
            phone = normalize_phone(v.get("phone"))
        except ValueError as exc:
            err("phone", "row.bad_phone", str(exc), detail=str(exc))
        relation = as_text(v.get("relation"))
        if relation == "户主" and name and head and name != head:
            err("name", "row.head_mismatch", f"is marked 户主 but the 户主姓名 column says {head}", name=head)
        if len(errors) > bad:
            continue
        people.append(PersonRow(r.number, group, hno.lstrip("0") or "0", head, name, relation,
                                SEXES.get(sex) if sex else None, birth, phone, as_text(v.get("house_number"))))
    # A household's rows must agree with each other.
    by_house: dict[str, list[PersonRow]] = defaultdict(list)
    for p in people:
        by_house[p.household_no].append(p)
    for hno, rows in by_house.items():
        first = rows[0]
        for p in rows[1:]:
            if p.group != first.group:
                errors.append(RowError(p.row, col.get("group"), p.group,
                              f"household {hno} is in {first.group} on row {first.row}", "row.group_differs",
                              {"number": hno, "group": first.group, "row": first.row}))
            if p.head_name != first.head_name:
                errors.append(RowError(p.row, col.get("head_name"), p.head_name,
                              f"household {hno} has head {first.head_name} on row {first.row}", "row.head_differs",
                              {"number": hno, "name": first.head_name, "row": first.row}))
        names = [p.name for p in rows]
        if first.head_name not in names:
            errors.append(RowError(first.row, col.get("head_name"), first.head_name,
                          f"the head of household {hno} is not listed as a member", "row.head_not_member",
                          {"number": hno}))
        seen: dict[str, int] = {}
        for p in rows:
            if p.name in seen:
                errors.append(RowError(p.row, col.get("name"), p.name,
                              f"listed twice in household {hno} (also row {seen[p.name]})", "row.listed_twice",
                              {"number": hno, "row": seen[p.name]}))
            seen[p.name] = p.row
    return people, errors


def _details(p: PersonRow) -> dict:
    return {"sex": p.sex, "birth_year": p.birth[0] if p.birth else None,
            "birth_month": p.birth[1] if p.birth else None, "phone": p.phone, "relation": p.relation}


def import_roster(session: Session, village: Village, table: Table, *, dry_run: bool = False,
                  moved_on: dt.date | None = None, actor_id: int | None = None) -> RosterReport:
    """Apply a roster to the village. Raises ImportErrors (nothing written) if any row is bad."""
    people, errors = _parse_rows(table)
    if errors:
        raise ImportErrors(errors)
    report = RosterReport(dry_run=dry_run, rows=len(people),
                          skipped=[f"row {s.number} ({s.reason}): {s.text}" for s in table.skipped])
    groups = {g.name: g for g in session.execute(select(Group).where(Group.village_id == village.id)).scalars()}
    households = {h.number: h for h in session.execute(
        select(Household).where(Household.village_id == village.id)).scalars()}
    villagers = list(session.execute(select(Villager).where(Villager.village_id == village.id)).scalars())
    by_house_name = {(v.household_id, v.name): v for v in villagers}
    in_file: set[int] = set()
    def group_for(name: str) -> Group | None:
        g = groups.get(name)
        if g is None:
            report.groups_added.append(name)
            g = Group(village_id=village.id, name=name, sort_key=group_sort_key(name))
            groups[name] = g
            if not dry_run:
                session.add(g)
                session.flush()
        return g

    new_people: list[tuple[PersonRow, Household]] = []
    rows_by_house: dict[str, list[PersonRow]] = defaultdict(list)
    for p in people:
        rows_by_house[p.household_no].append(p)
    for hno, rows in rows_by_house.items():
        first = rows[0]
        house = households.get(hno)
        if house is not None:
            hgroup = session.get(Group, house.group_id)
            head = session.get(Villager, house.head_id) if house.head_id else None
            if hgroup.name != first.group or (head is not None and head.name != first.head_name):
                report.unmatched.append(
                    f"rows {rows[0].row}-{rows[-1].row}: household {hno} is {hgroup.name}/{head.name if head else '?'} "
                    f"in the registry but {first.group}/{first.head_name} in the file")
                for p in rows:
                    report.outcomes[p.row] = "unmatched"
                continue
            if (first.house_number or None) != house.house_number and first.house_number:
                report.updated.append(f"household {hno}: 门牌号 {house.house_number} → {first.house_number}")
                if not dry_run:
                    house.house_number = first.house_number
        else:
            group = group_for(first.group)
            report.households_added += 1
            house = Household(village_id=village.id, group_id=group.id if group.id else None,
                              number=hno, house_number=first.house_number)
            house.group = group
            households[hno] = house
            if not dry_run:
                session.add(house)
        for p in rows:
            existing = by_house_name.get((house.id, p.name)) if house.id else None
            if existing is None:
                new_people.append((p, house))
                continue
            in_file.add(existing.id)
            changed = [f"{k} {getattr(existing, k)} → {val}" for k, val in _details(p).items()
                       if val is not None and getattr(existing, k) != val]
            if changed:
                report.updated.append(f"row {p.row} {p.name}: " + ", ".join(changed))
                report.outcomes[p.row] = "updated"
                if not dry_run:
                    for k, val in _details(p).items():
                        if val is not None:
                            setattr(existing, k, val)
            else:
                report.unchanged += 1
                report.outcomes[p.row] = "unchanged"

    if not dry_run:
        session.flush()  # new households get ids before moves are matched
    # People the file puts in a new place: a move when exactly one registry person fits and
    # is no longer listed in their old household.
    gone = [v for v in villagers if v.id not in in_file and v.status == VillagerStatus.active]
    index: dict[tuple, list[Villager]] = defaultdict(list)
    for v in gone:
        index[(v.name, v.sex, v.birth_year, v.birth_month)].append(v)
    moved_ids: set[int] = set()
    for p, house in new_people:
        d = _details(p)
        candidates = [v for v in index.get((p.name, d["sex"], d["birth_year"], d["birth_month"]), [])
                      if v.id not in moved_ids and house.id != v.household_id] if d["birth_year"] else []
        if len(candidates) == 1:
            v = candidates[0]
            moved_ids.add(v.id)
            report.moved.append(f"row {p.row} {p.name}: household {households_number(session, v.household_id)} → {house.number}")
            report.outcomes[p.row] = "moved"
            if not dry_run:
                session.add(HouseholdMove(villager_id=v.id, from_household_id=v.household_id,
                                          to_household_id=house.id, moved_on=moved_on or dt.date.today(),
                                          recorded_by_id=actor_id))
                v.household_id = house.id
                v.relation = p.relation
            continue
        report.villagers_added += 1
        report.outcomes[p.row] = "new"
        if not dry_run:
            if house.id is None:
                session.flush()
            session.add(Villager(village_id=village.id, household_id=house.id, name=p.name, **_details(p)))
    if not dry_run:
        session.flush()
        # Heads: the member named in 户主姓名.
        for hno, rows in rows_by_house.items():
            house = households[hno]
            if house.head_id is None:
                head = session.execute(select(Villager).where(
                    Villager.household_id == house.id, Villager.name == rows[0].head_name)).scalar_one_or_none()
                house.head_id = head.id if head else None
        session.flush()
    report.not_in_file = [f"{v.name} (household {households_number(session, v.household_id)})"
                          for v in gone if v.id not in moved_ids]
    return report


def households_number(session: Session, household_id: int) -> str:
    h = session.get(Household, household_id)
    return h.number if h else "?"
