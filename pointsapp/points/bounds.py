"""What may be recorded when: nothing dated after the village's local today, and nothing dated
in or before its latest closed month.

Capture, the score import, activity dates, moves and rule versions all ask here. The bound is
the *latest* closed month, not just the month of the date: once 2026-11 is closed, 2026-03 is
closed too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Integer, String, column, func, select, table
from sqlalchemy.orm import Session

from .errors import Refused
from .periods import local_today, parse_month
from .registry import Village

# The closed-months table by name (its model lives in ledger.py, which imports the rule book).
_closed = table("closed_periods", column("village_id", Integer), column("month", String))


@dataclass(frozen=True)
class Closed:
    month: str  # "2026-11"
    end: dt.date  # its last local day


def closed_through(session: Session, village: Village) -> Closed | None:
    """The village's latest closed month, if any."""
    month = session.execute(select(func.max(_closed.c.month)).where(_closed.c.village_id == village.id)).scalar()
    return Closed(month, parse_month(month).end) if month else None


@dataclass(frozen=True)
class DateBounds:
    """The dates a village may record today: after ``closed.end`` and not after ``today``."""

    today: dt.date
    closed: Closed | None

    @property
    def first_open(self) -> dt.date | None:
        return self.closed.end + dt.timedelta(days=1) if self.closed else None

    def refusal(self, day: dt.date) -> Refused | None:
        if day > self.today:
            return Refused(
                "future_date",
                f"{day} is after today ({self.today}); nothing can be dated in the future",
                day=day.isoformat(),
                today=self.today.isoformat(),
            )
        if self.closed is not None and day <= self.closed.end:
            return Refused(
                "period_closed",
                f"{day} is in or before {self.closed.month}, which is closed; "
                f"nothing can be dated before {self.first_open}",
                day=day.isoformat(),
                month=self.closed.month,
                first_open=self.first_open.isoformat() if self.first_open else None,
            )
        return None

    def check(self, day: dt.date) -> None:
        if (refused := self.refusal(day)) is not None:
            raise refused


def date_bounds(session: Session, village: Village, now: dt.datetime | None = None) -> DateBounds:
    return DateBounds(local_today(village.timezone, now), closed_through(session, village))


def quantity_refusal(limit: int, per: str, unit: str, code: str, quantity: object) -> Refused | None:
    """A line's quantity: a whole number from 1 to the rule's limit (1 for per-occasion rules)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return Refused(
            "bad_quantity", f"quantity must be a whole number of at least 1, got {quantity!r}", quantity=quantity
        )
    if quantity > limit:
        if per == "occasion":
            return Refused(
                "quantity_per_occasion",
                f"rule {code} counts one occasion per line; the quantity must be 1, got {quantity}",
                quantity=quantity,
                rule=code,
            )
        return Refused(
            "quantity_too_large",
            f"rule {code} allows at most {limit} {unit} per line, got {quantity}",
            quantity=quantity,
            rule=code,
            limit=limit,
            unit=unit,
        )
    return None


__all__ = ["Closed", "DateBounds", "closed_through", "date_bounds", "quantity_refusal"]
