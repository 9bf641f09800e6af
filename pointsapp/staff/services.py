"""Capture services for the staff pages: activities, the marking roster, results, history.

Like the core, these take domain objects, check authorization themselves (deny by default),
flush, and leave the commit to the view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..points import audit
from ..points.activities import Activity
from ..points.bounds import date_bounds
from ..points.capture import LIVE, Line, capture, find_batch
from ..points.errors import NotFound, Refused
from ..points.ledger import CaptureBatch, Submission, SubmissionStatus
from ..points.periods import local_today
from ..points.pinyin import search_keys
from ..points.policy import require
from ..points.registry import (
    Group,
    Household,
    Role,
    StaffUser,
    Village,
    Villager,
    VillagerStatus,
    get_in_village,
    in_village,
)
from ..points.rules import Rule, RuleVersion
from ..web.refusals import refusal_text
from .messages import status_labels

RECENT_DAYS = 14


def today_of(village: Village) -> dt.date:
    return local_today(village.timezone)


def visible_groups(session, village: Village, actor: StaffUser) -> list[Group]:
    """Grid workers see their own groups; reviewers and admins the whole village."""
    if Role(actor.role) == Role.grid_worker:
        return [g for g in actor.groups if g.village_id == village.id]
    return list(
        session.execute(
            select(Group).where(Group.village_id == village.id).order_by(Group.sort_key, Group.name)
        ).scalars()
    )


def loggable_rules(session, village: Village, actor: StaffUser, day: dt.date) -> list[RuleVersion]:
    """Rule versions in effect on ``day`` that the actor's role may record."""
    role = Role(actor.role).value
    rules = session.execute(
        select(Rule).where(Rule.village_id == village.id).options(selectinload(Rule.versions)).order_by(Rule.code)
    ).scalars()
    out = [v for r in rules if (v := r.version_on(day)) is not None and role in v.logged_by_roles]
    return sorted(out, key=lambda v: (v.category, v.rule.code))


def rule_label(v: RuleVersion) -> str:
    sign = "+" if v.points > 0 else ""
    per = _("per %(unit)s", unit=v.unit) if v.per == "unit" else ""
    return f"{v.rule.code} {v.name} ({sign}{v.points}{per})"


# --- activities -------------------------------------------------------------------------


@dataclass
class ActivityRow:
    id: int
    title: str
    held_on: dt.date
    place: str
    group: str
    rule: str
    recorded: int
    is_today: bool


def recent_activities(session, village: Village, actor: StaffUser, *, days: int = RECENT_DAYS) -> list[ActivityRow]:
    require(actor, village, "capture")
    today = today_of(village)
    group_ids = {g.id for g in visible_groups(session, village, actor)}
    acts = (
        session.execute(
            select(Activity)
            .where(Activity.village_id == village.id, Activity.held_on.between(today - dt.timedelta(days=days), today))
            .options(selectinload(Activity.rule).selectinload(Rule.versions), selectinload(Activity.group))
            .order_by(Activity.held_on.desc(), Activity.id.desc())
        )
        .scalars()
        .all()
    )
    acts = [a for a in acts if a.group_id is None or a.group_id in group_ids]
    counts = (
        dict(
            session.execute(
                select(Submission.activity_id, func.count())
                .where(Submission.activity_id.in_([a.id for a in acts]), Submission.status.in_(LIVE))
                .group_by(Submission.activity_id)
            ).all()
        )
        if acts
        else {}
    )
    rows = []
    for a in acts:
        v = a.rule.version_on(a.held_on) or a.rule.latest
        rows.append(
            ActivityRow(
                a.id,
                a.title,
                a.held_on,
                a.place or "",
                a.group.name if a.group else _("Whole village"),
                f"{a.rule.code} {v.name}",
                counts.get(a.id, 0),
                a.held_on == today,
            )
        )
    return rows


def create_activity(
    session,
    village: Village,
    actor: StaffUser,
    *,
    rule_id: int,
    title: str | None,
    held_on: dt.date,
    place: str | None,
    group_id: int | None,
    photo: str | None = None,
    ip: str | None = None,
) -> Activity:
    require(actor, village, "capture")
    rule = in_village(session, Rule, rule_id, village)
    if rule is None:
        raise Refused("unknown_rule", "unknown rule")
    date_bounds(session, village).check(held_on)  # not after today, not in or before a closed month
    version = rule.version_on(held_on)
    if version is None:
        raise Refused("rule_not_in_effect", "rule not in effect")
    if Role(actor.role).value not in version.logged_by_roles:
        raise Refused("role_not_allowed", "role may not record this rule")
    groups = {g.id for g in visible_groups(session, village, actor)}
    if group_id is None and Role(actor.role) == Role.grid_worker:
        own = [g for g in actor.groups if g.village_id == village.id]
        if len(own) != 1:
            raise Refused("bad_group", "choose one of your groups")
        group_id = own[0].id
    if group_id is not None and group_id not in groups:
        raise Refused("bad_group", "group not allowed")
    activity = Activity(
        village_id=village.id,
        rule_id=rule.id,
        title=(title or "").strip() or version.name,
        held_on=held_on,
        place=(place or "").strip() or None,
        group_id=group_id,
        photo=photo,
        created_by_id=actor.id,
    )
    session.add(activity)
    session.flush()
    audit.record(
        session,
        actor,
        "activity.create",
        village_id=village.id,
        target=f"activity {activity.id}",
        ip=ip,
        rule=rule.code,
        title=activity.title,
        held_on=held_on,
        group_id=group_id,
    )
    return activity


