"""Services of the admin feature. Framework-free: they take a session and domain objects,
check the actor against the policy (``points.policy``, deny by default), write an audit event for every change,
flush, and leave the commit to the caller."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ...points.audit import record
from ...points.registry import StaffUser, Village


def audit(
    session: Session, actor: StaffUser, village: Village, action: str, target: str | None, ip: str | None, **detail
) -> None:
    record(session, actor, action, village_id=village.id, target=target, ip=ip, **detail)


def changes_of(obj: object, new: dict[str, object]) -> dict[str, list[object]]:
    """{field: [old, new]} of the values in ``new`` that differ from ``obj``'s (what the audit log records)."""
    return {k: [getattr(obj, k), v] for k, v in new.items() if getattr(obj, k) != v}


def save_changes(
    session: Session,
    actor: StaffUser,
    village: Village,
    obj: object,
    new: dict[str, object],
    action: str,
    target: str,
    ip: str | None,
    changes: dict[str, list[object]] | None = None,
) -> dict[str, list[object]]:
    """Set ``new`` on ``obj``, flush, and record one audit event with what changed (none when nothing did).
    ``changes``: already worked out with :func:`changes_of` (before checks that depend on them)."""
    changes = changes_of(obj, new) if changes is None else changes
    for k, v in new.items():
        setattr(obj, k, v)
    session.flush()
    if changes:
        audit(session, actor, village, action, target, ip, changes=changes)
    return changes
