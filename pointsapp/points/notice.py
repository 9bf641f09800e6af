"""公示 (public notice) of a month's posted entries.

A month goes open → published → closed (see :mod:`.lifecycle`). Publishing a finished month
freezes a :class:`Notice`: it records exactly which entries it lists (:class:`NoticeEntry`)
and a digest over those entries and the chain head at that moment (:func:`notice_digest`).
Entries of the month posted after that (late approvals, corrections of its entries) are not
added to it: publishing the month again gives a supplementary notice (补充公示) that lists
exactly them, with its own window and digest.

Objections to listed entries live in :mod:`.objections`.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable
from typing import Any
from dataclasses import dataclass

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Select,
    String,
    UniqueConstraint,
    and_,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from .db import Base, UTCDateTime, str_enum, utcnow
from .errors import Refused
from .ledger import ClosedPeriod, EntryKind, LedgerEntry, lock_village
from .periods import local_today, month_key, parse_month
from .policy import require
from .registry import Household, StaffUser, Village

MAX_NOTICE_DAYS = 30


class NoticeKind(enum.StrEnum):
    main = "main"  # the month's first notice
    supplement = "supplement"  # 补充公示: entries of the month posted after the notices before it


# The one definition of a notice's digest. Version tag, then one line per listed entry.
NOTICE_DIGEST_VERSION = "pointsapp-notice-digest-v1"


def notice_digest(
    village_id: int, month: str, number: int, head_seq: int, head_hash: str, entries: Iterable[tuple[int, str]]
) -> str:
    """sha256 over the notice's identity, the chain head when it was published, and each
    listed entry's seq and chain hash in seq order.

    An entry's chain hash already covers its content and every entry before it, so this
    digest changes if a listed entry is edited, one is added to or dropped from the list, or
    the chain up to the head is rewritten.
    """
    h = hashlib.sha256(f"{NOTICE_DIGEST_VERSION}|{village_id}|{month}|{number}|{head_seq}|{head_hash}\n".encode())
    for seq, entry_hash in entries:
        h.update(f"{seq}:{entry_hash}\n".encode())
    return h.hexdigest()


class Notice(Base):
    """One published 公示 of a month: the first (main) one, or a supplement. Never changed."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("village_id", "month", "number"),
        CheckConstraint("kind IN ('main', 'supplement')", name="kind"),
        CheckConstraint("(kind = 'main') = (number = 1)", name="number"),
        CheckConstraint("window_days >= 0", name="window_days"),
        CheckConstraint("head_seq >= 0", name="head_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    month: Mapped[str] = mapped_column(String(7))
    number: Mapped[int] = mapped_column(Integer, default=1)  # 1 = main, 2.. = supplements
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind), default=NoticeKind.main)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)  # last day objections are accepted
    window_days: Mapped[int] = mapped_column(Integer, default=7)
    head_seq: Mapped[int] = mapped_column(Integer)  # chain head when published
    head_hash: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str] = mapped_column(String(64))  # notice_digest(...)

    published_by: Mapped[StaffUser] = relationship()

    def is_open(self, today: dt.date) -> bool:
        return self.opens_on <= today <= self.closes_on

    def window_over(self, today: dt.date) -> bool:
        return today > self.closes_on

    @property
    def is_supplement(self) -> bool:
        return self.kind == NoticeKind.supplement.value


class NoticeEntry(Base):
    """An entry listed by a notice, by its place in the chain. Each entry is listed once."""

    __tablename__ = "notice_entries"
    __table_args__ = (UniqueConstraint("village_id", "seq"),)

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))


# --- reading notices -------------------------------------------------------------------------


def notices_of_month(session: Session, village: Village, month: str) -> list[Notice]:
    """The month's notices, main first."""
    return list(
        session.execute(
            select(Notice).where(Notice.village_id == village.id, Notice.month == month).order_by(Notice.number)
        ).scalars()
    )


def notice_for(session: Session, village: Village, month: str) -> Notice | None:
    """The month's main notice (the first one published), if any."""
    return session.execute(
        select(Notice).where(Notice.village_id == village.id, Notice.month == month, Notice.number == 1)
    ).scalar_one_or_none()


def latest_notice(session: Session, village: Village, month: str) -> Notice | None:
    return session.execute(
        select(Notice)
        .where(Notice.village_id == village.id, Notice.month == month)
        .order_by(Notice.number.desc())
        .limit(1)
    ).scalar_one_or_none()


