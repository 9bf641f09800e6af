"""Capture: the service every page, import and CLI command calls to record points.

:func:`capture` records attendance/awards for many subjects in one idempotent call; the
captures then wait for review (:mod:`pointsapp.points.review`). The refusal checks of a line
live in :mod:`pointsapp.points.checks`, caps in :mod:`pointsapp.points.caps`.

Services check the policy themselves (deny by default), flush, and leave the commit to the
caller's transaction boundary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .activities import Activity
from .bounds import date_bounds
from .caps import CapLedger
from .checks import DupKey, Resolved, line_refusal
from .closing import ClosedMonths, is_closed, pending_in_month  # noqa: F401  (old home)
from .db import utcnow
from .errors import Refused
from .ledger import CaptureBatch, Submission, SubmissionStatus, lock_village
from .moves import Residence
from .periods import local_today
from .policy import require, roles_for
from .registry import Household, StaffUser, Village, Villager, get_in_village
from .review import approve, correct, reject  # noqa: F401  (old home; import from .review)
from .rules import Rule

CAPTURE_ROLES = roles_for("capture")
REVIEW_ROLES = roles_for("review")
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
    status: str  # pending, capped, posted, duplicate, refused
    points: int = 0  # what counts (after caps)
    requested: int = 0
    code: str | None = None
    message: str | None = None
    submission_id: int | None = None
    villager_id: int | None = None
    household_id: int | None = None
    params: dict[str, object] = field(default_factory=dict)


@dataclass
class CaptureResult:
    batch_id: int
    replayed: bool  # True when the key had been seen: this is the first result
    first_at: dt.datetime
    first_by: str
    lines: list[LineResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)


def _result_of(sub: Submission) -> LineResult:
    status = {
        SubmissionStatus.pending: "capped" if sub.capped else "pending",
        SubmissionStatus.approved: "posted",
        SubmissionStatus.rejected: "rejected",
        SubmissionStatus.refused: "duplicate" if sub.reason_code == "duplicate" else "refused",
    }[SubmissionStatus(sub.status)]
    return LineResult(
        sub.line_no,
        None,
        status,
        sub.points,
        sub.requested_points,
        sub.reason_code,
        sub.reason,
        sub.id,
        sub.villager_id,
        sub.household_id,
    )


def _replay(batch: CaptureBatch) -> CaptureResult:
    res = CaptureResult(batch.id, True, batch.created_at, batch.actor.username)
    res.lines = [_result_of(s) for s in batch.submissions]
    return res


def find_batch(session: Session, village: Village, key: str) -> CaptureBatch | None:
    return session.execute(
        select(CaptureBatch).where(CaptureBatch.village_id == village.id, CaptureBatch.key == key)
    ).scalar_one_or_none()


def _check_activity(session: Session, village: Village, activity_id: int | None) -> None:
    if activity_id is None:
        return
    activity = get_in_village(session, Activity, activity_id, village, "activity")
    if activity.cancelled:
        raise Refused("activity_cancelled", "this activity was cancelled; nothing can be recorded for it")


def _load_rules(session: Session, village: Village, lines: Sequence[Line], rule_code: str | None) -> dict[str, Rule]:
    codes = {ln.rule_code or rule_code for ln in lines}
    if None in codes:
        raise Refused("unknown_rule", "every line needs a rule")
    rules = {
        r.code: r
        for r in session.execute(select(Rule).where(Rule.village_id == village.id, Rule.code.in_(codes))).scalars()
    }
    if rule_code is not None and rule_code not in rules:
        raise Refused("unknown_rule", f"rule {rule_code!r} is not in this village's rule book", rule=rule_code)
    return rules


class _Subjects:
    """Every villager and household the lines name, loaded in three queries.

    A villager's line is credited to the household they belonged to on the line's date: a move
    counts from its ``moved_on`` (see :class:`pointsapp.points.moves.Residence`).
    """

    def __init__(self, session: Session, village: Village, lines: Sequence[Line]):
        v_ids = {ln.villager_id for ln in lines if ln.villager_id is not None}
        h_ids = {ln.household_id for ln in lines if ln.household_id is not None}
        self.villagers = (
            {
                v.id: v
                for v in session.execute(
                    select(Villager).where(Villager.id.in_(v_ids), Villager.village_id == village.id)
                ).scalars()
            }
            if v_ids
            else {}
        )
        self.residence = Residence(session, self.villagers.values())
        h_ids |= self.residence.households
        self.households = (
            {
                h.id: h
                for h in session.execute(
                    select(Household).where(Household.id.in_(h_ids), Household.village_id == village.id)
                ).scalars()
            }
            if h_ids
            else {}
        )

    def resolve(self, ln: Line, rules: dict[str, Rule], rule_code: str | None, occurred_on: dt.date | None) -> Resolved:
        code = ln.rule_code or rule_code
        day = ln.occurred_on or occurred_on
        rule = rules.get(code) if code is not None else None
        version = rule.version_on(day) if rule is not None and day is not None else None
        villager = self.villagers.get(ln.villager_id) if ln.villager_id is not None else None
        hid: int | None
        if villager is not None:
            hid = self.residence.household_on(villager.id, day) if day is not None else villager.household_id
        else:
            hid = ln.household_id
        household = self.households.get(hid) if hid is not None else None
        return Resolved(code, day, rule, version, villager, household, ln.villager_id is not None, ln.quantity)


def _activity_seen(session: Session, activity_id: int | None) -> set[DupKey] | None:
    """(rule, subject) pairs already recorded for the activity; None without an activity."""
    if activity_id is None:
        return None
    seen: set[DupKey] = set()
    for rid, vid, hid in session.execute(
        select(Submission.rule_id, Submission.villager_id, Submission.household_id).where(
            Submission.activity_id == activity_id, Submission.status.in_(LIVE)
        )
    ):
        seen.add((rid, vid if vid is not None else -hid if hid is not None else None))
    return seen


def capture(
    session: Session,
    *,
    actor: StaffUser,
    village: Village,
    lines: Sequence[Line],
    key: str,
    rule_code: str | None = None,
    occurred_on: dt.date | None = None,
    source: str = "web",
    label: str | None = None,
    activity_id: int | None = None,
    now: dt.datetime | None = None,
) -> CaptureResult:
    """Record one capture for many subjects. Idempotent on ``key``; each line gets a result.

    Lines are taken in the order given (an importer sorts them by date, then sheet order).
    Lines that cannot be recorded are kept as *refused* submissions with a reason, so a
    replay returns exactly the first result.
    """
    require(actor, village, "capture")
    if not key or len(key) > 128:
        raise Refused("bad_key", "a capture needs an idempotency key of 1-128 characters")
    village = lock_village(session, village)
    if (batch := find_batch(session, village, key)) is not None:
        return _replay(batch)
    _check_activity(session, village, activity_id)
    now = now or utcnow()
    rules = _load_rules(session, village, lines, rule_code)
    batch = CaptureBatch(
        village_id=village.id,
        key=key,
        source=source,
        actor_id=actor.id,
        created_at=now,
        label=label,
        activity_id=activity_id,
    )
    session.add(batch)
    session.flush()
    subjects = _Subjects(session, village, lines)
    caps = CapLedger(session)
    if rule_code is not None and occurred_on is not None and (v := rules[rule_code].version_on(occurred_on)):
        caps.prefetch(v, occurred_on, set(subjects.households) if v.is_household else set(subjects.villagers))
    seen = _activity_seen(session, activity_id)
    dates = date_bounds(session, village, now)
    result = CaptureResult(0, False, now, actor.username)
    subs: list[Submission] = []
    for no, ln in enumerate(lines, start=1):
        r = subjects.resolve(ln, rules, rule_code, occurred_on)
        sub = Submission(  # not added to the session: written below in one INSERT
            village_id=village.id,
            batch_id=batch.id,
            line_no=no,
            rule_id=r.rule.id if r.rule else None,
            rule_version_id=r.version.id if r.version else None,
            villager_id=r.villager.id if r.villager and not r.household_rule else None,
            household_id=r.household.id if r.household else None,
            group_id=r.household.group_id if r.household else None,
            occurred_on=r.day or local_today(village.timezone, now),
            quantity=_storable(ln.quantity),
            note=ln.note,
            captured_by_id=actor.id,
            captured_at=now,
            activity_id=activity_id,
            status=SubmissionStatus.refused,
            points=0,
            requested_points=0,
            capped=False,
            reason_code=None,
            reason=None,
        )
        subs.append(sub)
        refusal = line_refusal(r, actor, dates=dates, seen=seen)
        params: dict[str, object] = {}
        if refusal is not None:
            sub.reason_code, sub.reason, params = refusal
        else:
            _grant(sub, r, caps, ln.quantity)
            if seen is not None:
                seen.add(r.dup_key)
        lr = _result_of(sub)
        lr.ref, lr.params = ln.ref, params
        if sub.capped:
            lr.message = f"cap reached: {sub.points} of {sub.requested_points} points count"
            lr.params = {"points": sub.points, "requested": sub.requested_points}
        result.lines.append(lr)
    ids = _insert(session, batch, subs)
    result.batch_id = batch.id
    for lr, sub_id in zip(result.lines, ids, strict=True):
        lr.submission_id = sub_id
    return result


_COLUMNS = tuple(c.key for c in Submission.__table__.columns if c.key != "id")


def _insert(session: Session, batch: CaptureBatch, subs: list[Submission]) -> list[int]:
    """Write the batch's submissions with one multi-row INSERT; their ids, in line order."""
    ids: list[int] = []
    if subs:
        stmt = insert(Submission).returning(Submission.id, sort_by_parameter_order=True)
        ids = list(session.scalars(stmt, [{k: getattr(sub, k) for k in _COLUMNS} for sub in subs]))
    session.expire(batch, ["submissions"])
    return ids


def _storable(quantity: object) -> int:
    """The quantity a refused line keeps on its submission: what was asked if a column can hold
    it (its refusal message names the real value), else 1."""
    ok = isinstance(quantity, int) and not isinstance(quantity, bool) and 1 <= quantity < 2**31
    return quantity if ok else 1  # type: ignore[return-value]


def _grant(sub: Submission, r: Resolved, caps: CapLedger, quantity: int) -> None:
    """A line that passed the checks: reserve its points under the caps; it waits for review."""
    assert r.version is not None and r.day is not None and r.subject_id is not None
    requested = r.version.points * quantity
    granted = caps.grant(r.version, r.day, r.subject_id, requested)
    sub.requested_points, sub.points = requested, granted
    sub.capped = granted < requested
    sub.status = SubmissionStatus.pending
