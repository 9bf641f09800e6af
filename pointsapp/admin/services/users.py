"""Staff accounts: create, change role and groups, reset a password, deactivate (never delete).

No default passwords: a new account and a reset both get a random one-time password that the
admin hands over once; the user must change it at the next sign-in.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...points.errors import Refused
from ...points.registry import Group, Role, StaffUser, Village, Villager
from ...points.policy import require
from . import audit

# No look-alikes (0/O, 1/l/I) so the password can be read aloud or copied from paper.
ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")


def one_time_password(length: int = 12) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def users_of(session: Session, actor: StaffUser, village: Village) -> list[StaffUser]:
    require(actor, village, "village.admin")
    return list(
        session.execute(
            select(StaffUser)
            .where(StaffUser.village_id == village.id)
            .order_by(StaffUser.active.desc(), StaffUser.role, StaffUser.username)
        ).scalars()
    )


def _check_groups(village: Village, role: Role, groups: list[Group]) -> list[Group]:
    if any(g.village_id != village.id for g in groups):
        raise Refused("not_found", "no such group in this village", field="groups")
    if role == Role.grid_worker and not groups:
        raise Refused("needs_groups", "a grid worker needs at least one group", field="groups")
    return groups if role == Role.grid_worker else []


def _check_villager(village: Village, villager: Villager | None) -> Villager | None:
    if villager is not None and villager.village_id != village.id:
        raise Refused("not_found", "no such villager in this village", field="villager")
    return villager


def create_user(
    session: Session,
    actor: StaffUser,
    village: Village,
    *,
    username: str,
    display_name: str | None,
    role: Role | str,
    groups: list[Group],
    villager: Villager | None = None,
    ip: str | None = None,
) -> tuple[StaffUser, str]:
    """Create an account; returns it with its one-time password (shown once, never stored in clear)."""
    require(actor, village, "village.admin")
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise Refused(
            "bad_username", "a user name needs 3 to 64 letters, digits, dots, dashes or underscores", field="username"
        )
    if session.execute(select(StaffUser.id).where(StaffUser.username == username)).first() is not None:
        raise Refused("duplicate_username", f"the user name {username} is taken", field="username")
    role = Role(role)
    groups = _check_groups(village, role, groups)
    user = StaffUser(
        username=username,
        display_name=(display_name or "").strip() or None,
        role=role,
        village_id=village.id,
        villager=_check_villager(village, villager),
        must_change_password=True,
        active=True,
    )
    password = one_time_password()
    user.set_one_time_password(password)
    user.groups = list(groups)
    session.add(user)
    session.flush()
    audit(
        session,
        actor,
        village,
        "user.create",
        f"user {user.id}",
        ip,
        username=username,
        role=role.value,
        groups=[g.name for g in groups],
        villager_id=user.villager_id,
    )
    return user, password


def _own(village: Village, user: StaffUser) -> None:
    if user.village_id != village.id:
        raise Refused("not_found", "no such user in this village")


def update_user(
    session: Session,
    actor: StaffUser,
    village: Village,
    user: StaffUser,
    *,
    display_name: str | None,
    role: Role | str,
    groups: list[Group],
    villager: Villager | None = None,
    ip: str | None = None,
) -> dict:
    require(actor, village, "village.admin")
    _own(village, user)
    role = Role(role)
    if user.id == actor.id and role != Role.admin:
        raise Refused(
            "self_demote", "you cannot take the admin role away from yourself; ask another admin", field="role"
        )
    groups = _check_groups(village, role, groups)
    villager = _check_villager(village, villager)
    before = {
        "display_name": user.display_name,
        "role": Role(user.role).value,
        "groups": [g.name for g in user.groups],
        "villager_id": user.villager_id,
    }
    user.display_name = (display_name or "").strip() or None
    user.role = role
    user.groups = list(groups)
    user.villager = villager
    session.flush()
    after = {
        "display_name": user.display_name,
        "role": role.value,
        "groups": [g.name for g in groups],
        "villager_id": user.villager_id,
    }
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        audit(session, actor, village, "user.update", f"user {user.id}", ip, username=user.username, changes=changes)
    return changes


def reset_password(
    session: Session, actor: StaffUser, village: Village, user: StaffUser, *, ip: str | None = None
) -> str:
    require(actor, village, "village.admin")
    _own(village, user)
    password = one_time_password()
    user.set_one_time_password(password)  # also ends the user's sessions everywhere
    session.flush()
    audit(session, actor, village, "user.reset_password", f"user {user.id}", ip, username=user.username)
    return password


def set_active(
    session: Session, actor: StaffUser, village: Village, user: StaffUser, active: bool, *, ip: str | None = None
) -> None:
    require(actor, village, "village.admin")
    _own(village, user)
    if user.id == actor.id and not active:
        raise Refused("self_deactivate", "you cannot deactivate your own account; ask another admin")
    if user.active == active:
        return
    user.active = active
    user.end_sessions()
    session.flush()
    audit(
        session,
        actor,
        village,
        "user.activate" if active else "user.deactivate",
        f"user {user.id}",
        ip,
        username=user.username,
    )
