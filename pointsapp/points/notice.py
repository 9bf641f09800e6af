"""公示 (public notice) of a month's posted entries, and villagers' objections (异议).

A reviewer publishes a month for public notice with an objection window. While the window
is open, anyone in a household may object to one of its entries; staff resolve an objection
by upholding the entry (with a reason) or by posting a correction linked to it.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow
from .errors import Refused
from .ledger import LedgerEntry, lock_village, month_digest
from .periods import local_today, parse_month
from .policy import require
from .registry import Household, StaffUser, Village
from .review import correct

OBJECTIONS_PER_HOUSEHOLD_PER_DAY = 3


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("village_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    month: Mapped[str] = mapped_column(String(7))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)      # last day objections are accepted
    digest_seq: Mapped[int] = mapped_column(Integer)      # chain head when published
    digest: Mapped[str] = mapped_column(String(64))

    published_by: Mapped[StaffUser] = relationship()

    def is_open(self, today: dt.date) -> bool:
        return self.opens_on <= today <= self.closes_on


class ObjectionStatus(str, enum.Enum):
    open = "open"
    upheld = "upheld"        # the entry stands; reason given
    corrected = "corrected"  # a correction entry was posted


class Objection(Base):
    __tablename__ = "objections"
    __table_args__ = (Index("ix_objections_village_status", "village_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    raised_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))  # at the counter
    status: Mapped[ObjectionStatus] = mapped_column(String(16), default=ObjectionStatus.open)
    answer: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    entry: Mapped[LedgerEntry] = relationship(foreign_keys=[entry_id])
    correction: Mapped[LedgerEntry | None] = relationship(foreign_keys=[correction_id])
    household: Mapped[Household] = relationship()
    resolved_by: Mapped[StaffUser | None] = relationship(foreign_keys=[resolved_by_id])


def notice_for(session: Session, village: Village, month: str) -> Notice | None:
    return session.execute(select(Notice).where(Notice.village_id == village.id, Notice.month == month)).scalar_one_or_none()


def current_notice(session: Session, village: Village) -> Notice | None:
    """The most recently published notice of the village."""
    return session.execute(select(Notice).where(Notice.village_id == village.id)
                           .order_by(Notice.month.desc()).limit(1)).scalar_one_or_none()


def notice_entries(session: Session, village: Village, month: str) -> list[LedgerEntry]:
    """The month's posted entries (by the local date they happened), in chain order."""
    p = parse_month(month)
    return list(session.execute(select(LedgerEntry).where(
        LedgerEntry.village_id == village.id, LedgerEntry.occurred_on.between(p.start, p.end))
        .order_by(LedgerEntry.seq)).scalars())


def publish_notice(session: Session, village: Village, month: str, actor: StaffUser, *,
                   days: int | None = None, now: dt.datetime | None = None) -> Notice:
    """Publish a month's posted entries for public notice, with an objection window."""
    require(actor, village, "notice.publish")
    p = parse_month(month)
    now = now or utcnow()
    village = lock_village(session, village)
    days = village.notice_days if days is None else days
    if days < 1 or days > 60:
        raise Refused("bad_window", f"the objection window must be 1-60 days, got {days}")
    if notice_for(session, village, p.key) is not None:
        raise Refused("already_published", f"{p.key} has already been published for public notice")
    today = local_today(village.timezone, now)
    head = (village.ledger_seq, village.ledger_head)
    notice = Notice(village_id=village.id, month=p.key, published_at=now, published_by_id=actor.id,
                    opens_on=today, closes_on=today + dt.timedelta(days=days - 1),
                    digest_seq=head[0], digest=head[1])
    session.add(notice)
    session.flush()
    return notice


def entry_notice(session: Session, entry: LedgerEntry) -> Notice | None:
    village = session.get(Village, entry.village_id)
    return notice_for(session, village, f"{entry.occurred_on:%Y-%m}")


def raise_objection(session: Session, entry: LedgerEntry, household: Household, reason: str, *,
                    staff: StaffUser | None = None, now: dt.datetime | None = None) -> Objection:
    """A household objects to one of its own entries while the entry's notice is open."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("reason_required", "please say briefly what is wrong")
    if len(reason) > 500:
        raise Refused("reason_too_long", "please keep the reason under 500 characters")
    if entry.household_id != household.id:
        raise Refused("not_your_entry", "a household can object only to its own entries")
    village = session.get(Village, entry.village_id)
    if staff is not None:
        require(staff, village, "objection.enter")
    now = now or utcnow()
    today = local_today(village.timezone, now)
    notice = entry_notice(session, entry)
    if notice is None or not notice.is_open(today):
        raise Refused("notice_closed", "this entry is not under public notice now")
    day_start = dt.datetime.combine(today, dt.time(0), tzinfo=dt.timezone.utc) - dt.timedelta(hours=8)
    count = session.execute(select(func.count()).select_from(Objection).where(
        Objection.household_id == household.id, Objection.raised_at >= day_start)).scalar_one()
    if staff is None and count >= OBJECTIONS_PER_HOUSEHOLD_PER_DAY:
        raise Refused("too_many_objections",
                      f"at most {OBJECTIONS_PER_HOUSEHOLD_PER_DAY} objections per household per day")
    if session.execute(select(Objection.id).where(Objection.entry_id == entry.id,
                                                  Objection.status == ObjectionStatus.open)).first():
        raise Refused("already_objected", "an objection to this entry is already open")
    obj = Objection(village_id=village.id, entry_id=entry.id, household_id=household.id, reason=reason,
                    raised_at=now, raised_by_staff_id=staff.id if staff else None)
    session.add(obj)
    session.flush()
    return obj


def resolve_objection(session: Session, objection: Objection, actor: StaffUser, answer: str, *,
                      correct_entry: bool, now: dt.datetime | None = None) -> Objection:
    """Uphold the entry with a reason, or post a correction linked to it."""
    village = session.get(Village, objection.village_id)
    require(actor, village, "objection.resolve")
    answer = (answer or "").strip()
    if not answer:
        raise Refused("reason_required", "an answer to the villager is required")
    if ObjectionStatus(objection.status) != ObjectionStatus.open:
        raise Refused("not_open", f"objection {objection.id} is already resolved")
    now = now or utcnow()
    if correct_entry:
        entry = correct(session, objection.entry, actor, f"异议更正: {answer}", now=now)
        objection.correction_id = entry.id
        objection.status = ObjectionStatus.corrected
    else:
        objection.status = ObjectionStatus.upheld
    objection.answer, objection.resolved_at, objection.resolved_by_id = answer, now, actor.id
    session.flush()
    return objection


def open_objections(session: Session, village: Village) -> list[Objection]:
    return list(session.execute(select(Objection).where(
        Objection.village_id == village.id, Objection.status == ObjectionStatus.open)
        .order_by(Objection.raised_at)).scalars())


__all__ = ["Notice", "Objection", "ObjectionStatus", "publish_notice", "raise_objection",
           "resolve_objection", "notice_entries", "notice_for", "current_notice", "open_objections",
           "month_digest"]
