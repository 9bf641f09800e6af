"""Services of the admin feature. Framework-free: they take a session and domain objects,
check the actor themselves (deny by default), write an audit event for every change,
flush, and leave the commit to the caller."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ...points.audit import record
from ...points.errors import Refused
from ...points.registry import Role, StaffUser, Village


def require_admin(actor: StaffUser | None, village: Village) -> None:
    """Only an active admin of this very village may change it."""
    if actor is None or not getattr(actor, "active", False):
        raise Refused("not_allowed", "an active staff account is needed")
    if Role(actor.role) != Role.admin:
        raise Refused("not_allowed", f"role {Role(actor.role).value} may not administer the village")
    if actor.village_id != village.id:
        raise Refused("not_allowed", f"user {actor.username} does not belong to village {village.name}")


def require_reader(actor: StaffUser | None, village: Village) -> None:
    """Admins of the village, and viewers (county-wide, or of this village), may read lists."""
    if actor is None or not getattr(actor, "active", False):
        raise Refused("not_allowed", "an active staff account is needed")
    role = Role(actor.role)
    if role == Role.admin and actor.village_id == village.id:
        return
    if role == Role.viewer and actor.village_id in (None, village.id):
        return
    raise Refused("not_allowed", f"role {role.value} may not read the registry of {village.name}")


def audit(session: Session, actor: StaffUser, village: Village, action: str, target: str | None,
          ip: str | None, **detail) -> None:
    record(session, actor, action, village_id=village.id, target=target, ip=ip, **detail)