def get_activity(session, village: Village, actor: StaffUser, activity_id: int) -> Activity:
    require(actor, village, "capture")
    activity = get_in_village(session, Activity, activity_id, village, "activity")
    if activity.group_id is not None and activity.group_id not in {
        g.id for g in visible_groups(session, village, actor)
    }:
        raise Refused("outside_groups", "activity of another group")
    return activity


def activity_version(activity: Activity) -> RuleVersion:
    return activity.rule.version_on(activity.held_on) or activity.rule.latest


# --- the marking roster -----------------------------------------------------------------


@dataclass
class PersonView:
    id: int
    name: str
    relation: str
    keys: str
    checked: bool = False
    quantity: str = ""
    recorded: bool = False


@dataclass
class HouseholdView:
    id: int
    number: str
    head_name: str
    keys: str
    members: list[PersonView] = field(default_factory=list)
    checked: bool = False
    quantity: str = ""
    recorded: bool = False
    qr: str = ""  # card_hash of the household's card token, for scanning its printed QR card


def card_hash(token: str | None) -> str:
    """FNV-1a (32 bit) of a card token, in hex: lets the marking page match a scanned card
    without holding the card tokens themselves. staff-capture.js computes the same."""
    h = 0x811C9DC5
    for byte in (token or "").encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


@dataclass
class GroupView:
    id: int
    name: str
    households: list[HouseholdView] = field(default_factory=list)
    people: int = 0


def roster(
    session,
    village: Village,
    actor: StaffUser,
    activity: Activity | None,
    *,
    checked_people: set[int] = frozenset(),
    checked_households: set[int] = frozenset(),
    quantities: dict[str, str] | None = None,
) -> list[GroupView]:
    """The actor's groups, by household, head first; with pinyin search keys and marks."""
    require(actor, village, "capture")
    quantities = quantities or {}
    groups = visible_groups(session, village, actor)
    if activity is not None and activity.group_id is not None:
        groups = [g for g in groups if g.id == activity.group_id]
    recorded_people: set[int] = set()
    recorded_households: set[int] = set()
    if activity is not None:
        for vid, hid in session.execute(
            select(Submission.villager_id, Submission.household_id).where(
                Submission.activity_id == activity.id, Submission.status.in_(LIVE)
            )
        ):
            if vid is not None:
                recorded_people.add(vid)
            else:
                recorded_households.add(hid)
    households = (
        session.execute(
            select(Household)
            .where(Household.group_id.in_([g.id for g in groups]), Household.active.is_(True))
            .options(selectinload(Household.members), selectinload(Household.head))
            .order_by(Household.group_id, Household.house_number, Household.number)
        )
        .scalars()
        .all()
        if groups
        else []
    )
    by_group: dict[int, list[Household]] = {}
    for h in households:
        by_group.setdefault(h.group_id, []).append(h)
    out = []
    for g in groups:
        gv = GroupView(g.id, g.name)
        for h in by_group.get(g.id, []):
            members = [m for m in h.members if m.status == VillagerStatus.active]
            members.sort(key=lambda m: (m.id != h.head_id, m.id))
            hv = HouseholdView(
                h.id,
                h.number,
                h.head_name,
                " ".join(search_keys(m.name) for m in members),
                checked=h.id in checked_households,
                quantity=quantities.get(f"h{h.id}", ""),
                recorded=h.id in recorded_households,
                qr=card_hash(h.card_token),
            )
            hv.keys = " ".join([h.head_name, *(m.name for m in members), hv.keys])
            for m in members:
                hv.members.append(
                    PersonView(
                        m.id,
                        m.name,
                        m.relation or "",
                        f"{m.name} {search_keys(m.name)}",
                        checked=m.id in checked_people,
                        quantity=quantities.get(str(m.id), ""),
                        recorded=m.id in recorded_people,
                    )
                )
            gv.people += len(hv.members)
            gv.households.append(hv)
        out.append(gv)
    return out


REGULAR_DAYS = 90


