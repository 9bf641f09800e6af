"""Per-account throttling of failed sign-ins, kept in the database.

Counting in the database means the count holds across gunicorn workers and restarts. It is a
backoff, never a lock: after ``FREE_FAILURES`` wrong passwords in a row the account waits
``BASE_DELAY`` before the next try, doubling with each further failure up to ``MAX_DELAY``.
While it waits, every attempt is refused without checking the password (so guessing goes no
faster); once the wait is over, the right password signs in and clears the count. Rows are
keyed by the user name as typed (lower-cased), whether or not the account exists, so the
answers do not tell which accounts exist.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, UTCDateTime, rowcount, utcnow

FREE_FAILURES = 5
BASE_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=15)
FORGET_AFTER = dt.timedelta(hours=24)  # a failure this old no longer counts


class SignInThrottle(Base):
    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def throttle_key(username: str) -> str:
    return (username or "").strip().lower()[:64]


def delay_after(failures: int) -> dt.timedelta:
    """How long the account waits after ``failures`` failures in a row."""
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    return min(MAX_DELAY, BASE_DELAY * (1 << min(failures - FREE_FAILURES, 16)))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def wait_seconds(session: Session, username: str, now: dt.datetime | None = None) -> int:
    """Seconds before this account may try again (0: it may try now)."""
    now = now or utcnow()
    until = _aware(
        session.execute(
            select(SignInThrottle.blocked_until).where(SignInThrottle.key == throttle_key(username))
        ).scalar_one_or_none()
    )
    if until is None or until <= now:
        return 0
    return max(1, int((until - now).total_seconds() + 0.999))


def record_failure(session: Session, username: str, now: dt.datetime | None = None) -> int:
    """Count a wrong password; returns the seconds the account must now wait (0 if none).

    The increment is one UPDATE (atomic under concurrent workers); a first failure inserts."""
    now = now or utcnow()
    key = throttle_key(username)
    stale = now - FORGET_AFTER
    for _attempt in range(3):
        # a failure after a quiet day starts the count again
        session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key == key, SignInThrottle.last_failure_at < stale)
            .values(failures=0, blocked_until=None)
        )
        done = session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key == key)
            .values(failures=SignInThrottle.failures + 1, last_failure_at=now)
        )
        if rowcount(done):
            break
        try:
            with session.begin_nested():
                session.add(SignInThrottle(key=key, failures=1, last_failure_at=now, blocked_until=None))
            break
        except IntegrityError:  # another worker inserted it first: count on its row
            continue
    failures = session.execute(select(SignInThrottle.failures).where(SignInThrottle.key == key)).scalar_one()
    delay = delay_after(failures)
    if delay:
        session.execute(update(SignInThrottle).where(SignInThrottle.key == key).values(blocked_until=now + delay))
    session.flush()
    return int(delay.total_seconds())


def record_success(session: Session, username: str) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == throttle_key(username)))


def forget_old(session: Session, now: dt.datetime | None = None) -> int:
    """Drop rows whose last failure is older than FORGET_AFTER (housekeeping)."""
    now = now or utcnow()
    return rowcount(session.execute(delete(SignInThrottle).where(SignInThrottle.last_failure_at < now - FORGET_AFTER)))
