"""Review queue services: filter pending captures, approve or reject them, manual awards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..points import audit
from ..points.activities import Activity
from ..points.errors import Refused
from ..points.ledger import CaptureBatch, Submission, SubmissionStatus
from ..points.policy import require, review_refusal
from ..points.registry import Group, Household, StaffUser, Village, VillagerStatus, in_village
from ..points.review import approve, reject
from ..points.rules import SPECIAL_AWARD, Rule, RuleVersion
from ..web.refusals import refusal_text
from .evidence import activity_text, batch_text
from .services import subject_name

QUEUE_LIMIT = 500
CHOICES_LIMIT = 200


BULK_CONFIRM = 50  # approving more rows than this at once asks for a confirmation


@dataclass
class QueueFilters:
    group: int | None = None
    rule: int | None = None
    logger: int | None = None
    activity: int | None = None
    batch: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_args(cls, args) -> tuple[QueueFilters, list[str]]:
        errors = []
        f = cls()
        for name in ("group", "rule", "logger", "activity", "batch"):
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    setattr(f, name, int(raw))
                except ValueError:
                    errors.append(_("Filter %(field)s: %(value)r is not a valid choice.", field=name, value=raw[:20]))
        for name, attr in (("from", "date_from"), ("to", "date_to")):
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    setattr(f, attr, dt.date.fromisoformat(raw))
                except ValueError:
                    errors.append(
                        _("Filter %(field)s: %(value)r is not a date (YYYY-MM-DD).", field=name, value=raw[:20])
                    )
        return f, errors


@dataclass
class QueueRow:
    id: int
    occurred_on: dt.date
    name: str
    household: str
    group: str
    rule: str
    points: int
    requested: int
    capped: bool
    quantity: int
    note: str
    logger: str
    can_decide: bool
    why_not: str
    activity_id: int | None = None
    batch_id: int | None = None


def _pending(village: Village, filters: QueueFilters, *cols):
    q = select(*cols).where(Submission.village_id == village.id, Submission.status == SubmissionStatus.pending)
    if filters.group:
        q = q.where(Submission.group_id == filters.group)
    if filters.rule:
        q = q.where(Submission.rule_id == filters.rule)
    if filters.logger:
        q = q.where(Submission.captured_by_id == filters.logger)
    if filters.activity:
        q = q.where(Submission.activity_id == filters.activity)
    if filters.batch:
        q = q.where(Submission.batch_id == filters.batch)
    if filters.date_from:
        q = q.where(Submission.occurred_on >= filters.date_from)
    if filters.date_to:
        q = q.where(Submission.occurred_on <= filters.date_to)
    return q


def backlog(session, village: Village, actor: StaffUser, filters: QueueFilters) -> int:
    """The true number of pending captures under the filters (the queue shows at most QUEUE_LIMIT)."""
    require(actor, village, "review")
    return session.execute(_pending(village, filters, func.count(Submission.id))).scalar_one()


def queue(session, village: Village, actor: StaffUser, filters: QueueFilters) -> list[QueueRow]:
    require(actor, village, "review")
    q = (
        _pending(village, filters, Submission)
        .options(
            selectinload(Submission.villager),
            selectinload(Submission.household).selectinload(Household.head),
            selectinload(Submission.household).selectinload(Household.group),
            selectinload(Submission.rule_version).selectinload(RuleVersion.rule),
            selectinload(Submission.captured_by),
        )
        .order_by(Submission.occurred_on, Submission.id)
        .limit(QUEUE_LIMIT)
    )
    rows = []
    why_not = {
        "maker_checker": _("You recorded this; another reviewer decides."),
        "conflict_of_interest": _("Your own household; another reviewer decides."),
    }
    for sub in session.execute(q).scalars():
        code = review_refusal(actor, captured_by_id=sub.captured_by_id, household_id=sub.household_id)
        why = why_not[code] if code else ""
        v = sub.rule_version
        rows.append(
            QueueRow(
                sub.id,
                sub.occurred_on,
                subject_name(sub),
                sub.household.number if sub.household else "",
                sub.household.group.name if sub.household else "",
                f"{v.rule.code} {v.name}" if v else "",
                sub.points,
                sub.requested_points,
                sub.capped,
                sub.quantity,
                sub.note or "",
                sub.captured_by.display_name or sub.captured_by.username,
                not why,
                why,
                sub.activity_id,
                sub.batch_id,
            )
        )
    return rows


def filter_choices(session, village: Village) -> dict[str, list[tuple[int, str]]]:
    groups = [
        (g.id, g.name)
        for g in session.execute(select(Group).where(Group.village_id == village.id).order_by(Group.sort_key)).scalars()
    ]
    rules = []
    for r in session.execute(
        select(Rule).where(Rule.village_id == village.id).options(selectinload(Rule.versions)).order_by(Rule.code)
    ).scalars():
        rules.append((r.id, f"{r.code} {r.latest.name}"))
    loggers = [
        (u.id, u.display_name or u.username)
        for u in session.execute(
            select(StaffUser).where(StaffUser.village_id == village.id).order_by(StaffUser.username)
        ).scalars()
    ]
    waiting = (Submission.village_id == village.id, Submission.status == SubmissionStatus.pending)
    activities = [
        (a.id, _("%(what)s (%(num)s waiting)", what=activity_text(a), num=n))
        for a, n in session.execute(
            select(Activity, func.count(Submission.id))
            .join(Submission, Submission.activity_id == Activity.id)
            .where(*waiting)
            .group_by(Activity)
            .order_by(Activity.held_on.desc(), Activity.id.desc())
            .limit(CHOICES_LIMIT)
        ).all()
    ]
    batches = [
        (b.id, _("%(what)s (%(num)s waiting)", what=" · ".join(filter(None, [batch_text(b), b.label])), num=n))
        for b, n in session.execute(
            select(CaptureBatch, func.count(Submission.id))
            .join(Submission, Submission.batch_id == CaptureBatch.id)
            .where(*waiting)
            .options(selectinload(CaptureBatch.actor))
            .group_by(CaptureBatch)
            .order_by(CaptureBatch.id.desc())
            .limit(CHOICES_LIMIT)
        ).all()
    ]
    return {"groups": groups, "rules": rules, "loggers": loggers, "activities": activities, "batches": batches}


@dataclass
class BatchShare:
    batch: str
    activity: str
    count: int


def bulk_summary(session, village: Village, actor: StaffUser, ids: list[int]) -> list[BatchShare]:
    """How the ticked captures split over capture batches (shown before a bulk approval)."""
    require(actor, village, "review")
    rows = session.execute(
        select(CaptureBatch, func.count(Submission.id))
        .join(Submission, Submission.batch_id == CaptureBatch.id)
        .where(Submission.id.in_(ids), Submission.village_id == village.id)
        .options(selectinload(CaptureBatch.actor))
        .group_by(CaptureBatch)
        .order_by(CaptureBatch.id)
    ).all()
    acts = {
        a.id: a
        for a in session.execute(
            select(Activity).where(Activity.id.in_([b.activity_id for b, _n in rows if b.activity_id]))
        ).scalars()
    }
    return [
        BatchShare(batch_text(b), activity_text(acts[b.activity_id]) if b.activity_id in acts else (b.label or ""), n)
        for b, n in rows
    ]


@dataclass
class Decision:
    done: int
    refused: list[str]


def _load(session, village: Village, ids: list[int]) -> tuple[list[Submission], list[str]]:
    subs, problems = [], []
    for sid in dict.fromkeys(ids):  # a capture ticked twice is decided once
        sub = in_village(session, Submission, sid, village)
        if sub is None:
            problems.append(_("Capture %(id)s: %(reason)s", id=sid, reason=refusal_text("not_found")))
        else:
            subs.append(sub)
    return subs, problems


def decide(
    session,
    village: Village,
    actor: StaffUser,
    ids: list[int],
    *,
    approve_them: bool,
    reason: str | None = None,
    ip: str | None = None,
) -> Decision:
    """Approve or reject the chosen captures.

    Captures the actor may not decide (their own, their household's, no longer pending) are
    left alone and reported one by one; the rest are decided together.
    """
    require(actor, village, "review")
    if not approve_them and not (reason or "").strip():
        raise Refused("reason_required", "a rejection needs a reason")
    subs, problems = _load(session, village, ids)
    ok = []
    for sub in subs:
        code = None
        if SubmissionStatus(sub.status) != SubmissionStatus.pending:
            code = "not_pending"
        else:
            code = review_refusal(actor, captured_by_id=sub.captured_by_id, household_id=sub.household_id)
        if code:
            problems.append(_("%(name)s: %(reason)s", name=subject_name(sub), reason=refusal_text(code)))
        else:
            ok.append(sub)
    if ok:
        if approve_them:
            entries = approve(session, ok, actor)
            for sub, entry in zip(ok, entries):
                audit.record(
                    session,
                    actor,
                    "approve",
                    village_id=village.id,
                    target=f"submission {sub.id}",
                    ip=ip,
                    entry=entry.id,
                    points=entry.points,
                )
        else:
            reject(session, ok, actor, reason)
            for sub in ok:
                audit.record(
                    session,
                    actor,
                    "reject",
                    village_id=village.id,
                    target=f"submission {sub.id}",
                    ip=ip,
                    reason=reason.strip(),
                )
    return Decision(len(ok), problems)


# --- manual awards (two people: one proposes, another approves) --------------------------


def award_rules(session, village: Village, actor: StaffUser, day: dt.date) -> list[RuleVersion]:
    """Rules whose logged_by is admin-only (special awards and deductions), in effect on ``day``."""
    require(actor, village, "award.propose")
    rules = session.execute(
        select(Rule).where(Rule.village_id == village.id).options(selectinload(Rule.versions)).order_by(Rule.code)
    ).scalars()
    return [
        v
        for r in rules
        if (v := r.version_on(day)) is not None and set(v.logged_by_roles) == {"admin"} and r.code != SPECIAL_AWARD.code
    ]


def award_subjects(session, village: Village) -> list[tuple[str, str]]:
    """Choices "p<id>" (a person) and "h<id>" (a household), by group and household."""
    out = []
    households = session.execute(
        select(Household)
        .where(Household.village_id == village.id, Household.active.is_(True))
        .options(selectinload(Household.members), selectinload(Household.group), selectinload(Household.head))
        .order_by(Household.group_id, Household.house_number, Household.number)
    ).scalars()
    for h in households:
        out.append(
            (
                f"h{h.id}",
                _("%(group)s · household %(number)s (%(head)s)", group=h.group.name, number=h.number, head=h.head_name),
            )
        )
        for m in h.members:
            if m.status == VillagerStatus.active:
                out.append((f"p{m.id}", f"  {h.group.name} · {h.number} · {m.name}"))
    return out


def parse_subject(value: str) -> tuple[int | None, int | None]:
    """(villager_id, household_id) from "p12" / "h3"; raises ValueError on anything else."""
    value = (value or "").strip()
    if len(value) < 2 or value[0] not in "ph" or not value[1:].isdigit():
        raise ValueError(value)
    n = int(value[1:])
    return (n, None) if value[0] == "p" else (None, n)
