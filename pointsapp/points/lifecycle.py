"""One month's life in a village: open → published (公示) → closed.

- A month is *open* while it runs and until its first notice is published; only a finished
  month can be published (:func:`.notice.publish_notice`).
- It is *published* once it has a notice. Entries of the month posted afterwards wait for a
  supplementary notice (补充公示).
- It can be *closed* only when every notice of the month is past its objection window,
  every objection on its entries is answered, no capture dated in it awaits review and no
  entry of it awaits a notice. :func:`close_blockers` lists what still stands in the way.

Closing records the chain's head at that moment (``ClosedPeriod.head_seq/head_hash``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .closing import pending_in_month
from .db import utcnow
from .errors import Refused
from .ledger import ClosedPeriod, lock_village
from .notice import awaiting_notice, notices_of_month
from .objections import open_objections_of_month
from .periods import local_today, parse_month, previous_month_of
from .policy import require
from .registry import StaffUser, Village


@dataclass(frozen=True)
class Blocker:
    """One reason a month cannot be closed yet."""

    code: str
    message: str
    count: int = 0
    until: dt.date | None = None
    notice: int | None = None  # which notice of the month (1: the main one, 2..: supplements)


def closed_month(session: Session, village: Village, month: str) -> ClosedPeriod | None:
    return session.execute(
        select(ClosedPeriod).where(ClosedPeriod.village_id == village.id, ClosedPeriod.month == month)
    ).scalar_one_or_none()


def month_state(session: Session, village: Village, month: str) -> str:
    """ "open", "published" or "closed"."""
    if closed_month(session, village, month) is not None:
        return "closed"
    return "published" if notices_of_month(session, village, month) else "open"


def last_finished_month(village: Village, now: dt.datetime | None = None) -> str:
    """The month before the running one (local time): what the publish form offers first."""
    today = local_today(village.timezone, now)
    return previous_month_of(today)


def close_blockers(session: Session, village: Village, month: str, *, now: dt.datetime | None = None) -> list[Blocker]:
    """Everything that stands in the way of closing the month now (empty: it can be closed)."""
    p = parse_month(month)
    today = local_today(village.timezone, now or utcnow())
    out: list[Blocker] = []
    if closed_month(session, village, p.key) is not None:
        return [Blocker("already_closed", f"{p.key} is already closed")]
    if p.end >= today:
        return [Blocker("month_not_over", f"{p.key} has not ended yet")]
    waiting = pending_in_month(session, village, p.key)
    if waiting:
        out.append(Blocker("pending_left", f"{waiting} captures dated in {p.key} still await review", waiting))
    notices = notices_of_month(session, village, p.key)
    if not notices:
        out.append(Blocker("not_published", f"{p.key} has not been published for public notice yet"))
    for n in notices:
        if not n.window_over(today):
            label = "the notice" if n.number == 1 else f"supplementary notice {n.number - 1}"
            out.append(
                Blocker(
                    "notice_window_open",
                    f"the objection window of {label} of {p.key} runs until {n.closes_on}",
                    until=n.closes_on,
                    notice=n.number,
                )
            )
    if notices:
        late = len(awaiting_notice(session, village, p.key))
        if late:
            out.append(
                Blocker(
                    "awaiting_supplement",
                    f"{late} entries of {p.key} were posted after its notice and await a supplementary notice",
                    late,
                )
            )
    objections = open_objections_of_month(session, village, p.key)
    if objections:
        out.append(
            Blocker(
                "open_objections",
                f"{len(objections)} objections on entries of {p.key} are not answered",
                len(objections),
            )
        )
    return out


def close_month(
    session: Session, village: Village, month: str, actor: StaffUser, *, now: dt.datetime | None = None
) -> ClosedPeriod:
    """Close a month (see :func:`close_blockers`); refused, naming every blocker, otherwise."""
    require(actor, village, "period.close")
    p = parse_month(month)
    now = now or utcnow()
    village = lock_village(session, village)
    blockers = close_blockers(session, village, p.key, now=now)
    if blockers:
        first = blockers[0]
        raise Refused(
            first.code,
            "; ".join(b.message for b in blockers),
            month=p.key,
            count=first.count,
            until=first.until,
            blockers=[b.code for b in blockers],
        )
    closed = ClosedPeriod(
        village_id=village.id,
        month=p.key,
        closed_at=now,
        closed_by_id=actor.id,
        head_seq=village.ledger_seq,
        head_hash=village.ledger_head,
    )
    session.add(closed)
    session.flush()
    return closed
