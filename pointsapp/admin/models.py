"""Admin feature tables. ``ActivityCancellation`` marks an activity as cancelled (the core's
Activity has no status column yet; see the admin report)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..points.db import Base, UTCDateTime, utcnow


class ActivityCancellation(Base):
    __tablename__ = "activity_cancellations"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), unique=True)
    cancelled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    reason: Mapped[str] = mapped_column(Text)
