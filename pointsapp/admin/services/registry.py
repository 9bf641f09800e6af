"""Registry administration: groups, households and villagers.

Nothing that has ledger entries or submissions is ever deleted; people leave by being marked
moved out or deceased, and a move between households is recorded as a HouseholdMove. Entries
keep the household they were credited to at the time, so a move never changes past balances.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ...points import moves
from ...points.errors import Refused
from ...points.imports.values import normalize_phone
from ...points.periods import village_today
from ...points.registry import (
    Group,
    Household,
    HouseholdMove,
    StaffUser,
    Village,
    Villager,
    VillagerStatus,
)
from ...points.policy import require
from . import audit, changes_of, save_changes

SEXES = ("男", "女")
PER_PAGE = 30


@dataclass
class VillagerData:
    name: str
    sex: str | None = None
    birth_year: int | None = None
    birth_month: int | None = None
    phone: str | None = None
    relation: str | None = None

    def cleaned(self, today: dt.date) -> VillagerData:
        """The checked values; ``today`` is the village's date (no birth year after it)."""
        name = (self.name or "").strip()
        if not name or len(name) > 50:
            raise Refused("bad_name", "a name of 1 to 50 characters is needed", field="name")
        sex = (self.sex or "").strip() or None
        if sex is not None and sex not in SEXES:
            raise Refused("bad_sex", f"sex must be 男 or 女, got {sex!r}", field="sex")
        year, month = self.birth_year, self.birth_month
        if month is not None and year is None:
            raise Refused("bad_birth", "a birth month needs a birth year", field="birth_year")
        if year is not None and not 1900 <= year <= today.year:
            raise Refused("bad_birth", f"birth year {year} is out of range", field="birth_year")
        if month is not None and not 1 <= month <= 12:
            raise Refused("bad_birth", f"birth month {month} is not 1-12", field="birth_month")
        try:
            phone = normalize_phone(self.phone) if self.phone else None
        except ValueError as exc:
            raise Refused("bad_phone", str(exc), field="phone") from None
        relation = (self.relation or "").strip() or None
        if relation is not None and len(relation) > 20:
            raise Refused("bad_relation", "the relation is at most 20 characters", field="relation")
        return VillagerData(name, sex, year, month, phone, relation)


# --- reading ------------------------------------------------------------------------------


@dataclass
class HouseholdRow:
    id: int
    number: str
    house_number: str | None
    group: str
    head_name: str
    members: list[str]
    active: bool


@dataclass
class Page:
    items: list
    total: int
    page: int
    pages: int
    args: dict = field(default_factory=dict)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def groups_of(session: Session, village: Village) -> list[Group]:
    return list(
        session.execute(
            select(Group).where(Group.village_id == village.id).order_by(Group.sort_key, Group.id)
        ).scalars()
    )


def group_counts(session: Session, actor: StaffUser, village: Village) -> list[dict]:
    require(actor, village, "registry.read")
    households = dict(
        session.execute(
            select(Household.group_id, func.count(Household.id))
            .where(Household.village_id == village.id)
            .group_by(Household.group_id)
        ).all()
    )
    people = dict(
        session.execute(
            select(Household.group_id, func.count(Villager.id))
            .join(Villager, Villager.household_id == Household.id)
            .where(Household.village_id == village.id, Villager.status == VillagerStatus.active)
            .group_by(Household.group_id)
        ).all()
    )
    return [
        {
            "id": g.id,
            "name": g.name,
            "sort_key": g.sort_key,
            "households": households.get(g.id, 0),
            "people": people.get(g.id, 0),
        }
        for g in groups_of(session, village)
    ]


