"""The one authorization policy: who may do what, and where.

Every service (core, staff, admin, reports, villagers, shop) asks :func:`require` before it
acts; views declare the same roles through :func:`roles_for`. Deny by default: an action not
in :data:`ACTIONS` is refused, as is an inactive or missing account.

Scope:

- ``VILLAGE``: a village-bound account acts only in its own village; a county account
  (``village_id IS NULL``) may not act at all.
- ``COUNTY``: reads. A village-bound account reads only its own village; a county account
  reads any village, and only a county account reads county-wide (``village=None``).

The review-refusal check (maker-checker) lives here too: whoever captured an entry never
decides it, and nobody decides or corrects an entry of their own household.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from .errors import Refused
from .registry import Role, StaffUser, Village


class Scope(enum.Enum):
    VILLAGE = "village"
    COUNTY = "county"


@dataclass(frozen=True)
class Permission:
    roles: frozenset[Role]
    scope: Scope
    doing: str  # for the English refusal message: "may not <doing>"


def _p(roles: str, scope: Scope, doing: str) -> Permission:
    return Permission(frozenset(Role(r) for r in roles.split()), scope, doing)


V, C = Scope.VILLAGE, Scope.COUNTY

# action                    roles                                    scope  what it is
ACTIONS: dict[str, Permission] = {
    # capture and review (积分登记, 审核)
    "capture": _p("grid_worker reviewer admin", V, "capture points"),
    "review": _p("reviewer admin", V, "review captures"),
    "correct": _p("reviewer admin", V, "post corrections"),
    "award.propose": _p("admin", V, "propose special awards"),
    # public notice (公示) and objections (异议)
    "notice.publish": _p("reviewer admin", V, "publish a public notice"),
    "notice.read": _p("reviewer admin", V, "manage public notices"),
    "objection.enter": _p("reviewer admin", V, "enter an objection"),
    "objection.resolve": _p("reviewer admin", V, "resolve objections"),
    "period.close": _p("admin", V, "close a month"),
    # village administration (registry, rules, users, activities, audit log, settings, cards)
    "village.admin": _p("admin", V, "administer the village"),
    "card.rotate": _p("admin", V, "issue a new household card"),
    "registry.read": _p("admin viewer", C, "read the registry"),
    # reports
    "reports.read": _p("admin reviewer grid_worker viewer", C, "read reports"),
    # the county pages (villages compared): county accounts; a village-bound viewer is refused by scope
    "reports.county": _p("viewer", C, "compare villages"),
    "reports.export": _p("admin viewer", C, "export data"),
    # every group's names on dashboards and charts (a grid worker sees only their own groups')
    "reports.all_names": _p("admin reviewer viewer", C, "see every group's names"),
    "reports.pack": _p("admin", V, "build the ceremony pack"),
    # 积分超市 desk
    "shop.redeem": _p("clerk admin", V, "redeem points"),
    "shop.stock": _p("clerk admin", V, "record stock"),
    "shop.cancel_same_day": _p("clerk admin", V, "cancel a redemption of today"),
    "shop.cancel": _p("admin", V, "cancel a redemption"),
    "shop.manage": _p("admin", V, "manage the shop"),
}


def roles_for(action: str) -> frozenset[Role]:
    """The roles that may do ``action`` (for menus; views use ``web.auth.permission_required``)."""
    return ACTIONS[action].roles


class _Actor(Protocol):
    id: int
    username: str
    role: Role | str
    active: bool
    village_id: int | None


def allowed(actor: StaffUser | _Actor | None, village: Village | None, action: str) -> bool:
    try:
        require(actor, village, action)
    except Refused:
        return False
    return True


def require(actor: StaffUser | _Actor | None, village: Village | None, action: str) -> Role:
    """Refuse unless ``actor`` may do ``action`` in ``village`` (None: county-wide). Returns the role."""
    perm = ACTIONS.get(action)
    if perm is None:
        raise Refused("not_allowed", f"unknown action {action!r}", action=action)
    if actor is None or not getattr(actor, "active", False):
        raise Refused("not_allowed", f"an active staff account is needed to {perm.doing}", action=action)
    try:
        role = Role(actor.role)
    except ValueError:
        raise Refused("not_allowed", f"unknown role {actor.role!r}", action=action) from None
    if role not in perm.roles:
        raise Refused("not_allowed", f"role {role.value} may not {perm.doing}", action=action)
    if actor.village_id is None:  # a county account
        if perm.scope is not Scope.COUNTY:
            raise Refused("not_allowed", f"a county account may not {perm.doing}", action=action)
        return role
    if village is None:
        raise Refused("not_allowed", f"only county accounts may {perm.doing} across villages", action=action)
    if actor.village_id != village.id:
        raise Refused("not_allowed", f"user {actor.username} does not belong to village {village.name}", action=action)
    return role


# --- maker-checker ------------------------------------------------------------------------

REVIEW_REFUSALS = {
    "maker_checker": "the reviewer must not be the person who captured it",
    "conflict_of_interest": "staff may not decide or correct entries of their own household",
}


def review_refusal(actor: StaffUser | _Actor, *, captured_by_id: int | None, household_id: int | None) -> str | None:
    """Why ``actor`` may not decide (approve, reject, correct) this entry, as a refusal code, or None."""
    if captured_by_id is not None and captured_by_id == actor.id:
        return "maker_checker"
    own = getattr(actor, "own_household_id", None)
    if own is not None and household_id == own:
        return "conflict_of_interest"
    return None


def require_reviewer_of(actor: StaffUser | _Actor, *, captured_by_id: int | None, household_id: int | None) -> None:
    """Raise the review refusal, if any (see :func:`review_refusal`)."""
    code = review_refusal(actor, captured_by_id=captured_by_id, household_id=household_id)
    if code is not None:
        raise Refused(code, REVIEW_REFUSALS[code])
