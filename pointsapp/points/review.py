"""Review (审核) and corrections: the second pair of eyes that posts captures to the ledger.

- :func:`approve` / :func:`reject` are the reviewer's decisions; approving posts to the ledger.
- :func:`correct` posts a reversing entry linked to the original.

Each checks the policy (``review`` / ``correct``) and the maker-checker rule, flushes, and
leaves the commit to the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .bounds import closed_through
from .closing import ClosedMonths
from .db import utcnow
from .errors import Refused
from .ledger import (
    EntryKind,
    LedgerEntry,
    Submission,
    SubmissionStatus,
    append_entries,
    append_entry,
    lock_village,
)
from .periods import local_today, month_key
from .policy import require, require_reviewer_of
from .registry import StaffUser, Village
from .standings import apply_tallies
from .versions import touch


def kind_for(points: int) -> EntryKind:
    return EntryKind.award if points >= 0 else EntryKind.deduction


def check_decidable(village: Village, sub: Submission, reviewer: StaffUser) -> None:
    """Refuse unless ``reviewer`` may decide this pending capture of ``village``."""
    if sub.village_id != village.id:
        raise Refused("not_found", f"capture {sub.id} is not in village {village.name}")
    if SubmissionStatus(sub.status) != SubmissionStatus.pending:
        raise Refused("not_pending", f"capture {sub.id} is {SubmissionStatus(sub.status).value}, not pending")
    require_reviewer_of(reviewer, captured_by_id=sub.captured_by_id, household_id=sub.household_id)


def _distinct(submissions: Iterable[Submission]) -> list[Submission]:
    """Each capture once, in the order first named (a request may name one twice)."""
    seen: set[int] = set()
    out: list[Submission] = []
    for sub in submissions:
        if sub.id not in seen:
            seen.add(sub.id)
            out.append(sub)
    return out


def _decidable(session: Session, subs: list[Submission], reviewer: StaffUser) -> Village:
    village = session.get_one(Village, subs[0].village_id)
    require(reviewer, village, "review")
    village = lock_village(session, village)
    # Re-read every capture once the lock is held (another reviewer may have decided it): one
    # query per 1,000 captures, not one per capture.
    ids = [sub.id for sub in subs]
    for i in range(0, len(ids), 1000):
        session.execute(
            select(Submission).where(Submission.id.in_(ids[i : i + 1000])).execution_options(populate_existing=True)
        ).scalars().all()
    for sub in subs:
        check_decidable(village, sub, reviewer)
    return village


def approve(
    session: Session, submissions: Iterable[Submission], approver: StaffUser, *, now: dt.datetime | None = None
) -> list[LedgerEntry]:
    """Post pending captures to the ledger. All or nothing: any refusal raises before posting.

    A capture named twice is posted once.
    """
    subs = _distinct(submissions)
    if not subs:
        return []
    village = _decidable(session, subs, approver)
    closed = closed_through(session, village)
    for sub in subs:
        if closed is not None and sub.occurred_on <= closed.end:
            raise Refused(
                "period_closed",
                f"{sub.occurred_on} is in or before {closed.month}, which is closed; "
                f"capture {sub.id} can no longer be posted",
                month=closed.month,
                day=sub.occurred_on,
            )
    now = now or utcnow()
    rows = []
    for sub in subs:
        note = sub.note
        if sub.capped:
            cap_note = f"cap reached: {sub.points} of {sub.requested_points} points"
            note = f"{note}; {cap_note}" if note else cap_note
        rows.append(
            dict(
                kind=kind_for(sub.requested_points),
                points=sub.points,
                requested_points=sub.requested_points,
                capped=sub.capped,
                quantity=sub.quantity,
                rule_id=sub.rule_id,
                rule_version_id=sub.rule_version_id,
                villager_id=sub.villager_id,
                household_id=sub.household_id,
                group_id=sub.group_id,
                occurred_on=sub.occurred_on,
                recorded_at=now,
                note=note,
                captured_by_id=sub.captured_by_id,
                approved_by_id=approver.id,
                submission_id=sub.id,
            )
        )
    entries = append_entries(session, village, rows)  # one INSERT for the lot, chained in order
    # One UPDATE for the lot, on the connection (an ORM bulk UPDATE would count as a change to every
    # village's public pages, see versions.py); the captures in this session get the same values as
    # loaded state, and this village's pages are marked changed, as a flush of them would.
    ids = [sub.id for sub in subs]
    conn = session.connection()
    for i in range(0, len(ids), 1000):
        conn.execute(
            update(cast(Table, Submission.__table__))
            .where(Submission.id.in_(ids[i : i + 1000]))
            .values(status=SubmissionStatus.approved, decided_by_id=approver.id, decided_at=now)
        )
    for sub in subs:
        for key, value in (("status", SubmissionStatus.approved), ("decided_by_id", approver.id), ("decided_at", now)):
            set_committed_value(sub, key, value)
    touch(session, village.id)
    apply_tallies(session, entries)
    return entries


def reject(
    session: Session,
    submissions: Iterable[Submission],
    reviewer: StaffUser,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Reject pending captures with a reason the logger sees; their cap reservation is released."""
    subs = _distinct(submissions)
    if not subs:
        return
    if not reason or not reason.strip():
        raise Refused("reason_required", "a rejection needs a reason")
    _decidable(session, subs, reviewer)
    now = now or utcnow()
    for sub in subs:
        sub.status, sub.reason_code, sub.reason = SubmissionStatus.rejected, "rejected", reason.strip()
        sub.decided_by_id, sub.decided_at = reviewer.id, now
    session.flush()


def correct(
    session: Session,
    original: LedgerEntry,
    actor: StaffUser,
    reason: str,
    *,
    points: int | None = None,
    now: dt.datetime | None = None,
) -> LedgerEntry:
    """Post a correction linked to ``original``: by default it reverses what is still standing.

    It goes into the open month (today's local date); a correction never touches a closed month.
    """
    if not reason or not reason.strip():
        raise Refused("reason_required", "a correction needs a reason")
    village = session.get_one(Village, original.village_id)
    require(actor, village, "correct")
    require_reviewer_of(actor, captured_by_id=None, household_id=original.household_id)
    if EntryKind(original.kind) == EntryKind.correction:
        raise Refused("bad_target", "correct the original entry, not a correction")
    if EntryKind(original.kind).spends:
        raise Refused(
            "shop_entry",
            "a redemption is cancelled at the shop desk (which returns the stock); an expiry is not corrected",
        )
    village = lock_village(session, village)
    now = now or utcnow()
    today = local_today(village.timezone, now)
    if ClosedMonths(session, village)(today):
        raise Refused(
            "period_closed",
            f"{month_key(today)} is closed; no month is open for the correction",
            month=month_key(today),
        )
    already = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.corrects_id == original.id)
    ).scalar_one()
    standing = original.points + int(already)
    delta = -standing if points is None else points
    if delta == 0:
        raise Refused("nothing_to_correct", f"entry {original.id} has nothing left to correct")
    entry = append_entry(
        session,
        village,
        kind=EntryKind.correction,
        points=delta,
        requested_points=delta,
        quantity=original.quantity,
        rule_id=original.rule_id,
        rule_version_id=original.rule_version_id,
        villager_id=original.villager_id,
        household_id=original.household_id,
        group_id=original.group_id,
        occurred_on=today,
        recorded_at=now,
        note=reason.strip(),
        captured_by_id=actor.id,
        approved_by_id=actor.id,
        corrects_id=original.id,
        corrects_seq=original.seq,
    )
    session.flush()
    apply_tallies(session, [entry])
    return entry
