"""Villager moves between households: the one place that moves a person and keeps heads right.

Both the admin's registry pages and a roster import call :func:`move_villager` to move someone,
:func:`set_head` to name a household's head and :func:`reassign_head` when a head leaves. A move is recorded as a
:class:`HouseholdMove` and takes effect from its date: :func:`households_on` tells which
household a person belonged to on a given day, so a capture dated before the move credits
the old household.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Refused
from .periods import local_today
from .registry import Household, HouseholdMove, Village, Villager, VillagerStatus


def next_head(household: Household, *, leaving: Villager | None = None) -> Villager | None:
    """Who heads ``household`` once ``leaving`` is gone: the first active member in registry order."""
    for m in household.members:
        if m.status == VillagerStatus.active and (leaving is None or m.id != leaving.id):
            return m
    return None


def set_head(household: Household, villager: Villager) -> None:
    """Make ``villager``, an active member of ``household``, its head."""
    if villager.household_id != household.id or villager.status != VillagerStatus.active:
        raise Refused(
            "bad_head", f"{villager.name} is not an active member of household {household.number}", field="head"
        )
    household.head = villager
    household.head_id = villager.id


def reassign_head(household: Household, *, leaving: Villager | None = None) -> Villager | None:
    """Give ``household`` a new head if its head is leaving or no longer active. Returns the head."""
    current = next((m for m in household.members if m.id == household.head_id), None)
    if (
        current is not None
        and current.status == VillagerStatus.active
        and (leaving is None or current.id != leaving.id)
    ):
        return current
    new = next_head(household, leaving=leaving)
    household.head = new
    household.head_id = new.id if new else None
    return new


def move_villager(
    session: Session,
    village: Village,
    villager: Villager,
    to: Household,
    moved_on: dt.date,
    *,
    relation: str | None = None,
    make_head: bool = False,
    recorded_by_id: int | None = None,
    now: dt.datetime | None = None,
) -> HouseholdMove:
    """Move a person to another household of the same village, from ``moved_on``.

    Past entries stay with the old household. If the person headed the old household, its next
    active member becomes the head (none if nobody is left); the new household gets the person
    as head if asked to or if it has none. The caller checks who may do this.
    """
    if villager.village_id != village.id or to.village_id != village.id:
        raise Refused("not_found", "no such villager or household in this village")
    if villager.status != VillagerStatus.active:
        raise Refused("inactive_villager", f"{villager.name} is not active and cannot be moved")
    if to.id == villager.household_id:
        raise Refused("same_household", f"{villager.name} already belongs to household {to.number}", field="to")
    today = local_today(village.timezone, now)
    if moved_on > today:
        raise Refused(
            "future_date",
            f"the move date {moved_on} is after today ({today})",
            field="moved_on",
            day=moved_on.isoformat(),
            today=today.isoformat(),
        )
    last = session.execute(
        select(HouseholdMove.moved_on)
        .where(HouseholdMove.villager_id == villager.id)
        .order_by(HouseholdMove.moved_on.desc())
        .limit(1)
    ).scalar()
    if last is not None and moved_on < last:
        raise Refused(
            "move_before_last",
            f"{villager.name} last moved on {last}; a later move cannot be dated {moved_on}",
            field="moved_on",
            day=moved_on.isoformat(),
            last=last.isoformat(),
        )
    source = villager.household
    move = HouseholdMove(
        villager_id=villager.id,
        from_household_id=source.id,
        to_household_id=to.id,
        moved_on=moved_on,
        recorded_by_id=recorded_by_id,
    )
    session.add(move)
    if source.head_id == villager.id:
        reassign_head(source, leaving=villager)
    villager.household_id = to.id
    villager.household = to
    villager.relation = (relation or "").strip() or None
    if make_head or to.head_id is None:
        set_head(to, villager)
    session.flush()
    session.expire(source, ["members"])
    session.expire(to, ["members"])
    return move


class Residence:
    """Which household each of some villagers belonged to on a given day, from one query.

    A move counts from its ``moved_on`` date: on an earlier day the person still belonged to
    the household they moved out of.
    """

    def __init__(self, session: Session, villagers: Iterable[Villager]):
        self.current = {v.id: v.household_id for v in villagers}
        self.moves: dict[int, list[tuple[dt.date, int]]] = {}
        if self.current:
            rows = session.execute(
                select(HouseholdMove.villager_id, HouseholdMove.moved_on, HouseholdMove.from_household_id)
                .where(HouseholdMove.villager_id.in_(self.current))
                .order_by(HouseholdMove.villager_id, HouseholdMove.moved_on, HouseholdMove.id)
            ).all()
            for vid, moved_on, from_id in rows:
                self.moves.setdefault(vid, []).append((moved_on, from_id))

    def household_on(self, villager_id: int, day: dt.date) -> int:
        for moved_on, from_id in self.moves.get(villager_id, ()):
            if moved_on > day:  # the earliest move after the day says where they were
                return from_id
        return self.current[villager_id]

    @property
    def households(self) -> set[int]:
        """Every household these people belonged to at some time."""
        return set(self.current.values()) | {f for ms in self.moves.values() for _d, f in ms}
