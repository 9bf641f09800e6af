"""Capture, review and posting: the services every page, import and CLI command calls.

- :func:`capture` records attendance/awards for many subjects in one idempotent call.
- :func:`approve` / :func:`reject` are the reviewer's decisions; approving posts to the ledger.
- :func:`correct` posts a reversing entry linked to the original.

All of them take domain objects, check authorization themselves (deny by default), flush,
and leave the commit to the caller.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .activities import Activity
from .db import lock_row, utcnow
from .errors import Refused
from .ledger import (
    CaptureBatch, ClosedPeriod, EntryKind, LedgerEntry, Submission, SubmissionStatus, append_entry,
)
from .periods import cap_window, local_today, month_key, parse_month
from .registry import Household, Role, StaffUser, Village, Villager, VillagerStatus
from .rules import Rule, RuleVersion
from .standings import apply_tallies

CAPTURE_ROLES = {Role.grid_worker, Role.reviewer, Role.admin}
REVIEW_ROLES = {Role.reviewer, Role.admin}
LIVE = (SubmissionStatus.pending, SubmissionStatus.approved)


@dataclass
class Line:
    """One subject of a capture: a villager, or a household for household rules.

    ``rule_code`` and ``occurred_on`` default to the call's; a score sheet sets them per row.
    """

    villager_id: int | None = None
    household_id: int | None = None
    quantity: int = 1
    note: str | None = None
    ref: str | None = None  # caller's label for messages, e.g. "row 12"
    rule_code: str | None = None
    occurred_on: dt.date | None = None


@dataclass
class LineResult:
    line_no: int
    ref: str | None
    status: str            # pending, capped, posted, duplicate, refused
    points: int = 0        # what counts (after caps)
    requested: int = 0
    code: str | None = None
    message: str | None = None
    submission_id: int | None = None
    villager_id: int | None = None
    household_id: int | None = None


@dataclass
class CaptureResult:
    batch_id: int
    replayed: bool                     # True when the key had been seen: this is the first result
    first_at: dt.datetime
    first_by: str
    lines: list[LineResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)


def _require_staff(actor: StaffUser, village: Village, roles: set[Role], doing: str) -> None:
    if actor is None or not actor.active:
        raise Refused("not_allowed", f"an active staff account is needed to {doing}")
    if Role(actor.role) not in roles:
        raise Refused("not_allowed", f"role {Role(actor.role).value} may not {doing}")
    if actor.village_id != village.id:
        raise Refused("not_allowed", f"user {actor.username} does not belong to village {village.name}")


def is_closed(session: Session, village: Village, day: dt.date) -> bool:
    return session.execute(
        select(ClosedPeriod.id).where(ClosedPeriod.village_id == village.id,
                                      ClosedPeriod.month == month_key(day))
    ).first() is not None


def lock_village(session: Session, village: Village) -> Village:
    """Serialise ledger writers of one village (caps, chain head) until the transaction ends."""
    locked = lock_row(session, Village, village.id)
    session.refresh(locked, ["ledger_seq", "ledger_head"])
    return locked


def _result_of(sub: Submission) -> LineResult:
    status = {
        SubmissionStatus.pending: "capped" if sub.capped else "pending",
        SubmissionStatus.approved: "posted",
        SubmissionStatus.rejected: "rejected",
        SubmissionStatus.refused: "duplicate" if sub.reason_code == "duplicate" else "refused",
    }[SubmissionStatus(sub.status)]
    return LineResult(sub.line_no, None, status, sub.points, sub.requested_points, sub.reason_code,
                      sub.reason, sub.id, sub.villager_id, sub.household_id)


def _replay(batch: CaptureBatch) -> CaptureResult:
    res = CaptureResult(batch.id, True, batch.created_at, batch.actor.username)
    res.lines = [_result_of(s) for s in batch.submissions]
    return res


def find_batch(session: Session, village: Village, key: str) -> CaptureBatch | None:
    return session.execute(
        select(CaptureBatch).where(CaptureBatch.village_id == village.id, CaptureBatch.key == key)
    ).scalar_one_or_none()


class _CapLedger:
    """Points already used against caps, per rule and subject, counting pending captures.

    Corrections are not counted: a reversed award keeps its place under the cap.

    Sums are fetched with one grouped query per (rule, cap period, window) for all the
    subjects of the call, then kept up to date in memory as lines are granted.
    """

    def __init__(self, session: Session):
        self.session = session
        self.used: dict[tuple, int] = {}
        self.loaded: set[tuple] = set()

    def prefetch(self, version: RuleVersion, day: dt.date, subject_ids: set[int]) -> None:
        """Used = posted awards of the rule in the window + captures still pending."""
        for period in (version.caps if version.points > 0 else {}):
            lo, hi = cap_window(period, day)
            wanted = {sid for sid in subject_ids if (version.rule_id, period, lo, sid) not in self.loaded}
            if not wanted:
                continue
            found: dict[int, int] = defaultdict(int)
            for model, extra in ((LedgerEntry, LedgerEntry.kind == EntryKind.award),
                                 (Submission, Submission.status == SubmissionStatus.pending)):
                col = model.household_id if version.is_household else model.villager_id
                q = (select(col, func.sum(model.points)).where(
                    model.rule_id == version.rule_id, col.in_(wanted),
                    model.occurred_on.between(lo, hi), extra).group_by(col))
                if version.is_household:
                    q = q.where(model.villager_id.is_(None))
                for sid, used in self.session.execute(q):
                    found[sid] += int(used or 0)
            for sid in wanted:
                key = (version.rule_id, period, lo, sid)
                self.loaded.add(key)
                self.used[key] = found.get(sid, 0)

    def grant(self, version: RuleVersion, day: dt.date, subject_id: int, requested: int) -> int:
        caps = version.caps if version.points > 0 else {}
        if requested <= 0 or not caps:
            return requested
        self.prefetch(version, day, {subject_id})
        keys = {p: (version.rule_id, p, cap_window(p, day)[0], subject_id) for p in caps}
        room = min(cap - self.used[keys[p]] for p, cap in caps.items())
        granted = max(0, min(requested, room))
        for key in keys.values():
            self.used[key] += granted
        return granted


def capture(session: Session, *, actor: StaffUser, village: Village, lines: Sequence[Line], key: str,
            rule_code: str | None = None, occurred_on: dt.date | None = None, source: str = "web",
            label: str | None = None, activity_id: int | None = None,
            now: dt.datetime | None = None) -> CaptureResult:
    """Record one capture for many subjects. Idempotent on ``key``; each line gets a result.

    Lines are taken in the order given (an importer sorts them by date, then sheet order).
    Lines that cannot be recorded are kept as *refused* submissions with a reason, so a
    replay returns exactly the first result.
    """
    _require_staff(actor, village, CAPTURE_ROLES, "capture points")
    if not key or len(key) > 128:
        raise Refused("bad_key", "a capture needs an idempotency key of 1-128 characters")
    village = lock_village(session, village)
    if (batch := find_batch(session, village, key)) is not None:
        return _replay(batch)
    if activity_id is not None:
        activity = session.get(Activity, activity_id)
        if activity is None or activity.village_id != village.id:
            raise Refused("not_found", f"no activity {activity_id} in this village")
        if activity.cancelled:
            raise Refused("activity_cancelled", "this activity was cancelled; nothing can be recorded for it")
    now = now or utcnow()
    codes = {ln.rule_code or rule_code for ln in lines}
    if None in codes:
        raise Refused("unknown_rule", "every line needs a rule")
    rules = {r.code: r for r in session.execute(
        select(Rule).where(Rule.village_id == village.id, Rule.code.in_(codes))).scalars()}
    if rule_code is not None and rule_code not in rules:
        raise Refused("unknown_rule", f"rule {rule_code!r} is not in this village's rule book", rule=rule_code)
    batch = CaptureBatch(village_id=village.id, key=key, source=source, actor_id=actor.id,
                         created_at=now, label=label, activity_id=activity_id)
    session.add(batch)

    # Load every named subject in two queries.
    v_ids = {ln.villager_id for ln in lines if ln.villager_id is not None}
    h_ids = {ln.household_id for ln in lines if ln.household_id is not None}
    villagers = {v.id: v for v in session.execute(
        select(Villager).where(Villager.id.in_(v_ids), Villager.village_id == village.id)).scalars()} if v_ids else {}
    h_ids |= {v.household_id for v in villagers.values()}
    households = {h.id: h for h in session.execute(
        select(Household).where(Household.id.in_(h_ids), Household.village_id == village.id)).scalars()} if h_ids else {}

    closed_cache: dict[str, bool] = {}
    caps = _CapLedger(session)
    if rule_code is not None and occurred_on is not None and (v := rules[rule_code].version_on(occurred_on)):
        caps.prefetch(v, occurred_on, set(households) if v.is_household else set(villagers))
    seen: set[tuple[int, int]] = set()
    if activity_id is not None:
        for rid, vid, hid in session.execute(select(
                Submission.rule_id, Submission.villager_id, Submission.household_id).where(
                Submission.activity_id == activity_id, Submission.status.in_(LIVE))):
            seen.add((rid, vid if vid is not None else -hid))
    role = Role(actor.role)

    result = CaptureResult(0, False, now, actor.username)
    for no, ln in enumerate(lines, start=1):
        code = ln.rule_code or rule_code
        day = ln.occurred_on or occurred_on
        rule = rules.get(code)
        version = rule.version_on(day) if rule is not None and day is not None else None
        household_rule = version is not None and version.is_household
        villager = villagers.get(ln.villager_id) if ln.villager_id is not None else None
        household = households.get(villager.household_id if villager else ln.household_id)
        sub = Submission(
            village_id=village.id, batch=batch, line_no=no, rule_id=rule.id if rule else None,
            rule_version_id=version.id if version else None,
            villager_id=villager.id if villager and not household_rule else None,
            household_id=household.id if household else None,
            group_id=household.group_id if household else None,
            occurred_on=day or local_today(village.timezone, now), quantity=ln.quantity, note=ln.note,
            captured_by_id=actor.id, captured_at=now, activity_id=activity_id,
            status=SubmissionStatus.refused,
        )
        session.add(sub)

        def refuse(reason_code: str, message: str):
            sub.reason_code, sub.reason = reason_code, message

        if day is not None and (m := month_key(day)) not in closed_cache:
            closed_cache[m] = is_closed(session, village, day)
        quantity_ok = isinstance(ln.quantity, int) and not isinstance(ln.quantity, bool) and ln.quantity >= 1
        subject_id = None
        if household is not None:
            subject_id = household.id if household_rule else (villager.id if villager else None)
        dup_key = (rule.id if rule else None, -household.id if household_rule and household else subject_id)
        if rule is None:
            refuse("unknown_rule", f"rule {code!r} is not in this village's rule book")
        elif day is None:
            refuse("bad_date", "a date is needed")
        elif household is None or (ln.villager_id is not None and villager is None):
            refuse("unknown_subject", "no such villager or household in this village")
        elif version is None:
            refuse("rule_not_in_effect", f"rule {rule.code} is not in effect on {day}")
        elif role.value not in version.logged_by_roles:
            refuse("role_not_allowed", f"rule {rule.code} may be recorded by "
                   f"{', '.join(version.logged_by_roles)}, not by {role.value}")
        elif villager is not None and villager.status != VillagerStatus.active:
            refuse("inactive_villager", f"{villager.name} is not active ({VillagerStatus(villager.status).value})")
        elif villager is None and not household_rule:
            refuse("needs_person", f"rule {rule.code} is recorded per person; name a villager")
        elif role == Role.grid_worker and household.group_id not in actor.group_ids:
            refuse("outside_groups", "this household is outside the grid worker's groups")
        elif actor.own_household_id is not None and household.id == actor.own_household_id:
            refuse("conflict_of_interest", "staff may not record points for their own household")
        elif closed_cache[month_key(day)]:
            refuse("period_closed", f"{month_key(day)} is closed; nothing can be posted with a date in it")
        elif not quantity_ok:
            refuse("bad_quantity", f"quantity must be a whole number of at least 1, got {ln.quantity!r}")
        elif activity_id is not None and dup_key in seen:
            refuse("duplicate", "already recorded for this activity")
        else:
            requested = version.points * ln.quantity
            granted = caps.grant(version, day, subject_id, requested)
            sub.requested_points, sub.points = requested, granted
            sub.capped = granted < requested
            sub.status = SubmissionStatus.pending
            if activity_id is not None:
                seen.add(dup_key)
        lr = _result_of(sub)
        lr.ref = ln.ref
        if sub.capped:
            lr.message = f"cap reached: {sub.points} of {sub.requested_points} points count"
        result.lines.append(lr)
    session.flush()
    result.batch_id = batch.id
    for lr, sub in zip(result.lines, batch.submissions):
        lr.submission_id = sub.id
    return result


# --- review -----------------------------------------------------------------------------

def _kind_for(points: int) -> EntryKind:
    return EntryKind.award if points >= 0 else EntryKind.deduction


def _check_reviewer(session: Session, village: Village, sub: Submission, approver: StaffUser) -> None:
    if sub.village_id != village.id:
        raise Refused("not_found", f"capture {sub.id} is not in village {village.name}")
    if SubmissionStatus(sub.status) != SubmissionStatus.pending:
        raise Refused("not_pending", f"capture {sub.id} is {SubmissionStatus(sub.status).value}, not pending")
    if sub.captured_by_id == approver.id:
        raise Refused("maker_checker", "the reviewer must not be the person who captured it")
    if approver.own_household_id is not None and sub.household_id == approver.own_household_id:
        raise Refused("conflict_of_interest", "a reviewer may not approve an entry for their own household")


def approve(session: Session, submissions: Iterable[Submission], approver: StaffUser, *,
            now: dt.datetime | None = None) -> list[LedgerEntry]:
    """Post pending captures to the ledger. All or nothing: any refusal raises before posting."""
    subs = list(submissions)
    if not subs:
        return []
    village = session.get(Village, subs[0].village_id)
    _require_staff(approver, village, REVIEW_ROLES, "approve captures")
    village = lock_village(session, village)
    now = now or utcnow()
    closed_months: dict[str, bool] = {}
    for sub in subs:
        session.refresh(sub, ["status"])
        _check_reviewer(session, village, sub, approver)
        m = month_key(sub.occurred_on)
        if m not in closed_months:
            closed_months[m] = is_closed(session, village, sub.occurred_on)
        if closed_months[m]:
            raise Refused("period_closed", f"{m} is closed; capture {sub.id} can no longer be posted")
    entries = []
    for sub in subs:
        note = sub.note
        if sub.capped:
            cap_note = f"cap reached: {sub.points} of {sub.requested_points} points"
            note = f"{note}; {cap_note}" if note else cap_note
        entry = append_entry(
            session, village, kind=_kind_for(sub.requested_points), points=sub.points,
            requested_points=sub.requested_points, capped=sub.capped, quantity=sub.quantity,
            rule_id=sub.rule_id, rule_version_id=sub.rule_version_id, villager_id=sub.villager_id,
            household_id=sub.household_id, group_id=sub.group_id, occurred_on=sub.occurred_on,
            recorded_at=now, note=note, captured_by_id=sub.captured_by_id, approved_by_id=approver.id,
            submission_id=sub.id,
        )
        sub.status, sub.decided_by_id, sub.decided_at = SubmissionStatus.approved, approver.id, now
        entries.append(entry)
    session.flush()
    apply_tallies(session, entries)
    return entries


def reject(session: Session, submissions: Iterable[Submission], reviewer: StaffUser, reason: str, *,
           now: dt.datetime | None = None) -> None:
    """Reject pending captures with a reason the logger sees; their cap reservation is released."""
    subs = list(submissions)
    if not subs:
        return
    if not reason or not reason.strip():
        raise Refused("reason_required", "a rejection needs a reason")
    village = session.get(Village, subs[0].village_id)
    _require_staff(reviewer, village, REVIEW_ROLES, "reject captures")
    lock_village(session, village)
    now = now or utcnow()
    for sub in subs:
        session.refresh(sub, ["status"])
        _check_reviewer(session, village, sub, reviewer)
    for sub in subs:
        sub.status, sub.reason_code, sub.reason = SubmissionStatus.rejected, "rejected", reason.strip()
        sub.decided_by_id, sub.decided_at = reviewer.id, now
    session.flush()


def correct(session: Session, original: LedgerEntry, actor: StaffUser, reason: str, *,
            points: int | None = None, now: dt.datetime | None = None) -> LedgerEntry:
    """Post a correction linked to ``original``: by default it reverses what is still standing.

    It goes into the open month (today's local date); a correction never touches a closed month.
    """
    if not reason or not reason.strip():
        raise Refused("reason_required", "a correction needs a reason")
    village = session.get(Village, original.village_id)
    _require_staff(actor, village, REVIEW_ROLES, "post corrections")
    if actor.own_household_id is not None and original.household_id == actor.own_household_id:
        raise Refused("conflict_of_interest", "staff may not correct entries of their own household")
    if EntryKind(original.kind) == EntryKind.correction:
        raise Refused("bad_target", "correct the original entry, not a correction")
    village = lock_village(session, village)
    now = now or utcnow()
    today = local_today(village.timezone, now)
    if is_closed(session, village, today):
        raise Refused("period_closed", f"{month_key(today)} is closed; no month is open for the correction")
    already = session.execute(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.corrects_id == original.id)).scalar_one()
    standing = original.points + int(already)
    delta = -standing if points is None else points
    if delta == 0:
        raise Refused("nothing_to_correct", f"entry {original.id} has nothing left to correct")
    entry = append_entry(
        session, village, kind=EntryKind.correction, points=delta, requested_points=delta,
        quantity=original.quantity, rule_id=original.rule_id, rule_version_id=original.rule_version_id,
        villager_id=original.villager_id, household_id=original.household_id, group_id=original.group_id,
        occurred_on=today, recorded_at=now, note=reason.strip(), captured_by_id=actor.id,
        approved_by_id=actor.id, corrects_id=original.id, corrects_seq=original.seq,
    )
    session.flush()
    apply_tallies(session, [entry])
    return entry


# --- month close ------------------------------------------------------------------------

def pending_in_month(session: Session, village: Village, month: str) -> int:
    p = parse_month(month)
    return session.execute(select(func.count()).select_from(Submission).where(
        Submission.village_id == village.id, Submission.status == SubmissionStatus.pending,
        Submission.occurred_on.between(p.start, p.end))).scalar_one()
