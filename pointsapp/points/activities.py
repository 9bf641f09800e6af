"""Activities: one occasion of a rule (today's 清廉党课 in the courtyard), which grid workers
capture attendance against. An activity makes "already recorded" detectable per person."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow
from .registry import Group, StaffUser
from .rules import Rule


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_village_day", "village_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[dt.date] = mapped_column(Date)  # local date
    place: Mapped[str | None] = mapped_column(String(200))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))  # None: whole village
    photo: Mapped[str | None] = mapped_column(String(255))  # path under instance/uploads
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    rule: Mapped[Rule] = relationship()
    group: Mapped[Group | None] = relationship()
    created_by: Mapped[StaffUser] = relationship(foreign_keys=[created_by_id])
    cancelled_by: Mapped[StaffUser | None] = relationship(foreign_keys=[cancelled_by_id])

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None
