"""Audit log of staff actions (capture, approve, reject, correction, rule change, import,
user change, period close): who, when, what, and from which address."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base, BigId, UTCDateTime, utcnow
from .registry import StaffUser


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_village_at", "village_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(40))  # e.g. capture, approve, import.scores
    target: Mapped[str | None] = mapped_column(String(120))  # e.g. "submission 12"
    detail: Mapped[str | None] = mapped_column(Text)  # JSON
    ip: Mapped[str | None] = mapped_column(String(64))  # None for the CLI

    actor: Mapped[StaffUser | None] = relationship()


def record(
    session: Session,
    actor: StaffUser | None,
    action: str,
    *,
    village_id: int | None = None,
    target: str | None = None,
    ip: str | None = None,
    **detail: object,
) -> AuditEvent:
    event = AuditEvent(
        village_id=village_id if village_id is not None else (actor.village_id if actor else None),
        actor_id=actor.id if actor else None,
        action=action,
        target=target,
        ip=ip,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
    )
    session.add(event)
    return event
