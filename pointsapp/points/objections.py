"""Villagers' objections (异议) to entries under public notice, and missing-entry reports (漏记).

While a notice's window is open, anyone in a listed household may object to one of its entries; staff
resolve an objection by upholding the entry (with a reason) or by posting a correction linked to it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Text, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base, UTCDateTime, lock_row, str_enum, utcnow
from .errors import Refused
from .ledger import LedgerEntry, lock_village
from .notice import Notice, NoticeEntry, notice_of_entry
from .periods import local_midnight_utc, local_today, parse_month, zone_of
from .policy import require, require_reviewer_of
from .registry import Household, StaffUser, Village
from .review import correct

OBJECTIONS_PER_HOUSEHOLD_PER_DAY = 3


class ObjectionStatus(enum.StrEnum):
    open = "open"
    upheld = "upheld"  # the entry stands; reason given
    corrected = "corrected"  # a correction entry was posted


class Objection(Base):
    __tablename__ = "objections"
    __table_args__ = (
        Index("ix_objections_village_status", "village_id", "status"),
        CheckConstraint("status IN ('open', 'upheld', 'corrected')", name="status"),
        # At most one open objection per entry.
        Index(
            "uq_objections_open_entry",
            "entry_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    # None: a missing entry (漏记): the household says something it did is not on its card
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    missing_on: Mapped[dt.date | None] = mapped_column(Date)  # for a missing entry: the day, if known
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    raised_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))  # at the counter
    status: Mapped[ObjectionStatus] = mapped_column(str_enum(ObjectionStatus), default=ObjectionStatus.open)
    answer: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    entry: Mapped[LedgerEntry | None] = relationship(foreign_keys=[entry_id])
    correction: Mapped[LedgerEntry | None] = relationship(foreign_keys=[correction_id])
    household: Mapped[Household] = relationship()
    resolved_by: Mapped[StaffUser | None] = relationship(foreign_keys=[resolved_by_id])


def _objection_start(
    session: Session,
    village_id: int,
    reason: str,
    missing_reason: str,
    staff: StaffUser | None,
    now: dt.datetime | None,
) -> tuple[str, Village, dt.datetime, dt.date]:
    """What objections and missing-entry reports check first: a reason of at most 500 characters, and staff
    entering one at the counter may do so. Returns (reason, village, now, the village's today)."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("reason_required", f"please say briefly what is {missing_reason}")
    if len(reason) > 500:
        raise Refused("reason_too_long", "please keep the reason under 500 characters")
    village = session.get_one(Village, village_id)
    if staff is not None:
        require(staff, village, "objection.enter")
    now = now or utcnow()
    return reason, village, now, local_today(village.timezone, now)


def raise_objection(
    session: Session,
    entry: LedgerEntry,
    household: Household,
    reason: str,
    *,
    staff: StaffUser | None = None,
    now: dt.datetime | None = None,
) -> Objection:
    """A household objects to one of its own entries while the notice listing it is open."""
    reason, village, now, today = _objection_start(session, entry.village_id, reason, "wrong", staff, now)
    if entry.household_id != household.id:
        raise Refused("not_your_entry", "a household can object only to its own entries")
    notice = notice_of_entry(session, entry)
    if notice is None or not notice.is_open(today):
        raise Refused("notice_closed", "this entry is not under public notice now")
    if staff is None:
        _check_daily_limit(session, household, village, today)
    if session.execute(
        select(Objection.id).where(Objection.entry_id == entry.id, Objection.status == ObjectionStatus.open)
    ).first():
        raise Refused("already_objected", "an objection to this entry is already open")
    obj = Objection(
        village_id=village.id,
        entry_id=entry.id,
        household_id=household.id,
        reason=reason,
        raised_at=now,
        raised_by_staff_id=staff.id if staff else None,
    )
    session.add(obj)
    session.flush()
    return obj


def _check_daily_limit(session: Session, household: Household, village: Village, today: dt.date) -> None:
    """A household raises at most OBJECTIONS_PER_HOUSEHOLD_PER_DAY objections per local day."""
    day_start = local_midnight_utc(today, zone_of(village))
    count = session.execute(
        select(func.count())
        .select_from(Objection)
        .where(Objection.household_id == household.id, Objection.raised_at >= day_start)
    ).scalar_one()
    if count >= OBJECTIONS_PER_HOUSEHOLD_PER_DAY:
        raise Refused(
            "too_many_objections", f"at most {OBJECTIONS_PER_HOUSEHOLD_PER_DAY} objections per household per day"
        )


MISSING_LOOKBACK_DAYS = 92  # a missing entry can be reported for about the last three months


def report_missing_entry(
    session: Session,
    household: Household,
    reason: str,
    *,
    missing_on: dt.date | None = None,
    staff: StaffUser | None = None,
    now: dt.datetime | None = None,
) -> Objection:
    """ "漏记了？": a household says something it did is not on its card. An objection that
    names no entry; staff answer it (and record the entry through capture if it is right).
    The same per-household daily limit as objections applies."""
    reason, village, now, today = _objection_start(session, household.village_id, reason, "missing", staff, now)
    if missing_on is not None and not (today - dt.timedelta(days=MISSING_LOOKBACK_DAYS) <= missing_on <= today):
        raise Refused(
            "bad_missing_date",
            f"the day must be within the last {MISSING_LOOKBACK_DAYS} days",
            days=MISSING_LOOKBACK_DAYS,
        )
    if staff is None:
        _check_daily_limit(session, household, village, today)
    obj = Objection(
        village_id=village.id,
        entry_id=None,
        missing_on=missing_on,
        household_id=household.id,
        reason=reason,
        raised_at=now,
        raised_by_staff_id=staff.id if staff else None,
    )
    session.add(obj)
    session.flush()
    return obj


def resolve_objection(
    session: Session,
    objection: Objection,
    actor: StaffUser,
    answer: str,
    *,
    correct_entry: bool,
    now: dt.datetime | None = None,
) -> Objection:
    """Uphold the entry with a reason, or post a correction linked to it.

    Checked like review: the village is locked and the objection re-read under the lock, so of
    two reviewers resolving one objection at once exactly one wins; nobody answers an objection
    about their own household.
    """
    village = session.get_one(Village, objection.village_id)
    require(actor, village, "objection.resolve")
    answer = (answer or "").strip()
    if not answer:
        raise Refused("reason_required", "an answer to the villager is required")
    village = lock_village(session, village)
    objection = lock_row(session, Objection, objection.id)
    session.refresh(objection, ["status"])
    if ObjectionStatus(objection.status) != ObjectionStatus.open:
        raise Refused("not_open", f"objection {objection.id} is already resolved")
    target = objection.entry
    if correct_entry and target is None:
        raise Refused(
            "no_entry_to_correct",
            "a missing-entry report names no entry: record the entry through capture, then answer",
        )
    # Like review: nobody answers an objection about their own household (uphold or correct).
    require_reviewer_of(actor, captured_by_id=None, household_id=objection.household_id)
    now = now or utcnow()
    if correct_entry and target is not None:
        entry = correct(session, target, actor, f"异议更正: {answer}", now=now)
        objection.correction_id = entry.id
        objection.status = ObjectionStatus.corrected
    else:
        objection.status = ObjectionStatus.upheld
    objection.answer, objection.resolved_at, objection.resolved_by_id = answer, now, actor.id
    session.flush()
    return objection


def open_objections(session: Session, village: Village) -> list[Objection]:
    return list(
        session.execute(
            select(Objection)
            .where(Objection.village_id == village.id, Objection.status == ObjectionStatus.open)
            .order_by(Objection.raised_at)
        ).scalars()
    )


def open_objections_of_month(session: Session, village: Village, month: str) -> list[Objection]:
    """Open objections on entries the month's notices list, or dated in the month."""
    p = parse_month(month)
    listed = (
        select(NoticeEntry.seq)
        .join(Notice, Notice.id == NoticeEntry.notice_id)
        .where(Notice.village_id == village.id, Notice.month == p.key)
    )
    return list(
        session.execute(
            select(Objection)
            .join(LedgerEntry, LedgerEntry.id == Objection.entry_id)
            .where(
                Objection.village_id == village.id,
                Objection.status == ObjectionStatus.open,
                LedgerEntry.seq.in_(listed) | LedgerEntry.occurred_on.between(p.start, p.end),
            )
            .order_by(Objection.raised_at)
        ).scalars()
    )


__all__ = [
    "Objection",
    "ObjectionStatus",
    "open_objections",
    "open_objections_of_month",
    "raise_objection",
    "report_missing_entry",
    "resolve_objection",
]