def open_and_past_notices(
    session: Session, village: Village, today: dt.date, *, limit: int, offset: int = 0
) -> tuple[list[Notice], list[Notice]]:
    """(every notice whose objection window is open today, ``limit`` notices from ``offset`` of those whose
    window is over), each newest first, in one statement."""
    over = Notice.closes_on < today
    ranked = (
        select(
            Notice,
            over.label("over"),
            func.row_number()
            .over(partition_by=over, order_by=(Notice.published_at.desc(), Notice.id.desc()))
            .label("rn"),
        )
        .where(Notice.village_id == village.id, or_(over, Notice.opens_on <= today))
        .subquery()
    )
    notice = aliased(Notice, ranked)
    rows = session.execute(
        select(notice, ranked.c.over)
        .where(or_(ranked.c.over.is_(False), ranked.c.rn.between(offset + 1, offset + limit)))
        .order_by(ranked.c.published_at.desc(), ranked.c.id.desc())
    ).all()
    return [n for n, past in rows if not past], [n for n, past in rows if past]


def village_notices(session: Session, village: Village, *, limit: int | None = None, offset: int = 0) -> list[Notice]:
    """All the village's notices, newest first."""
    q = (
        select(Notice)
        .where(Notice.village_id == village.id)
        .order_by(Notice.published_at.desc(), Notice.id.desc())
        .offset(offset)
    )
    if limit is not None:
        q = q.limit(limit)
    return list(session.execute(q).scalars())


def current_notice(session: Session, village: Village) -> Notice | None:
    """The most recently published notice of the village."""
    found = village_notices(session, village, limit=1)
    return found[0] if found else None


def listed_entries_query(notice: Notice) -> Select[LedgerEntry]:
    """A select of the notice's listed entries, in chain order."""
    return (
        select(LedgerEntry)
        .join(NoticeEntry, and_(NoticeEntry.village_id == LedgerEntry.village_id, NoticeEntry.seq == LedgerEntry.seq))
        .where(NoticeEntry.notice_id == notice.id)
        .order_by(LedgerEntry.seq)
    )


def listed_entries(session: Session, notice: Notice) -> list[LedgerEntry]:
    return list(session.execute(listed_entries_query(notice)).scalars())


def listed_seqs(session: Session, notice: Notice) -> list[int]:
    return list(
        session.execute(
            select(NoticeEntry.seq).where(NoticeEntry.notice_id == notice.id).order_by(NoticeEntry.seq)
        ).scalars()
    )


def notice_entries(session: Session, village: Village, month: str) -> list[LedgerEntry]:
    """Every entry listed by the month's notices (main and supplements), in chain order."""
    return list(
        session.execute(
            select(LedgerEntry)
            .join(
                NoticeEntry, and_(NoticeEntry.village_id == LedgerEntry.village_id, NoticeEntry.seq == LedgerEntry.seq)
            )
            .join(Notice, Notice.id == NoticeEntry.notice_id)
            .where(Notice.village_id == village.id, Notice.month == month)
            .order_by(LedgerEntry.seq)
        ).scalars()
    )


def recompute_digest(session: Session, notice: Notice) -> str:
    """The notice's digest recomputed from its stored list and the chain as it is now."""
    listed = session.execute(
        select(NoticeEntry.seq, LedgerEntry.hash)
        .outerjoin(
            LedgerEntry, and_(LedgerEntry.village_id == NoticeEntry.village_id, LedgerEntry.seq == NoticeEntry.seq)
        )
        .where(NoticeEntry.notice_id == notice.id)
        .order_by(NoticeEntry.seq)
    ).all()
    return notice_digest(
        notice.village_id,
        notice.month,
        notice.number,
        notice.head_seq,
        notice.head_hash,
        ((seq, h or "") for seq, h in listed),
    )


def notices_of_household(session: Session, household: Household, *, limit: int = 12) -> list[Notice]:
    """The notices that list an entry of the household, newest first."""
    ids = (
        select(NoticeEntry.notice_id)
        .join(LedgerEntry, and_(LedgerEntry.village_id == NoticeEntry.village_id, LedgerEntry.seq == NoticeEntry.seq))
        .where(LedgerEntry.household_id == household.id)
        .distinct()
    )
    return list(
        session.execute(
            select(Notice).where(Notice.id.in_(ids)).order_by(Notice.published_at.desc(), Notice.id.desc()).limit(limit)
        ).scalars()
    )