def regulars(session, village: Village, activity: Activity) -> dict[int, int]:
    """Who came to earlier activities of the same rule in the last 90 days, and how often.

    Person ids for a per-person rule, household ids for a per-household rule. They tend to come
    again, so the marking page lists them first (less scrolling in a 150-person group).
    """
    version = activity_version(activity)
    col = Submission.household_id if version.is_household else Submission.villager_id
    since = activity.held_on - dt.timedelta(days=REGULAR_DAYS)
    rows = session.execute(
        select(col, func.count(func.distinct(Submission.activity_id)))
        .join(Activity, Activity.id == Submission.activity_id)
        .where(
            Activity.village_id == village.id,
            Activity.rule_id == activity.rule_id,
            Activity.id != activity.id,
            Activity.held_on.between(since, activity.held_on),
            Submission.status.in_(LIVE),
            col.is_not(None),
        )
        .group_by(col)
    ).all()
    return dict(rows)


@dataclass
class RegularView:
    """A person (or household) listed in the "came before" block at the top of the marking page."""

    person: PersonView | None
    household: HouseholdView
    times: int


def split_regulars(groups: list[GroupView], times: dict[int, int], *, household_rule: bool) -> list[RegularView]:
    """Take the regulars out of their households (each subject is listed once) into one list, most
    frequent first, then in roster order. People already recorded for this activity stay in place."""
    top: list[tuple[int, int, RegularView]] = []
    order = 0
    for g in groups:
        for h in g.households:
            order += 1
            if household_rule:
                if h.id in times and not h.recorded:
                    top.append((-times[h.id], order, RegularView(None, h, times[h.id])))
                continue
            keep = []
            for m in h.members:
                order += 1
                if m.id in times and not m.recorded:
                    top.append((-times[m.id], order, RegularView(m, h, times[m.id])))
                else:
                    keep.append(m)
            h.members = keep
        if household_rule:
            g.households = [h for h in g.households if not (h.id in times and not h.recorded)]
        else:
            g.households = [h for h in g.households if h.members]
    top.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in top]


def roster_names(groups: list[GroupView]) -> dict[str, str]:
    names = {}
    for g in groups:
        for h in g.households:
            names[f"h{h.id}"] = h.head_name
            for p in h.members:
                names[str(p.id)] = p.name
    return names


def parse_marks(form, version: RuleVersion) -> tuple[set[int], set[int], dict[str, str], list[str]]:
    """Read the marks of a capture form: person ids ``p``, household ids ``h``, quantities ``q-*``.

    Returns (people, households, raw quantities, errors); errors name the bad value.
    """
    errors: list[str] = []
    people: set[int] = set()
    households: set[int] = set()
    for field_name, target in (("p", people), ("h", households)):
        for raw in form.getlist(field_name):
            try:
                target.add(int(raw))
            except (TypeError, ValueError):
                errors.append(_("Unknown person or household %(value)r.", value=str(raw)[:40]))
    quantities = {k[2:]: (v or "").strip() for k, v in form.items() if k.startswith("q-")}
    # A quantity typed for someone not ticked (3 hours) ticks them: hours are never silently dropped.
    for ref, raw in quantities.items():
        if not raw:
            continue
        target, digits = (households, ref[1:]) if ref.startswith("h") else (people, ref)
        if digits.isdigit() and (ref.startswith("h") == version.is_household):
            target.add(int(digits))
    return people, households, quantities, errors


def build_lines(
    version: RuleVersion, people: set[int], households: set[int], quantities: dict[str, str], names: dict[str, str]
) -> tuple[list[Line], list[str]]:
    errors: list[str] = []
    lines: list[Line] = []
    if version.is_household:
        subjects = [(f"h{h}", Line(household_id=h, ref=f"h{h}")) for h in sorted(households)]
    else:
        subjects = [(str(p), Line(villager_id=p, ref=str(p))) for p in sorted(people)]
    for key, line in subjects:
        if version.per == "unit":
            raw = quantities.get(key, "")
            if raw:
                try:
                    line.quantity = int(raw)
                except ValueError:
                    errors.append(
                        _(
                            "Quantity for %(name)s: %(value)r is not a whole number.",
                            name=names.get(key, key),
                            value=raw[:20],
                        )
                    )
                    continue
                if line.quantity < 1 or line.quantity > 1000:
                    errors.append(
                        _(
                            "Quantity for %(name)s must be between 1 and 1000, not %(value)s.",
                            name=names.get(key, key),
                            value=line.quantity,
                        )
                    )
                    continue
        lines.append(line)
    if not lines and not errors:
        errors.append(refusal_text("no_marks"))
    return lines, errors


