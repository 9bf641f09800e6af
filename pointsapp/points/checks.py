"""Why a capture line cannot be recorded: the refusal checks of :func:`pointsapp.points.capture.capture`.

:func:`line_refusal` looks at one line, resolved to its rule version and subject, and returns
``(code, message, params)`` or None. It reads nothing from the database itself: the caller
passes what it loaded for the whole call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .bounds import DateBounds, quantity_refusal
from .registry import Household, Role, StaffUser, Villager, VillagerStatus
from .rules import Rule, RuleVersion

Refusal = tuple[str, str, dict[str, object]]
DupKey = tuple[int | None, int | None]  # (rule id, subject): a household as its negative id


@dataclass
class Resolved:
    """A capture line resolved against the village: what it names and under which rule."""

    code: str | None
    day: dt.date | None
    rule: Rule | None
    version: RuleVersion | None
    villager: Villager | None
    household: Household | None
    named_villager: bool  # the line named a villager id (found or not)
    quantity: object

    @property
    def household_rule(self) -> bool:
        return self.version is not None and self.version.is_household

    @property
    def subject_id(self) -> int | None:
        """The id caps and duplicates count against: the household for household rules, else the person."""
        if self.household is None:
            return None
        if self.household_rule:
            return self.household.id
        return self.villager.id if self.villager else None

    @property
    def dup_key(self) -> DupKey:
        rule_id = self.rule.id if self.rule else None
        if self.household_rule and self.household is not None:
            return rule_id, -self.household.id
        return rule_id, self.subject_id


def line_refusal(line: Resolved, actor: StaffUser, *, dates: DateBounds, seen: set[DupKey] | None) -> Refusal | None:
    """The first reason this line cannot be recorded, or None. ``seen``: an activity's recorded subjects."""
    rule, version, villager, household, day = line.rule, line.version, line.villager, line.household, line.day
    role = Role(actor.role)
    if rule is None:
        return "unknown_rule", f"rule {line.code!r} is not in this village's rule book", {"rule": line.code}
    if day is None:
        return "bad_date", "a date is needed", {}
    if household is None or (line.named_villager and villager is None):
        return "unknown_subject", "no such villager or household in this village", {}
    if version is None:
        return (
            "rule_not_in_effect",
            f"rule {rule.code} is not in effect on {day}",
            {"rule": rule.code, "day": day.isoformat()},
        )
    if role.value not in version.logged_by_roles:
        return (
            "role_not_allowed",
            f"rule {rule.code} may be recorded by {', '.join(version.logged_by_roles)}, not by {role.value}",
            {"rule": rule.code},
        )
    if villager is not None and villager.status != VillagerStatus.active:
        status = VillagerStatus(villager.status).value
        return "inactive_villager", f"{villager.name} is not active ({status})", {"name": villager.name}
    if villager is None and not line.household_rule:
        return "needs_person", f"rule {rule.code} is recorded per person; name a villager", {"rule": rule.code}
    if role == Role.grid_worker and household.group_id not in actor.group_ids:
        return "outside_groups", "this household is outside the grid worker's groups", {}
    if actor.own_household_id is not None and household.id == actor.own_household_id:
        return "conflict_of_interest", "staff may not record points for their own household", {}
    # Not after the village's today, not in or before its latest closed month.
    if (refused := dates.refusal(day)) is not None:
        return refused.code, refused.message, refused.params
    # 1 for a per-occasion rule, at most the rule's stated maximum for the others.
    if (
        refused := quantity_refusal(version.quantity_limit, version.per, version.unit, rule.code, line.quantity)
    ) is not None:
        return refused.code, refused.message, {**refused.params, "value": repr(line.quantity)}
    if seen is not None and line.dup_key in seen:
        return "duplicate", "already recorded for this activity", {}
    return None
