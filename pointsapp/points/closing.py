"""Closed months: a closed local month takes no more postings.

Closing itself (with its blockers: notices, windows, objections) is :mod:`.lifecycle`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .ledger import ClosedPeriod, Submission, SubmissionStatus
from .periods import month_key, parse_month
from .registry import Village


def is_closed(session: Session, village: Village, day: dt.date) -> bool:
    return (
        session.execute(
            select(ClosedPeriod.id).where(ClosedPeriod.village_id == village.id, ClosedPeriod.month == month_key(day))
        ).first()
        is not None
    )


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
    return session.execute(
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.village_id == village.id,
            Submission.status == SubmissionStatus.pending,
            Submission.occurred_on.between(p.start, p.end),
        )
    ).scalar_one()
