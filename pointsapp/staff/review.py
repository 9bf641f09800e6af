"""Review queue services: filter pending captures, approve or reject them, manual awards."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..points import audit
from ..points.errors import Refused
from ..points.ledger import Submission, SubmissionStatus
from ..points.policy import require, review_refusal
from ..points.review import approve, reject
from ..points.registry import Group, Household, StaffUser, Village, VillagerStatus
from ..points.rules import SPECIAL_AWARD, Rule, RuleVersion
from ..web.refusals import refusal_text
from .services import subject_name

QUEUE_LIMIT = 500


@dataclass
class QueueFilters:
    group: int | None = None
    rule: int | None = None
    logger: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_args(cls, args) -> tuple["QueueFilters", list[str]]:
        errors = []
        f = cls()
        for name in ("group", "rule", "logger"):
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
                    errors.append(_("Filter %(field)s: %(value)r is not a date (YYYY-MM-DD).", field=name, value=raw[:20]))
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


def queue(session, village: Village, actor: StaffUser, filters: QueueFilters) -> list[QueueRow]:
    require(actor, village, "review")
    q = (select(Submission).where(Submission.village_id == village.id,
                                  Submission.status == SubmissionStatus.pending)
         .options(selectinload(Submission.villager), selectinload(Submission.household).selectinload(Household.head),
                  selectinload(Submission.household).selectinload(Household.group),
                  selectinload(Submission.rule_version).selectinload(RuleVersion.rule),
                  selectinload(Submission.captured_by))
         .order_by(Submission.occurred_on, Submission.id).limit(QUEUE_LIMIT))
    if filters.group:
        q = q.where(Submission.group_id == filters.group)
    if filters.rule:
        q = q.where(Submission.rule_id == filters.rule)
    if filters.logger:
        q = q.where(Submission.captured_by_id == filters.logger)
    if filters.date_from:
        q = q.where(Submission.occurred_on >= filters.date_from)
    if filters.date_to:
        q = q.where(Submission.occurred_on <= filters.date_to)
    rows = []
    why_not = {"maker_checker": _("You recorded this; another reviewer decides."),
               "conflict_of_interest": _("Your own household; another reviewer decides.")}
    for sub in session.execute(q).scalars():
        code = review_refusal(actor, captured_by_id=sub.captured_by_id, household_id=sub.household_id)
        why = why_not[code] if code else ""
        v = sub.rule_version
        rows.append(QueueRow(
            sub.id, sub.occurred_on, subject_name(sub), sub.household.number if sub.household else "",
            sub.household.group.name if sub.household else "", f"{v.rule.code} {v.name}" if v else "",
            sub.points, sub.requested_points, sub.capped, sub.quantity, sub.note or "",
            sub.captured_by.display_name or sub.captured_by.username, not why, why))
    return rows


def filter_choices(session, village: Village) -> dict[str, list[tuple[int, str]]]:
    groups = [(g.id, g.name) for g in session.execute(
        select(Group).where(Group.village_id == village.id).order_by(Group.sort_key)).scalars()]
    rules = []
    for r in session.execute(select(Rule).where(Rule.village_id == village.id)
                             .options(selectinload(Rule.versions)).order_by(Rule.code)).scalars():
        rules.append((r.id, f"{r.code} {r.latest.name}"))
    loggers = [(u.id, u.display_name or u.username) for u in session.execute(
        select(StaffUser).where(StaffUser.village_id == village.id).order_by(StaffUser.username)).scalars()]
    return {"groups": groups, "rules": rules, "loggers": loggers}


@dataclass
class Decision:
    done: int
    refused: list[str]


def _load(session, village: Village, ids: list[int]) -> tuple[list[Submission], list[str]]:
    subs, problems = [], []
    for sid in ids:
        sub = session.get(Submission, sid)
        if sub is None or sub.village_id != village.id:
            problems.append(_("Capture %(id)s: %(reason)s", id=sid, reason=refusal_text("not_found")))
        else:
            subs.append(sub)
    return subs, problems


def decide(session, village: Village, actor: StaffUser, ids: list[int], *, approve_them: bool,
           reason: str | None = None, ip: str | None = None) -> Decision:
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
                audit.record(session, actor, "approve", village_id=village.id, target=f"submission {sub.id}",
                             ip=ip, entry=entry.id, points=entry.points)
        else:
            reject(session, ok, actor, reason)
            for sub in ok:
                audit.record(session, actor, "reject", village_id=village.id, target=f"submission {sub.id}",
                             ip=ip, reason=reason.strip())
    return Decision(len(ok), problems)


# --- manual awards (two people: one proposes, another approves) --------------------------

def award_rules(session, village: Village, actor: StaffUser, day: dt.date) -> list[RuleVersion]:
    """Rules whose logged_by is admin-only (special awards and deductions), in effect on ``day``."""
    require(actor, village, "award.propose")
    rules = session.execute(select(Rule).where(Rule.village_id == village.id)
                            .options(selectinload(Rule.versions)).order_by(Rule.code)).scalars()
    return [v for r in rules if (v := r.version_on(day)) is not None and set(v.logged_by_roles) == {"admin"}
            and r.code != SPECIAL_AWARD.code]


def award_subjects(session, village: Village) -> list[tuple[str, str]]:
    """Choices "p<id>" (a person) and "h<id>" (a household), by group and household."""
    out = []
    households = session.execute(
        select(Household).where(Household.village_id == village.id, Household.active.is_(True))
        .options(selectinload(Household.members), selectinload(Household.group), selectinload(Household.head))
        .order_by(Household.group_id, Household.house_number, Household.number)).scalars()
    for h in households:
        out.append((f"h{h.id}", _("%(group)s · household %(number)s (%(head)s)", group=h.group.name,
                                  number=h.number, head=h.head_name)))
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

