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

from ..moves import move_villager, set_head
from ..periods import local_today
from ..registry import Group, Household, Village, Villager, VillagerStatus
from .errors import ImportErrors, RowError
from .reader import Column, Table
from .values import as_text, normalize_phone, parse_birth

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
HEAD_RELATION = "户主"
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
    birth: tuple[int, int | None] | None
    phone: str | None
    house_number: str | None
    is_head: bool = False

    @property
    def birth_key(self) -> tuple[int | None, int | None]:
        return (self.birth[0], self.birth[1]) if self.birth else (None, None)


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
    unmatched: list[str] = field(default_factory=list)  # file rows that could not be matched
    not_in_file: list[str] = field(default_factory=list)  # registry people the file no longer lists
    skipped: list[str] = field(default_factory=list)
    outcomes: dict[int, str] = field(default_factory=dict)  # row -> new / updated / unchanged / moved / unmatched

    @property
    def changes(self) -> int:
        return (
            len(self.groups_added) + self.households_added + self.villagers_added + len(self.updated) + len(self.moved)
        )

    def lines(self) -> list[str]:
        out = [
            f"{'would add' if self.dry_run else 'added'}: {len(self.groups_added)} groups, "
            f"{self.households_added} households, {self.villagers_added} villagers",
            f"updated: {len(self.updated)}, moved: {len(self.moved)}, unchanged: {self.unchanged}",
        ]
        out += [f"  updated {u}" for u in self.updated]
        out += [f"  moved {m}" for m in self.moved]
        out += [f"cannot match: {u}" for u in self.unmatched]
        if self.not_in_file:
            out.append(f"in the registry but not in the file (left as they are): {len(self.not_in_file)}")
            out += [f"  {n}" for n in self.not_in_file[:50]]
        out += [f"skipped {s}" for s in self.skipped]
        return out


def _birth_text(birth: tuple[int, int | None] | None) -> str:
    if birth is None:
        return "no 出生年月"
    return f"born {birth[0]:04d}-{birth[1]:02d}" if birth[1] else f"born {birth[0]:04d}"


def _parse_rows(table: Table) -> tuple[list[PersonRow], list[RowError]]:
    col = table.columns
    errors: list[RowError] = []
    people: list[PersonRow] = []
    for r in table.rows:
        v = r.values
        bad = len(errors)

        def err(key: str, code: str, reason: str, value: object = None, **params: object) -> None:
            errors.append(
                RowError(r.number, col.get(key, key), v.get(key) if value is None else value, reason, code, params)
            )

        group, hno, head, name = (
            as_text(v["group"]),
            as_text(v["household_no"]),
            as_text(v["head_name"]),
            as_text(v["name"]),
        )
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
            birth = parse_birth(v.get("birth"))
        except ValueError as exc:
            err("birth", "row.bad_birth", str(exc), detail=str(exc))
        try:
            phone = normalize_phone(v.get("phone"))
        except ValueError as exc:
            err("phone", "row.bad_phone", str(exc), detail=str(exc))
        relation = as_text(v.get("relation"))
        if relation == HEAD_RELATION and name and head and name != head:
            err("name", "row.head_mismatch", f"is marked 户主 but the 户主姓名 column says {head}", name=head)
        if len(errors) > bad:
            continue
        assert group and hno and head and name
        people.append(
            PersonRow(
                r.number,
                group,
                hno.lstrip("0") or "0",
                head,
                name,
                relation,
                SEXES.get(sex) if sex else None,
                birth,
                phone,
                as_text(v.get("house_number")),
            )
        )
    # A household's rows must agree with each other.
    by_house: dict[str, list[PersonRow]] = defaultdict(list)
    for p in people:
        by_house[p.household_no].append(p)
    for hno, rows in by_house.items():
        errors += _household_errors(hno, rows, col)
    return people, errors


