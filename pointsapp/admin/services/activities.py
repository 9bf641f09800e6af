"""Activities for admins: list, edit, cancel (creation is on the staff capture screen).

An activity whose captures were posted cannot simply disappear: it can be cancelled only once
every posted entry has been fully reversed through corrections, and once no capture is waiting
for review. Its date and group cannot change while it has live captures either.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...points.db import utcnow

from ...points.activities import Activity
from ...points.bounds import date_bounds
from ...points.errors import Refused
from ...points.ledger import LedgerEntry, Submission, SubmissionStatus
from ...points.registry import Group, StaffUser, Village
from ...points.policy import require
from . import audit, changes_of, save_changes

LIVE = (SubmissionStatus.pending, SubmissionStatus.approved)


def cancelled_ids(session: Session, village: Village) -> set[int]:
    return set(
        session.execute(
            select(Activity.id).where(Activity.village_id == village.id, Activity.cancelled_at.is_not(None))
        ).scalars()
    )


def _counts(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = defaultdict(lambda: {"pending": 0, "approved": 0})
    if not ids:
        return out
    for aid, status, n in session.execute(
        select(Submission.activity_id, Submission.status, func.count(Submission.id))
        .where(Submission.activity_id.in_(ids), Submission.status.in_(LIVE))
        .group_by(Submission.activity_id, Submission.status)
    ):
        out[aid][SubmissionStatus(status).value] = n
    return out


def list_activities(session: Session, actor: StaffUser, village: Village, start: dt.date, end: dt.date) -> list[dict]:
    require(actor, village, "village.admin")
    rows = list(
        session.execute(
            select(Activity)
            .where(Activity.village_id == village.id, Activity.held_on.between(start, end))
            .order_by(Activity.held_on.desc(), Activity.id.desc())
        ).scalars()
    )
    counts = _counts(session, [a.id for a in rows])
    cancelled = cancelled_ids(session, village)
    return [
        {
            "id": a.id,
            "title": a.title,
            "held_on": a.held_on,
            "place": a.place or "",
            "group": a.group.name if a.group else "",
            "rule": f"{a.rule.code} {a.rule.latest.name}",
            "pending": counts[a.id]["pending"],
            "posted": counts[a.id]["approved"],
            "cancelled": a.id in cancelled,
        }
        for a in rows
    ]


def live_captures(session: Session, activity: Activity) -> int:
    return session.execute(
        select(func.count(Submission.id)).where(Submission.activity_id == activity.id, Submission.status.in_(LIVE))
    ).scalar_one()


def update_activity(
    session: Session,
    actor: StaffUser,
    village: Village,
    activity: Activity,
    *,
    title: str,
    held_on: dt.date,
    place: str | None,
    group: Group | None,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> dict:
    require(actor, village, "village.admin")
    if activity.village_id != village.id or (group is not None and group.village_id != village.id):
        raise Refused("not_found", "no such activity or group in this village")
    if activity.cancelled:
        raise Refused("activity_cancelled", "this activity was cancelled")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise Refused("bad_title", "a title of 1 to 200 characters is needed", field="title")
    new = {
        "title": title,
        "held_on": held_on,
        "place": (place or "").strip() or None,
        "group_id": group.id if group else None,
    }
    changes = changes_of(activity, new)
    if "held_on" in changes and (refused := date_bounds(session, village, now).refusal(held_on)) is not None:
        refused.params["field"] = "held_on"  # not after today, not in or before a closed month
        raise refused
    if ({"held_on", "group_id"} & set(changes)) and live_captures(session, activity):
        raise Refused(
            "activity_has_captures", "the date and group cannot change once people were recorded", field="held_on"
        )
    return save_changes(
        session, actor, village, activity, new, "activity.update", f"activity {activity.id}", ip, changes
    )


def standing_entries(session: Session, activity: Activity) -> int:
    """Posted entries of the activity that corrections have not fully reversed."""
    entries = list(
        session.execute(
            select(LedgerEntry)
            .join(Submission, Submission.id == LedgerEntry.submission_id)
            .where(Submission.activity_id == activity.id)
        ).scalars()
    )
    if not entries:
        return 0
    corrected = dict(
        session.execute(
            select(LedgerEntry.corrects_id, func.sum(LedgerEntry.points))
            .where(LedgerEntry.corrects_id.in_([e.id for e in entries]))
            .group_by(LedgerEntry.corrects_id)
        ).all()
    )
    return sum(1 for e in entries if e.points + int(corrected.get(e.id) or 0) != 0)


def cancel_activity(
    session: Session, actor: StaffUser, village: Village, activity: Activity, reason: str, *, ip: str | None = None
) -> Activity:
    require(actor, village, "village.admin")
    if activity.village_id != village.id:
        raise Refused("not_found", "no such activity in this village")
    reason = (reason or "").strip()
    if not reason:
        raise Refused("reason_required", "a cancellation needs a reason", field="reason")
    if activity.cancelled:
        raise Refused("activity_cancelled", "this activity was already cancelled")
    pending = session.execute(
        select(func.count(Submission.id)).where(
            Submission.activity_id == activity.id, Submission.status == SubmissionStatus.pending
        )
    ).scalar_one()
    if pending:
        raise Refused(
            "activity_has_pending",
            f"{pending} captures of this activity still await review; reject them first",
            count=pending,
        )
    standing = standing_entries(session, activity)
    if standing:
        raise Refused(
            "activity_has_entries",
            f"{standing} posted entries of this activity still count; reverse them with corrections first",
            count=standing,
        )
    activity.cancelled_at, activity.cancelled_by_id, activity.cancel_reason = utcnow(), actor.id, reason
    session.flush()
    audit(
        session, actor, village, "activity.cancel", f"activity {activity.id}", ip, title=activity.title, reason=reason
    )
    return activity