def run_capture(
    session,
    village: Village,
    actor: StaffUser,
    *,
    lines: list[Line],
    key: str,
    rule_code: str,
    occurred_on: dt.date,
    activity_id: int | None,
    note: str | None,
    label: str | None = None,
    ip: str | None = None,
):
    """One idempotent capture, audited unless it is a replay."""
    require(actor, village, "capture")
    for ln in lines:
        ln.note = (note or "").strip() or None
    result = capture(
        session,
        actor=actor,
        village=village,
        lines=lines,
        key=key,
        rule_code=rule_code,
        occurred_on=occurred_on,
        source="web",
        label=label,
        activity_id=activity_id,
    )
    if not result.replayed:
        audit.record(
            session,
            actor,
            "capture",
            village_id=village.id,
            target=f"batch {result.batch_id}",
            ip=ip,
            rule=rule_code,
            activity_id=activity_id,
            occurred_on=occurred_on,
            lines=len(result.lines),
            pending=result.count("pending") + result.count("capped"),
            refused=result.count("refused") + result.count("duplicate"),
        )
    return result


def already_captured(session, village: Village, key: str) -> CaptureBatch | None:
    return find_batch(session, village, key) if key else None


# --- results and history -----------------------------------------------------------------


@dataclass
class ResultRow:
    name: str
    household: str
    status: str
    label: str
    points: int
    requested: int
    message: str


def _status_of(sub: Submission) -> str:
    st = SubmissionStatus(sub.status)
    if st == SubmissionStatus.pending:
        return "capped" if sub.capped else "pending"
    if st == SubmissionStatus.approved:
        return "posted"
    if st == SubmissionStatus.rejected:
        return "rejected"
    return "duplicate" if sub.reason_code == "duplicate" else "refused"


def _message_of(sub: Submission, status: str) -> str:
    if status == "capped":
        return _(
            "Cap reached: %(points)s of %(requested)s points count.", points=sub.points, requested=sub.requested_points
        )
    if status == "rejected":
        return _("Rejected: %(reason)s", reason=sub.reason or "")
    if status in ("refused", "duplicate"):
        return refusal_text(sub.reason_code, _stored_params(sub))
    return ""


def _stored_params(sub) -> dict:
    """What a refusal's message needs, read back from the stored capture (its params are not
    stored): the rule's limit and unit for a quantity over it."""
    rv = sub.rule_version
    return {"quantity": sub.quantity, "limit": rv.quantity_limit if rv else None, "unit": rv.unit if rv else ""}


def subject_name(sub) -> str:
    if sub.villager is not None:
        return sub.villager.name
    if sub.household is not None:
        return _("Household of %(name)s", name=sub.household.head_name)
    return _("Unknown person")


def get_batch(session, village: Village, actor: StaffUser, batch_id: int) -> CaptureBatch:
    role = require(actor, village, "capture")
    batch = get_in_village(session, CaptureBatch, batch_id, village, "capture")
    if role == Role.grid_worker and batch.actor_id != actor.id:
        raise NotFound("capture", batch_id)
    return batch


def result_rows(batch: CaptureBatch) -> tuple[list[ResultRow], dict[str, int]]:
    labels = status_labels()
    rows, counts = [], {}
    for sub in batch.submissions:
        st = _status_of(sub)
        counts[st] = counts.get(st, 0) + 1
        rows.append(
            ResultRow(
                subject_name(sub),
                sub.household.number if sub.household else "",
                st,
                labels[st],
                sub.points if st in ("pending", "capped", "posted") else 0,
                sub.requested_points,
                _message_of(sub, st),
            )
        )
    return rows, counts


@dataclass
class HistoryRow:
    when: dt.date
    name: str
    rule: str
    status: str
    label: str
    points: int
    message: str
    batch_id: int


def my_captures(session, village: Village, actor: StaffUser, *, limit: int = 200) -> list[HistoryRow]:
    require(actor, village, "capture")
    subs = session.execute(
        select(Submission)
        .where(Submission.captured_by_id == actor.id, Submission.village_id == village.id)
        .options(
            selectinload(Submission.villager),
            selectinload(Submission.household).selectinload(Household.head),
            selectinload(Submission.rule_version).selectinload(RuleVersion.rule),
        )
        .order_by(Submission.captured_at.desc(), Submission.id.desc())
        .limit(limit)
    ).scalars()
    labels = status_labels()
    rows = []
    for sub in subs:
        st = _status_of(sub)
        rule = f"{sub.rule_version.rule.code} {sub.rule_version.name}" if sub.rule_version else ""
        rows.append(
            HistoryRow(
                sub.occurred_on, subject_name(sub), rule, st, labels[st], sub.points, _message_of(sub, st), sub.batch_id
            )
        )
    return rows


def villager_in_village(session, village: Village, villager_id: int) -> Villager | None:
    return in_village(session, Villager, villager_id, village)