def _household_errors(hno: str, rows: list[PersonRow], col: dict[str, str]) -> list[RowError]:
    """What is wrong with one household's rows taken together (group, head, people of one name); marks
    the head row (``is_head``) when there is one."""
    errors: list[RowError] = []
    first = rows[0]
    for p in rows[1:]:
        if p.group != first.group:
            errors.append(
                RowError(
                    p.row,
                    col.get("group"),
                    p.group,
                    f"household {hno} is in {first.group} on row {first.row}",
                    "row.group_differs",
                    {"number": hno, "group": first.group, "row": first.row},
                )
            )
        if p.head_name != first.head_name:
            errors.append(
                RowError(
                    p.row,
                    col.get("head_name"),
                    p.head_name,
                    f"household {hno} has head {first.head_name} on row {first.row}",
                    "row.head_differs",
                    {"number": hno, "name": first.head_name, "row": first.row},
                )
            )
    # Two people of one name in one household are told apart by their birth date.
    seen: dict[tuple[str, tuple[int | None, int | None]], int] = {}
    named: dict[str, list[PersonRow]] = defaultdict(list)
    for p in rows:
        named[p.name].append(p)
    for p in rows:
        twins = named[p.name]
        same = (p.name, p.birth_key)
        if len(twins) > 1 and p.birth is None:
            errors.append(
                RowError(
                    p.row,
                    col.get("birth", col.get("name")),
                    None,
                    f"{p.name} is listed {len(twins)} times in household {hno}; "
                    "people of the same name need their 出生年月 to tell them apart",
                    "row.same_name_no_birth",
                    {"name": p.name, "number": hno, "count": len(twins)},
                )
            )
        elif same in seen:
            errors.append(
                RowError(
                    p.row,
                    col.get("name"),
                    p.name,
                    f"listed twice in household {hno} (also row {seen[same]}, {_birth_text(p.birth)})",
                    "row.listed_twice",
                    {"number": hno, "row": seen[same]},
                )
            )
        seen.setdefault(same, p.row)
    # The head: the member named in 户主姓名 (the one marked 户主 if two share the name).
    candidates = named.get(first.head_name, [])
    marked = [p for p in candidates if p.relation == HEAD_RELATION]
    if not candidates:
        errors.append(
            RowError(
                first.row,
                col.get("head_name"),
                first.head_name,
                f"the head of household {hno} is not listed as a member",
                "row.head_not_member",
                {"number": hno},
            )
        )
    elif len(marked) > 1:
        errors.append(
            RowError(
                marked[1].row,
                col.get("relation"),
                HEAD_RELATION,
                f"household {hno} has two heads named {first.head_name} (also row {marked[0].row})",
                "row.two_heads",
                {"number": hno, "name": first.head_name, "row": marked[0].row},
            )
        )
    else:
        (marked or candidates)[0].is_head = True
    return errors


def _details(p: PersonRow) -> dict[str, object]:
    return {
        "sex": p.sex,
        "birth_year": p.birth[0] if p.birth else None,
        "birth_month": p.birth[1] if p.birth else None,
        "phone": p.phone,
        "relation": p.relation,
    }


def _pair(rows: list[PersonRow], members: dict[str, list[Villager]]) -> list[tuple[PersonRow, Villager | None]]:
    """Match a household's file rows with its registry members: by name, and by birth date
    where one name is used twice; a lone pair of the same name matches whatever the birth date."""
    out: list[tuple[PersonRow, Villager | None]] = []
    by_name: dict[str, list[PersonRow]] = defaultdict(list)
    for p in rows:
        by_name[p.name].append(p)
    matched: dict[int, Villager | None] = {}
    for name, file_rows in by_name.items():
        left = list(members.get(name, []))
        waiting = []
        for p in file_rows:
            same = next((m for m in left if (m.birth_year, m.birth_month) == p.birth_key), None)
            if same is None:
                waiting.append(p)
            else:
                matched[p.row] = same
                left.remove(same)
        if len(waiting) == 1 and len(left) == 1:
            matched[waiting[0].row] = left[0]
    for p in rows:
        out.append((p, matched.get(p.row)))
    return out


@dataclass
class _Plan:
    """What the file changes, worked out before anything is written."""

    new_groups: list[str] = field(default_factory=list)
    new_households: dict[str, PersonRow] = field(default_factory=dict)  # 户号 -> first row
    house_numbers: dict[int, str] = field(default_factory=dict)  # household id -> 门牌号
    updates: list[tuple[Villager, dict[str, object]]] = field(default_factory=list)
    moves: list[tuple[PersonRow, Villager, str]] = field(default_factory=list)  # row, person, to 户号
    new_people: list[tuple[PersonRow, str]] = field(default_factory=list)  # row, 户号
    heads: dict[str, PersonRow] = field(default_factory=dict)  # 户号 -> head row
    person_of_row: dict[int, Villager] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)  # 户号 the file lists and that were matched (or are new)
    in_file: set[int] = field(default_factory=set)  # registry people the file lists where they are
    moved_ids: set[int] = field(default_factory=set)  # registry people the file lists in another household


