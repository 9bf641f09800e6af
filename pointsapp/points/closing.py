"""Month close: a closed local month takes no more postings."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import Refused
from .ledger import ClosedPeriod, Submission, SubmissionStatus, lock_village, month_digest
from .periods import local_today, month_key, parse_month
from .policy import require
from .registry import StaffUser, Village


def is_closed(session: Session, village: Village, day: dt.date) -> bool:
    return session.execute(
        select(ClosedPeriod.id).where(ClosedPeriod.village_id == village.id,
                                      ClosedPeriod.month == month_key(day))
    ).first() is not None


class ClosedMonths:
    """Closed-or-not per month, asked once per month of a call."""

    def __init__(self, session: Session, village: Village):
        self.session, self.village = session, village
        self.known: dict[str, bool] = {}

    def __call__(self, day: dt.date) -> bool:
        m = month_key(day)
        if m not in self.known:
            self.known[m] = is_closed(self.session, self.village, day)
        return self.known[m]


def pending_in_month(session: Session, village: Village, month: str) -> int:
    p = parse_month(month)
    return session.execute(select(func.count()).select_from(Submission).where(
        Submission.village_id == village.id, Submission.status == SubmissionStatus.pending,
        Submission.occurred_on.between(p.start, p.end))).scalar_one()


def close_period(session: Session, village: Village, month: str, actor: StaffUser, *,
                 now: dt.datetime | None = None) -> ClosedPeriod:
    """Lock a local month. Refused while captures dated in it still await review."""
    require(actor, village, "period.close")
    p = parse_month(month)
    village = lock_village(session, village)
    now = now or utcnow()
    if p.end >= local_today(village.timezone, now):
        raise Refused("month_not_over", f"{p.key} has not ended yet", month=p.key)
    if session.execute(select(ClosedPeriod.id).where(
            ClosedPeriod.village_id == village.id, ClosedPeriod.month == p.key)).first():
        raise Refused("already_closed", f"{p.key} is already closed", month=p.key)
    waiting = pending_in_month(session, village, p.key)
    if waiting:
        raise Refused("pending_left", f"{waiting} captures dated in {p.key} still await review", count=waiting,
                      month=p.key)
    digest = month_digest(session, village, p.key)
    closed = ClosedPeriod(village_id=village.id, month=p.key, closed_at=now, closed_by_id=actor.id,
                          digest_seq=digest.seq, digest=digest.hash)
    session.add(closed)
    session.flush()
    return closed