def notice_of_entry(session: Session, entry: LedgerEntry) -> Notice | None:
    """The notice that lists the entry, if it has been published."""
    return session.execute(
        select(Notice)
        .join(NoticeEntry, NoticeEntry.notice_id == Notice.id)
        .where(NoticeEntry.village_id == entry.village_id, NoticeEntry.seq == entry.seq)
    ).scalar_one_or_none()


def notices_of_entries(session: Session, entries: list[LedgerEntry]) -> dict[int, Notice]:
    """entry id -> the notice listing it, for the entries that are listed."""
    if not entries:
        return {}
    village_id = entries[0].village_id
    by_seq = {e.seq: e.id for e in entries}
    out: dict[int, Notice] = {}
    for seq, notice in session.execute(
        select(NoticeEntry.seq, Notice)
        .join(Notice, Notice.id == NoticeEntry.notice_id)
        .where(NoticeEntry.village_id == village_id, NoticeEntry.seq.in_(list(by_seq)))
    ).all():
        out[by_seq[seq]] = notice
    return out


entry_notice = notice_of_entry


@dataclass(frozen=True)
class MonthSeal:
    """What a month's printouts show under its 公示: each published notice's check code."""

    month: str
    notices: tuple[Notice, ...]
    closed: bool
    unpublished: int  # entries of the month no notice lists yet

    @property
    def published(self) -> bool:
        return bool(self.notices)


def month_seal(session: Session, village: Village, month: str) -> MonthSeal:
    p = parse_month(month)
    closed = (
        session.execute(
            select(ClosedPeriod.id).where(ClosedPeriod.village_id == village.id, ClosedPeriod.month == p.key)
        ).first()
        is not None
    )
    notices = tuple(notices_of_month(session, village, p.key))
    unpublished = 0 if closed else len(awaiting_notice(session, village, p.key))
    return MonthSeal(p.key, notices, closed, unpublished)


# --- which entries a notice lists ---------------------------------------------------------------


def _closed_months(session: Session, village: Village) -> set[str]:
    return set(session.execute(select(ClosedPeriod.month).where(ClosedPeriod.village_id == village.id)).scalars())


def _unlisted() -> tuple[Any, ColumnElement[bool]]:
    listed = aliased(NoticeEntry)
    return listed, and_(listed.village_id == LedgerEntry.village_id, listed.seq == LedgerEntry.seq)


def awaiting_notice(session: Session, village: Village, month: str) -> list[LedgerEntry]:
    """Entries that belong to the month but no notice lists yet, in chain order.

    An entry belongs to the month it is dated in; a correction belongs to the month of the
    entry it corrects while that month is still open (so it is shown with the entry villagers
    objected to), else to its own date's month. Spending at the shop (redemptions, their
    cancellations, the yearly expiry) is not put under public notice: a 公示 lists the points
    households earned and lost, not what they took home.
    """
    p = parse_month(month)
    closed = _closed_months(session, village)
    listed, on = _unlisted()
    original = aliased(LedgerEntry)
    base = (
        select(LedgerEntry, original.occurred_on)
        .outerjoin(listed, on)
        .outerjoin(
            original, and_(original.village_id == LedgerEntry.village_id, original.seq == LedgerEntry.corrects_seq)
        )
        .where(
            LedgerEntry.village_id == village.id,
            listed.seq.is_(None),
            LedgerEntry.kind.not_in([k.value for k in EntryKind if k.spends]),
        )
    )
    dated = base.where(LedgerEntry.occurred_on.between(p.start, p.end))
    corrections = base.where(
        LedgerEntry.kind == EntryKind.correction.value,
        original.occurred_on.between(p.start, p.end),
        ~LedgerEntry.occurred_on.between(p.start, p.end),
    )
    found: dict[int, LedgerEntry] = {}
    for entry, original_day in [*session.execute(dated).all(), *session.execute(corrections).all()]:
        if _home_month(entry, original_day, closed) == p.key:
            found[entry.seq] = entry
    return [found[k] for k in sorted(found)]


def _home_month(entry: LedgerEntry, original_day: dt.date | None, closed: set[str]) -> str:
    own = month_key(entry.occurred_on)
    if entry.corrects_seq is not None and original_day is not None:
        theirs = month_key(original_day)
        if theirs not in closed:
            return theirs
    return own


