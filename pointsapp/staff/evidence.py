"""What stands behind a capture or a ledger entry: its activity, its capture batch and their photos.

One place for the review queue (evidence beside each row) and the objection page (date, rule, who
recorded it, the activity and its evidence).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..points.activities import Activity
from ..points.ledger import CaptureBatch, LedgerEntry
from ..points.registry import StaffUser, Village
from ..web.photos import capture_photo_rel, photo_path


@dataclass
class Photo:
    label: str
    url: str


@dataclass
class Evidence:
    activity_id: int | None = None
    activity: str = ""  # "清廉党课 · 2026-11-20 · 村部"
    batch_id: int | None = None
    batch: str = ""  # "11-20 09:31 · 小李"
    photos: list[Photo] = field(default_factory=list)


def staff_name(user: StaffUser | None) -> str:
    if user is None:
        return ""
    return user.display_name or user.username


def activity_text(a: Activity) -> str:
    parts = [a.title, a.held_on.isoformat()]
    if a.place:
        parts.append(a.place)
    return " · ".join(parts)


def batch_text(b: CaptureBatch) -> str:
    return f"{format_datetime(b.created_at, 'MM-dd HH:mm')} · {staff_name(b.actor)}"


def evidence_for(session, village: Village, pairs) -> dict[tuple[int | None, int | None], Evidence]:
    """Evidence for each (activity_id, batch_id) pair, with two queries for the lot."""
    pairs = set(pairs)
    act_ids = {a for a, _b in pairs if a}
    batch_ids = {b for _a, b in pairs if b}
    acts = (
        {
            a.id: a
            for a in session.execute(
                select(Activity).where(Activity.id.in_(act_ids), Activity.village_id == village.id)
            ).scalars()
        }
        if act_ids
        else {}
    )
    batches = (
        {
            b.id: b
            for b in session.execute(
                select(CaptureBatch)
                .where(CaptureBatch.id.in_(batch_ids), CaptureBatch.village_id == village.id)
                .options(selectinload(CaptureBatch.actor))
            ).scalars()
        }
        if batch_ids
        else {}
    )
    instance = current_app.instance_path
    batch_photo = {bid: photo_path(instance, capture_photo_rel(village.id, bid)) is not None for bid in batches}
    out = {}
    for aid, bid in pairs:
        ev = Evidence()
        a = acts.get(aid) if aid else None
        b = batches.get(bid) if bid else None
        if a is not None:
            ev.activity_id, ev.activity = a.id, activity_text(a)
            if a.photo:
                ev.photos.append(Photo(_("Activity photo"), url_for("staff.activity_photo", activity_id=a.id)))
        if b is not None:
            ev.batch_id, ev.batch = b.id, batch_text(b)
            if batch_photo.get(b.id):
                ev.photos.append(
                    Photo(_("Photo of the sign-in sheet or scene"), url_for("staff.capture_photo", batch_id=b.id))
                )
        out[(aid, bid)] = ev
    return out


@dataclass
class EntryFacts:
    """What an objection is about, in the words a committee member needs."""

    occurred_on: dt.date
    rule: str
    points: int
    recorded_by: str
    recorded_at: str
    approved_by: str
    note: str
    evidence: Evidence


def entry_facts(session, village: Village, entry: LedgerEntry) -> EntryFacts:
    v = entry.rule_version
    sub = entry.submission
    aid, bid = (sub.activity_id, sub.batch_id) if sub is not None else (None, None)
    ev = evidence_for(session, village, [(aid, bid)])[(aid, bid)]
    captured_at = sub.captured_at if sub is not None else entry.recorded_at
    return EntryFacts(
        occurred_on=entry.occurred_on,
        rule=f"{v.rule.code} {v.name}" if v else "",
        points=entry.points,
        recorded_by=staff_name(entry.captured_by),
        recorded_at=format_datetime(captured_at, "yyyy-MM-dd HH:mm"),
        approved_by=staff_name(entry.approved_by),
        note=entry.note or "",
        evidence=ev,
    )
