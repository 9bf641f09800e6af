"""The yearly reset (年底清零): redeemable points earned up to the end of a year lapse on the
village's reset day. Honour points (荣誉积分) are kept for ever.

For each household the reset expires what is left of the points it had at the end of the
year, after what it spent since (spending takes the oldest points first), and never more than
its redeemable balance today. It posts one ``expiry`` entry per household through the same
writer as every other entry, and a year resets once: a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .. import audit
from ..closing import is_closed
from ..db import utcnow
from ..errors import Refused
from ..ledger import EntryKind, LedgerEntry, append_entry, lock_village
from ..periods import local_today, month_key
from ..policy import require
from ..registry import Household, StaffUser, Village
from ..standings import apply_tallies
from .models import RedeemableReset, ResetLine
from .settings import RESET_WARN_DAYS, Settings, get_settings

SPENDS = [k.value for k in EntryKind if k.spends]


@dataclass(frozen=True)
class ResetRow:
    household_id: int
    number: str
    group_id: int
    points: int  # what lapses (positive)


@dataclass
class ResetResult:
    year: int
    due_on: dt.date | None
    rows: list[ResetRow] = field(default_factory=list)
    dry_run: bool = True
    already: RedeemableReset | None = None  # the year was reset before: nothing was written

    @property
    def households(self) -> int:
        return len(self.rows) if self.already is None else self.already.households

    @property
    def points(self) -> int:
        return sum(r.points for r in self.rows) if self.already is None else self.already.points


def expiring(session: Session, village: Village, year: int, household_ids: list[int] | None = None) -> dict[int, int]:
    """{household id: points that the reset of ``year`` would clear now}, households > 0 only."""
    end = dt.date(year, 12, 31)
    e = LedgerEntry
    old = func.sum(case((e.occurred_on <= end, e.points), else_=0))
    spent_since = func.sum(case(((e.occurred_on > end) & e.kind.in_(SPENDS), e.points), else_=0))
    q = (
        select(e.household_id, old, spent_since, func.sum(e.points))
        .where(e.village_id == village.id)
        .group_by(e.household_id)
    )
    if household_ids is not None:
        q = q.where(e.household_id.in_(household_ids))
    out = {}
    for hid, before, spent, now_balance in session.execute(q):
        lapse = min(int(before or 0) + int(spent or 0), int(now_balance or 0))
        if lapse > 0:
            out[hid] = lapse
    return out


def find_reset(session: Session, village: Village, year: int) -> RedeemableReset | None:
    return session.execute(
        select(RedeemableReset).where(RedeemableReset.village_id == village.id, RedeemableReset.year == year)
    ).scalar_one_or_none()


def run_reset(
    session: Session,
    village: Village,
    year: int,
    actor: StaffUser,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> ResetResult:
    """Preview (``dry_run``) or post the reset of ``year``. Idempotent per village and year."""
    require(actor, village, "shop.manage")
    if not 2000 <= year <= 2100:
        raise Refused("bad_year", f"year {year} is out of range")
    settings = get_settings(session, village)
    now = now or utcnow()
    today = local_today(village.timezone, now)
    due = settings.reset_date(year)
    if dry_run:
        done = find_reset(session, village, year)
        if done is not None:
            return ResetResult(year, due, [], True, done)
        return ResetResult(year, due, _rows(session, village, year), True)
    if due is None:
        raise Refused("reset_off", "the yearly reset is off for this village; set its day in the shop settings first")
    if today < due:
        raise Refused(
            "reset_not_due", f"the reset of {year} is due on {due.isoformat()}, not before", due=due.isoformat()
        )
    village = lock_village(session, village)
    if (done := find_reset(session, village, year)) is not None:
        return ResetResult(year, due, [], False, done)
    if is_closed(session, village, today):
        raise Refused("period_closed", f"{month_key(today)} is closed; nothing can be posted in it")
    rows = _rows(session, village, year)
    run = RedeemableReset(
        village_id=village.id,
        year=year,
        run_at=now,
        run_by_id=actor.id,
        occurred_on=today,
        households=len(rows),
        points=sum(r.points for r in rows),
    )
    session.add(run)
    session.flush()
    entries = []
    for r in rows:
        entry = append_entry(
            session,
            village,
            kind=EntryKind.expiry,
            points=-r.points,
            requested_points=-r.points,
            quantity=1,
            household_id=r.household_id,
            group_id=r.group_id,
            occurred_on=today,
            recorded_at=now,
            note=f"{year}年度可兑换积分清零",
            captured_by_id=actor.id,
            approved_by_id=actor.id,
        )
        entries.append((r, entry))
    session.flush()
    for r, entry in entries:
        session.add(ResetLine(reset_id=run.id, household_id=r.household_id, entry_id=entry.id, points=r.points))
    apply_tallies(session, [e for _, e in entries])
    session.flush()
    audit.record(
        session,
        actor,
        "shop.reset",
        village_id=village.id,
        target=f"reset {year}",
        ip=ip,
        households=run.households,
        points=run.points,
    )
    return ResetResult(year, due, rows, False)


def _rows(session: Session, village: Village, year: int) -> list[ResetRow]:
    lapse = expiring(session, village, year)
    if not lapse:
        return []
    homes = session.execute(
        select(Household.id, Household.number, Household.group_id).where(Household.id.in_(list(lapse)))
    ).all()
    return sorted(
        (ResetRow(h.id, h.number, h.group_id, lapse[h.id]) for h in homes), key=lambda r: (r.group_id, r.number)
    )


@dataclass(frozen=True)
class ResetWarning:
    points: int
    due_on: dt.date
    year: int


def upcoming_reset(
    session: Session, village: Village, today: dt.date, settings: Settings | None = None
) -> tuple[int, dt.date] | None:
    """(year, due date) of the next reset not yet run, when it falls within the warning window."""
    settings = settings or get_settings(session, village)
    if not settings.reset_on:
        return None
    for year in (today.year - 1, today.year):
        due = settings.reset_date(year)
        if due is None or due < today:
            continue
        if (due - today).days > RESET_WARN_DAYS:
            return None
        if find_reset(session, village, year) is None:
            return year, due
    return None


def reset_warning(
    session: Session, village: Village, household: Household, today: dt.date, settings: Settings | None = None
) -> ResetWarning | None:
    """The card's warning: 您户有 N 分可兑换积分将于 M月D日 清零 (within the warning window)."""
    upcoming = upcoming_reset(session, village, today, settings)
    if upcoming is None:
        return None
    year, due = upcoming
    points = expiring(session, village, year, [household.id]).get(household.id, 0)
    return ResetWarning(points, due, year) if points > 0 else None