# --- publishing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishPlan:
    """What publishing a month would do now (for the confirmation step)."""

    month: str
    kind: NoticeKind
    number: int
    entries: int
    window_days: int
    opens_on: dt.date
    closes_on: dt.date


def _window(village: Village, today: dt.date, days: int | None) -> tuple[int, dt.date, dt.date]:
    days = village.notice_days if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_NOTICE_DAYS:
        raise Refused("bad_window", f"the objection window must be 0-{MAX_NOTICE_DAYS} days, got {days!r}")
    # With 0 days the window is already over when it is published (villages that post on paper).
    return days, today, today + dt.timedelta(days=days - 1)


def check_publishable(session: Session, village: Village, month: str, now: dt.datetime) -> Notice | None:
    """Refuse a month that is running, in the future or closed. Returns its latest notice."""
    p = parse_month(month)
    today = local_today(village.timezone, now)
    if p.end >= today:
        if p.start <= today:
            raise Refused(
                "month_running",
                f"{p.key} is still running; only a finished month can be published. "
                f"It can be published from {p.end + dt.timedelta(days=1)}.",
                month=p.key,
            )
        raise Refused("month_running", f"{p.key} has not begun; only a finished month can be published", month=p.key)
    if session.execute(
        select(ClosedPeriod.id).where(ClosedPeriod.village_id == village.id, ClosedPeriod.month == p.key)
    ).first():
        raise Refused("already_closed", f"{p.key} is closed; it can no longer be published", month=p.key)
    return latest_notice(session, village, p.key)


def plan_publish(
    session: Session, village: Village, month: str, *, days: int | None = None, now: dt.datetime | None = None
) -> PublishPlan:
    """What :func:`publish_notice` would publish now, refusing as it would."""
    now = now or utcnow()
    p = parse_month(month)
    last = check_publishable(session, village, p.key, now)
    waiting = awaiting_notice(session, village, p.key)
    if last is not None and not waiting:
        raise Refused(
            "nothing_new",
            f"{p.key} is published and nothing has been posted for it since; "
            "there is nothing for a supplementary notice",
            month=p.key,
        )
    days, opens, closes = _window(village, local_today(village.timezone, now), days)
    kind = NoticeKind.main if last is None else NoticeKind.supplement
    return PublishPlan(p.key, kind, 1 if last is None else last.number + 1, len(waiting), days, opens, closes)


def publish_notice(
    session: Session,
    village: Village,
    month: str,
    actor: StaffUser,
    *,
    days: int | None = None,
    now: dt.datetime | None = None,
) -> Notice:
    """Publish a finished month: its main notice, or a supplement listing what was posted since.

    The notice lists exactly the entries that belong to the month and no notice lists yet; its
    digest (:func:`notice_digest`) commits to them and to the chain head at this moment.
    """
    require(actor, village, "notice.publish")
    now = now or utcnow()
    village = lock_village(session, village)
    plan = plan_publish(session, village, month, days=days, now=now)
    entries = awaiting_notice(session, village, plan.month)
    notice = Notice(
        village_id=village.id,
        month=plan.month,
        number=plan.number,
        kind=plan.kind.value,
        published_at=now,
        published_by_id=actor.id,
        opens_on=plan.opens_on,
        closes_on=plan.closes_on,
        window_days=plan.window_days,
        head_seq=village.ledger_seq,
        head_hash=village.ledger_head,
        entry_count=len(entries),
    )
    notice.digest = notice_digest(
        village.id, plan.month, plan.number, village.ledger_seq, village.ledger_head, ((e.seq, e.hash) for e in entries)
    )
    session.add(notice)
    session.flush()
    if entries:
        session.execute(
            insert(NoticeEntry), [{"notice_id": notice.id, "seq": e.seq, "village_id": village.id} for e in entries]
        )
    return notice


__all__ = [
    "Notice",
    "NoticeEntry",
    "NoticeKind",
    "awaiting_notice",
    "current_notice",
    "latest_notice",
    "listed_entries",
    "notice_digest",
    "notice_entries",
    "notice_for",
    "notice_of_entry",
    "notices_of_household",
    "notices_of_month",
    "open_and_past_notices",
    "plan_publish",
    "publish_notice",
    "recompute_digest",
    "village_notices",
]