@dataclass
class _Registry:
    """The village as the registry has it before the import."""

    groups: dict[str, Group]  # name -> group
    households: dict[str, Household]  # 户号 -> household
    villagers: list[Villager]
    members: dict[int, dict[str, list[Villager]]]  # household id -> name -> people
    numbers: dict[int, str]  # household id -> 户号

    @classmethod
    def of(cls, session: Session, village: Village) -> _Registry:
        groups = {g.name: g for g in session.execute(select(Group).where(Group.village_id == village.id)).scalars()}
        households = {
            h.number: h for h in session.execute(select(Household).where(Household.village_id == village.id)).scalars()
        }
        villagers = list(session.execute(select(Villager).where(Villager.village_id == village.id)).scalars())
        members: dict[int, dict[str, list[Villager]]] = defaultdict(lambda: defaultdict(list))
        for v in sorted(villagers, key=lambda v: v.id):
            members[v.household_id][v.name].append(v)
        return cls(groups, households, villagers, members, {h.id: h.number for h in households.values()})

    def number_of(self, household_id: int) -> str:
        return self.numbers.get(household_id, "?")


def import_roster(
    session: Session,
    village: Village,
    table: Table,
    *,
    dry_run: bool = False,
    moved_on: dt.date | None = None,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> RosterReport:
    """Apply a roster to the village. Raises ImportErrors (nothing written) if any row is bad.

    People who move are moved by :func:`pointsapp.points.moves.move_villager` from ``moved_on``
    (default: the village's today). Every household the file lists gets the head the file names;
    a head who moves out of a household the file does not list is refused with a row error,
    unless nobody is left in that household.
    """
    people, errors = _parse_rows(table)
    if errors:
        raise ImportErrors(errors)
    moved_on = moved_on or local_today(village.timezone, now)
    report = RosterReport(
        dry_run=dry_run, rows=len(people), skipped=[f"row {s.number} ({s.reason}): {s.text}" for s in table.skipped]
    )
    reg = _Registry.of(session, village)
    plan = _Plan()
    rows_by_house: dict[str, list[PersonRow]] = defaultdict(list)
    for p in people:
        rows_by_house[p.household_no].append(p)
    for hno, rows in rows_by_house.items():
        _plan_household(session, reg, plan, report, hno, rows)
    gone = _plan_moves(reg, plan, report)
    errors = _heads_left_behind(reg, plan, table.columns)
    if errors:
        raise ImportErrors(errors)
    _report_heads(session, reg, plan, report)
    report.groups_added = list(plan.new_groups)
    report.households_added = len(plan.new_households)
    report.not_in_file = [
        f"{v.name} (household {reg.number_of(v.household_id)})" for v in gone if v.id not in plan.moved_ids
    ]
    if not dry_run:
        with session.begin_nested():
            _apply(
                session,
                village,
                plan,
                reg.households,
                reg.groups,
                plan.listed,
                moved_on=moved_on,
                actor_id=actor_id,
                now=now,
            )
    return report


def _plan_household(
    session: Session, reg: _Registry, plan: _Plan, report: RosterReport, hno: str, rows: list[PersonRow]
) -> None:
    """One household of the file: new, or matched with the registry's (its people updated, added or
    left for the move check), or unmatched (its group or people differ: nothing of it changes)."""
    first = rows[0]
    house = reg.households.get(hno)
    plan.heads[hno] = next(p for p in rows if p.is_head)
    if house is None:
        if first.group not in reg.groups and first.group not in plan.new_groups:
            plan.new_groups.append(first.group)
        plan.new_households[hno] = first
        plan.listed.add(hno)
        plan.new_people.extend((p, hno) for p in rows)
        return
    hgroup = session.get(Group, house.group_id)
    present = reg.members.get(house.id, {})
    head = session.get(Villager, house.head_id) if house.head_id else None
    # The same household if its group agrees and it still has someone the file names.
    same_people = head is None or head.name == first.head_name or any(p.name in present for p in rows)
    if hgroup is None or hgroup.name != first.group or not same_people:
        report.unmatched.append(
            f"rows {rows[0].row}-{rows[-1].row}: household {hno} is "
            f"{hgroup.name if hgroup else '?'}/{head.name if head else '?'} "
            f"in the registry but {first.group}/{first.head_name} in the file"
        )
        for p in rows:
            report.outcomes[p.row] = "unmatched"
        return
    plan.listed.add(hno)
    if first.house_number and first.house_number != house.house_number:
        report.updated.append(f"household {hno}: 门牌号 {house.house_number} → {first.house_number}")
        plan.house_numbers[house.id] = first.house_number
    for p, existing in _pair(rows, present):
        if existing is None:
            plan.new_people.append((p, hno))
            continue
        plan.in_file.add(existing.id)
        plan.person_of_row[p.row] = existing
        changes = {k: val for k, val in _details(p).items() if val is not None and getattr(existing, k) != val}
        if changes:
            report.updated.append(
                f"row {p.row} {p.name}: "
                + ", ".join(f"{k} {getattr(existing, k)} → {val}" for k, val in changes.items())
            )
            report.outcomes[p.row] = "updated"
            plan.updates.append((existing, changes))
        else:
            report.unchanged += 1
            report.outcomes[p.row] = "unchanged"


def _plan_moves(reg: _Registry, plan: _Plan, report: RosterReport) -> list[Villager]:
    """People the file puts in a new place: a move when exactly one registry person fits (same name, sex
    and birth month) and is no longer listed in their old household; the others are new. Returns the
    active people the file does not list where the registry has them."""
    gone = [v for v in reg.villagers if v.id not in plan.in_file and v.status == VillagerStatus.active]
    index: dict[tuple[str, str | None, int | None, int | None], list[Villager]] = defaultdict(list)
    for v in gone:
        index[(v.name, v.sex, v.birth_year, v.birth_month)].append(v)
    still_new: list[tuple[PersonRow, str]] = []
    for p, hno in plan.new_people:
        sex, (year, month) = p.sex, (p.birth or (None, None))
        target = reg.households.get(hno)
        candidates = (
            [
                v
                for v in index.get((p.name, sex, year, month), [])
                if v.id not in plan.moved_ids and (target is None or target.id != v.household_id)
            ]
            if year
            else []
        )
        if len(candidates) == 1:
            v = candidates[0]
            plan.moved_ids.add(v.id)
            plan.moves.append((p, v, hno))
            plan.person_of_row[p.row] = v
            report.moved.append(f"row {p.row} {p.name}: household {reg.number_of(v.household_id)} → {hno}")
            report.outcomes[p.row] = "moved"
        else:
            still_new.append((p, hno))
            report.villagers_added += 1
            report.outcomes[p.row] = "new"
    plan.new_people = still_new
    return gone


def _heads_left_behind(reg: _Registry, plan: _Plan, col: dict[str, str]) -> list[RowError]:
    """A head who moves out leaves a household behind: the file must name its new head."""
    errors = []
    for p, v, _hno in plan.moves:
        source = next((h for h in reg.households.values() if h.id == v.household_id), None)
        if source is None or source.head_id != v.id or source.number in plan.listed:
            continue
        left = [
            m
            for ms in reg.members.get(source.id, {}).values()
            for m in ms
            if m.status == VillagerStatus.active and m.id not in plan.moved_ids
        ]
        if left:
            errors.append(
                RowError(
                    p.row,
                    col.get("name"),
                    p.name,
                    f"{p.name} is the head of household {source.number}, which this file does not list; "
                    f"add household {source.number} with its new head (户主姓名) to the file, "
                    f"or move {p.name} on the registry page",
                    "row.head_leaves",
                    {"name": p.name, "number": source.number},
                )
            )
    return errors


def _report_heads(session: Session, reg: _Registry, plan: _Plan, report: RosterReport) -> None:
    """Heads: the member the file names, for every household it lists."""
    for hno in sorted(plan.listed):
        head_row = plan.heads[hno]
        house = reg.households.get(hno)
        person = plan.person_of_row.get(head_row.row)
        if house is not None and (person is None or person.id != house.head_id):
            old = session.get(Villager, house.head_id) if house.head_id else None
            report.updated.append(f"household {hno}: 户主 {old.name if old else '—'} → {head_row.name}")


def _apply(
    session: Session,
    village: Village,
    plan: _Plan,
    households: dict[str, Household],
    groups: dict[str, Group],
    listed: set[str],
    *,
    moved_on: dt.date,
    actor_id: int | None,
    now: dt.datetime | None,
) -> None:
    for name in plan.new_groups:
        groups[name] = Group(village_id=village.id, name=name, sort_key=group_sort_key(name))
        session.add(groups[name])
    session.flush()
    for hno, first in plan.new_households.items():
        households[hno] = Household(
            village_id=village.id, group_id=groups[first.group].id, number=hno, house_number=first.house_number
        )
        session.add(households[hno])
    for house in households.values():
        if house.id in plan.house_numbers:
            house.house_number = plan.house_numbers[house.id]
    for person, changes in plan.updates:
        for k, val in changes.items():
            setattr(person, k, val)
    session.flush()
    for p, person, hno in plan.moves:
        move_villager(
            session, village, person, households[hno], moved_on, relation=p.relation, recorded_by_id=actor_id, now=now
        )
    for p, hno in plan.new_people:
        person = Villager(village_id=village.id, household_id=households[hno].id, name=p.name, **_details(p))
        session.add(person)
        plan.person_of_row[p.row] = person
    session.flush()
    for hno in listed:
        house = households[hno]
        head = plan.person_of_row[plan.heads[hno].row]
        if house.head_id != head.id:
            set_head(house, head)
    session.flush()
