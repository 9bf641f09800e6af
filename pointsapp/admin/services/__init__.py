"""Services of the admin feature. Framework-free: they take a session and domain objects,
check the actor against the policy (``points.policy``, deny by default), write an audit event for every change,
flush, and leave the commit to the caller."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ...points.audit import record
from ...points.registry import StaffUser, Village


def audit(session: Session, actor: StaffUser, village: Village, action: str, target: str | None,
          ip: str | None, **detail) -> None:
    record(session, actor, action, village_id=village.id, target=target, ip=ip, **detail)