def list_households(
    session: Session,
    actor: StaffUser,
    village: Village,
    *,
    group_id: int | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page:
    """Households of the village, by group then 户号; ``q`` matches a member's name or the 户号."""
    require(actor, village, "registry.read")
    stmt = select(Household).join(Group, Group.id == Household.group_id).where(Household.village_id == village.id)
    if group_id is not None:
        stmt = stmt.where(Household.group_id == group_id)
    q = (q or "").strip()
    if q:
        by_name = select(Villager.household_id).where(
            Villager.village_id == village.id, Villager.name.contains(q, autoescape=True)
        )
        stmt = stmt.where(or_(Household.number == q, Household.house_number == q, Household.id.in_(by_name)))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    # 户号 is text; sort numerically where it is a number ("2" before "10").
    rows = session.execute(
        stmt.options(selectinload(Household.members), selectinload(Household.head), selectinload(Household.group))
        .order_by(Group.sort_key, Group.id, func.length(Household.number), Household.number)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).scalars()
    items = [
        HouseholdRow(
            h.id,
            h.number,
            h.house_number,
            h.group.name,
            h.head_name,
            [m.name for m in h.members if m.status == VillagerStatus.active],
            h.active,
        )
        for h in rows
    ]
    return Page(items, total, page, pages)


def moves_of(session: Session, villager: Villager) -> list[dict]:
    rows = session.execute(
        select(HouseholdMove).where(HouseholdMove.villager_id == villager.id).order_by(HouseholdMove.id)
    ).scalars()
    out = []
    for m in rows:
        src, dst = session.get(Household, m.from_household_id), session.get(Household, m.to_household_id)
        out.append(
            {
                "moved_on": m.moved_on,
                "from_number": src.number,
                "from_head": src.head_name,
                "to_number": dst.number,
                "to_head": dst.head_name,
            }
        )
    return out


def find_household(session: Session, village: Village, number: str) -> Household | None:
    return session.execute(
        select(Household).where(Household.village_id == village.id, Household.number == number.strip())
    ).scalar_one_or_none()


# --- groups -------------------------------------------------------------------------------


def save_group(
    session: Session,
    actor: StaffUser,
    village: Village,
    name: str,
    sort_key: int,
    *,
    group: Group | None = None,
    ip: str | None = None,
) -> Group:
    require(actor, village, "village.admin")
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise Refused("bad_name", "a group name of 1 to 50 characters is needed", field="name")
    clash = session.execute(select(Group.id).where(Group.village_id == village.id, Group.name == name)).scalar()
    if clash is not None and (group is None or clash != group.id):
        raise Refused("duplicate_group", f"there is already a group called {name}", field="name")
    if group is None:
        group = Group(village_id=village.id, name=name, sort_key=sort_key)
        session.add(group)
        session.flush()
        audit(session, actor, village, "group.create", f"group {group.id}", ip, name=name)
    else:
        if group.village_id != village.id:
            raise Refused("not_found", "no such group in this village")
        before = {"name": group.name, "sort_key": group.sort_key}
        group.name, group.sort_key = name, sort_key
        session.flush()
        audit(
            session,
            actor,
            village,
            "group.update",
            f"group {group.id}",
            ip,
            before=before,
            after={"name": name, "sort_key": sort_key},
        )
    return group


# --- households ---------------------------------------------------------------------------


def _check_number(session: Session, village: Village, number: str, household: Household | None) -> str:
    number = (number or "").strip()
    if not number or len(number) > 20:
        raise Refused("bad_number", "a household number (户号) of 1 to 20 characters is needed", field="number")
    clash = find_household(session, village, number)
    if clash is not None and (household is None or clash.id != household.id):
        raise Refused(
            "duplicate_number", f"户号 {number} is already used by the household of {clash.head_name}", field="number"
        )
    return number


def create_household(
    session: Session,
    actor: StaffUser,
    village: Village,
    group: Group,
    number: str,
    house_number: str | None,
    *,
    ip: str | None = None,
) -> Household:
    require(actor, village, "village.admin")
    if group.village_id != village.id:
        raise Refused("not_found", "no such group in this village")
    number = _check_number(session, village, number, None)
    h = Household(
        village_id=village.id, group_id=group.id, number=number, house_number=(house_number or "").strip() or None
    )
    session.add(h)
    session.flush()
    audit(session, actor, village, "household.create", f"household {h.id}", ip, number=number, group=group.name)
    return h


def update_household(
    session: Session,
    actor: StaffUser,
    village: Village,
    household: Household,
    *,
    number: str,
    house_number: str | None,
    group: Group,
    head: Villager | None,
    active: bool = True,
    ip: str | None = None,
) -> dict:
    require(actor, village, "village.admin")
    if household.village_id != village.id or group.village_id != village.id:
        raise Refused("not_found", "no such household or group in this village")
    if head is not None and head.household_id != household.id:
        raise Refused("bad_head", f"{head.name} is not a member of this household", field="head")
    number = _check_number(session, village, number, household)
    new = {
        "number": number,
        "house_number": (house_number or "").strip() or None,
        "group_id": group.id,
        "head_id": head.id if head else None,
        "active": bool(active),
    }
    return save_changes(session, actor, village, household, new, "household.update", f"household {household.id}", ip)


# --- villagers ----------------------------------------------------------------------------


def _audit_fields(changes: dict) -> dict:
    """Phone numbers stay out of the audit detail: only the fact that one changed is logged."""
    return {k: (["…", "…"] if k == "phone" else v) for k, v in changes.items()}


def add_villager(
    session: Session,
    actor: StaffUser,
    village: Village,
    household: Household,
    data: VillagerData,
    *,
    make_head: bool = False,
    ip: str | None = None,
) -> Villager:
    require(actor, village, "village.admin")
    if household.village_id != village.id:
        raise Refused("not_found", "no such household in this village")
    d = data.cleaned(village_today(village))
    v = Villager(
        village_id=village.id,
        household_id=household.id,
        name=d.name,
        sex=d.sex,
        birth_year=d.birth_year,
        birth_month=d.birth_month,
        phone=d.phone,
        relation=d.relation,
        status=VillagerStatus.active,
    )
    session.add(v)
    session.flush()
    if make_head or household.head_id is None:
        moves.set_head(household, v)
    session.flush()
    audit(
        session,
        actor,
        village,
        "villager.create",
        f"villager {v.id}",
        ip,
        name=d.name,
        household=household.number,
        head=household.head_id == v.id,
    )
    return v


def update_villager(
    session: Session,
    actor: StaffUser,
    village: Village,
    villager: Villager,
    data: VillagerData,
    *,
    make_head: bool = False,
    ip: str | None = None,
) -> dict:
    require(actor, village, "village.admin")
    if villager.village_id != village.id:
        raise Refused("not_found", "no such villager in this village")
    d = data.cleaned(village_today(village))
    new = {
        "name": d.name,
        "sex": d.sex,
        "birth_year": d.birth_year,
        "birth_month": d.birth_month,
        "phone": d.phone,
        "relation": d.relation,
    }
    changes = changes_of(villager, new)
    for k, v in new.items():
        setattr(villager, k, v)
    household = villager.household
    if make_head and household.head_id != villager.id:
        changes["head_of"] = [household.head_id, villager.id]
        moves.set_head(household, villager)
    session.flush()
    if changes:
        audit(session, actor, village, "villager.update", f"villager {villager.id}", ip, changes=_audit_fields(changes))
    return changes


def set_status(
    session: Session, actor: StaffUser, village: Village, villager: Villager, status: str, *, ip: str | None = None
) -> None:
    require(actor, village, "village.admin")
    if villager.village_id != village.id:
        raise Refused("not_found", "no such villager in this village")
    try:
        new = VillagerStatus(status)
    except ValueError:
        raise Refused("bad_status", f"unknown status {status!r}") from None
    old = VillagerStatus(villager.status)
    if old == new:
        return
    villager.status = new
    if new != VillagerStatus.active and villager.household.head_id == villager.id:
        moves.reassign_head(villager.household, leaving=villager)
    session.flush()
    audit(
        session,
        actor,
        village,
        "villager.status",
        f"villager {villager.id}",
        ip,
        name=villager.name,
        before=old.value,
        after=new.value,
    )


def move_villager(
    session: Session,
    actor: StaffUser,
    village: Village,
    villager: Villager,
    to: Household,
    moved_on: dt.date,
    *,
    relation: str | None = None,
    make_head: bool = False,
    ip: str | None = None,
) -> HouseholdMove:
    """Move a person to another household. Past entries stay with the old household."""
    require(actor, village, "village.admin")
    source = villager.household
    move = moves.move_villager(
        session, village, villager, to, moved_on, relation=relation, make_head=make_head, recorded_by_id=actor.id
    )
    audit(
        session,
        actor,
        village,
        "villager.move",
        f"villager {villager.id}",
        ip,
        name=villager.name,
        from_household=source.number,
        to_household=to.number,
        moved_on=moved_on,
    )
    return move
