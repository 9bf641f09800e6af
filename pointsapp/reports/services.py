"""Figures for reports, gathered from the core (tallies, leaderboards, ledger). No Flask.

Everything here reads; nothing writes. Functions take a plain SQLAlchemy session and
domain objects, so the ceremony pack runs from the CLI as well as from a view.
Web callers check ``points.policy.require`` (``reports.read``, ``reports.export``,
``reports.pack``) first; the CLI, which is trusted, does not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from ..points.closing import pending_in_month
from ..points.ledger import EntryKind, LedgerEntry, Submission, SubmissionStatus
from ..points.notice import NoticeEntry
from ..points.objections import Objection, ObjectionStatus
from ..points.periods import local_today, month_key, month_range, parse_month, parse_period
from ..points.policy import require
from ..points.registry import Group, Household, StaffUser, Village, Villager, VillagerStatus
from ..points.rules import Rule, RuleVersion
from ..points.standings import Tally, month_participation
from ..web.labels import PRINT_LOCALE, kind_label

# Charts that name households of every group: only for accounts that may see every group's
# names (policy action "reports.all_names"; grid workers see their own groups' names only).
NAMING_CHARTS = frozenset({"top_households"})
SPENDING = (EntryKind.redemption.value, EntryKind.expiry.value)
OTHER_CATEGORY = "其他"


def require_chart(actor: StaffUser | None, village: Village, name: str) -> None:
    """May ``actor`` see chart ``name`` of ``village``? (Reading reports, and every name if it names people.)"""
    require(actor, village, "reports.read")
    if name in NAMING_CHARTS:
        require(actor, village, "reports.all_names")


# --- periods ----------------------------------------------------------------------------


def this_month(village: Village, now: dt.datetime | None = None) -> str:
    return month_key(local_today(village.timezone, now))


def period_end_month(period: str, village: Village, now: dt.datetime | None = None) -> str:
    """The last month of a period that has begun: a future month is clamped to the current
    one (so a year's trend ends now), and 'all' ends with the current month."""
    p = parse_period(period)
    current = this_month(village, now)
    if p.end is None:
        return current
    return min(month_key(p.end), current)


# --- summaries --------------------------------------------------------------------------


@dataclass
class Summary:
    period: str
    points: int
    entries: int
    households_with_entries: int
    active_households: int
    active_villagers: int = 0

    @property
    def participation(self) -> float | None:
        return self.households_with_entries / self.active_households if self.active_households else None

    @property
    def per_head(self) -> float:
        return round(self.points / self.active_villagers, 2) if self.active_villagers else 0.0


def active_counts(session: Session, village: Village, group: Group | None = None) -> tuple[int, int]:
    """(active households, active villagers) of a village or group."""
    hq = (
        select(func.count())
        .select_from(Household)
        .where(Household.village_id == village.id, Household.active.is_(True))
    )
    vq = (
        select(func.count())
        .select_from(Villager)
        .join(Household, Villager.household_id == Household.id)
        .where(Villager.village_id == village.id, Villager.status == VillagerStatus.active)
    )
    if group is not None:
        hq = hq.where(Household.group_id == group.id)
        vq = vq.where(Household.group_id == group.id)
    return session.execute(hq).scalar_one(), session.execute(vq).scalar_one()


def summary_between(session: Session, village: Village, start: dt.date, end: dt.date) -> Summary:
    """Like :func:`summary`, for the days ``start``..``end`` (inclusive), straight from the entries:
    the month so far, or the same days of last month."""
    honour = LedgerEntry.kind.notin_([k.value for k in EntryKind if k.spends])
    points, entries, households = session.execute(
        select(
            func.coalesce(func.sum(case((honour, LedgerEntry.points), else_=0)), 0),
            func.count(),
            func.count(func.distinct(LedgerEntry.household_id)),
        ).where(LedgerEntry.village_id == village.id, LedgerEntry.occurred_on.between(start, end))
    ).one()
    active, villagers = active_counts(session, village)
    return Summary(
        f"{start.isoformat()}/{end.isoformat()}", int(points), int(entries), int(households), active, villagers
    )


def participating_households(session: Session, village: Village, period: str, group: Group | None = None) -> int:
    key = parse_period(period).key
    q = (
        select(func.count())
        .select_from(Tally)
        .where(Tally.village_id == village.id, Tally.period == key, Tally.kind == "h", Tally.entries > 0)
    )
    if group is not None:
        q = q.join(Household, Household.id == Tally.subject_id).where(Household.group_id == group.id)
    return session.execute(q).scalar_one()


def summary(session: Session, village: Village, period: str, group: Group | None = None) -> Summary:
    """Honour points and entry count of a period (from the group tallies), and participation."""
    key = parse_period(period).key
    q = select(func.coalesce(func.sum(Tally.points), 0), func.coalesce(func.sum(Tally.entries), 0)).where(
        Tally.village_id == village.id, Tally.period == key, Tally.kind == "g"
    )
    if group is not None:
        q = q.where(Tally.subject_id == group.id)
    points, entries = session.execute(q).one()
    households, villagers = active_counts(session, village, group)
    if group is None and key[4:5] == "-" and "Q" not in key:
        took_part, households = month_participation(session, village, key)
    else:
        took_part = participating_households(session, village, key, group)
    return Summary(key, int(points), int(entries), took_part, households, villagers)


@dataclass
class GroupParticipation:
    group_id: int
    name: str
    households: int
    took_part: int
    villagers: int
    points: int

    @property
    def rate(self) -> float | None:
        return self.took_part / self.households if self.households else None

    @property
    def per_head(self) -> float:
        return round(self.points / self.villagers, 2) if self.villagers else 0.0


def group_participation(session: Session, village: Village, period: str) -> list[GroupParticipation]:
    """Per group: active households, households with an entry in the period, people, points."""
    key = parse_period(period).key
    groups = session.execute(
        select(Group.id, Group.name).where(Group.village_id == village.id).order_by(Group.sort_key, Group.id)
    ).all()
    households = dict(
        session.execute(
            select(Household.group_id, func.count())
            .where(Household.village_id == village.id, Household.active.is_(True))
            .group_by(Household.group_id)
        ).all()
    )
    people = dict(
        session.execute(
            select(Household.group_id, func.count())
            .select_from(Villager)
            .join(Household, Villager.household_id == Household.id)
            .where(Villager.village_id == village.id, Villager.status == VillagerStatus.active)
            .group_by(Household.group_id)
        ).all()
    )
    took = dict(
        session.execute(
            select(Household.group_id, func.count())
            .select_from(Tally)
            .join(Household, Household.id == Tally.subject_id)
            .where(
                Tally.village_id == village.id,
                Tally.period == key,
                Tally.kind == "h",
                Tally.entries > 0,
                Household.active.is_(True),
            )
            .group_by(Household.group_id)
        ).all()
    )
    points = dict(
        session.execute(
            select(Tally.subject_id, Tally.points).where(
                Tally.village_id == village.id, Tally.period == key, Tally.kind == "g"
            )
        ).all()
    )
    return [
        GroupParticipation(
            gid, name, households.get(gid, 0), took.get(gid, 0), people.get(gid, 0), int(points.get(gid, 0))
        )
        for gid, name in groups
    ]


def category_totals(
    session: Session, village: Village, period: str, group: Group | None = None
) -> list[tuple[str, int, int]]:
    """(category, honour points, entries) of the period's posted entries, biggest first."""
    p = parse_period(period)
    cat = func.coalesce(RuleVersion.category, OTHER_CATEGORY)
    q = (
        select(cat.label("cat"), func.sum(LedgerEntry.points).label("pts"), func.count().label("n"))
        .select_from(LedgerEntry)
        .outerjoin(RuleVersion, RuleVersion.id == LedgerEntry.rule_version_id)
        .where(LedgerEntry.village_id == village.id, LedgerEntry.kind.not_in(SPENDING))
        .group_by(cat)
    )
    if p.start is not None:
        q = q.where(LedgerEntry.occurred_on.between(p.start, p.end))
    if group is not None:
        q = q.where(LedgerEntry.group_id == group.id)
    rows = [(r.cat, int(r.pts or 0), int(r.n)) for r in session.execute(q)]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


#: Rule categories of the annual base points (年度基础分): every household gets them once a year,
#: so the trend leaves them out (they would flatten every other month and make January's
#: participation 100 %).
BASE_CATEGORIES = ("基础分",)


def first_entry_month(session: Session, village: Village) -> str | None:
    """The month of the village's first posted entry (None before the first)."""
    first = session.execute(
        select(func.min(LedgerEntry.occurred_on)).where(LedgerEntry.village_id == village.id)
    ).scalar_one()
    return month_key(first) if first else None


def trend(
    session: Session, village: Village, end_month: str, months: int = 12, group: Group | None = None
) -> list[tuple[str, int, float | None]]:
    """(month, points, participation) for up to ``months`` months to ``end_month``, from the
    village's first entry on (no months before it are shown).

    Points are honour points without the annual base points (BASE_CATEGORIES) and without
    spending. Participation is the share of today's active households (the registry keeps
    no history of them) with at least one such entry in the month."""
    first = first_entry_month(session, village)
    if first is None:
        return []
    keys = [k for k in month_range(end_month, months) if k >= first]
    households, _people = active_counts(session, village, group)
    out = []
    for key in keys:
        p = parse_month(key)
        q = (
            select(func.coalesce(func.sum(LedgerEntry.points), 0), func.count(func.distinct(LedgerEntry.household_id)))
            .select_from(LedgerEntry)
            .join(Household, Household.id == LedgerEntry.household_id)
            .outerjoin(RuleVersion, RuleVersion.id == LedgerEntry.rule_version_id)
            .where(
                LedgerEntry.village_id == village.id,
                LedgerEntry.occurred_on.between(p.start, p.end),
                LedgerEntry.kind.not_in(SPENDING),
                func.coalesce(RuleVersion.category, "").not_in(BASE_CATEGORIES),
            )
        )
        took_q = q.where(Household.active.is_(True))
        if group is not None:
            q = q.where(LedgerEntry.group_id == group.id)
            took_q = took_q.where(Household.group_id == group.id)
        points = session.execute(q).one()[0]
        took = session.execute(took_q).one()[1]
        out.append((key, int(points or 0), took / households if households else None))
    return out


# --- the month's entries ----------------------------------------------------------------


@dataclass
class EntryRow:
    id: int
    seq: int
    occurred_on: dt.date
    kind: str
    points: int
    requested_points: int
    capped: bool
    quantity: int
    group: str
    household_no: str
    house_number: str | None
    head: str
    villager: str | None
    rule_code: str | None
    rule_name: str | None
    category: str | None
    note: str | None
    recorded_at: dt.datetime
    captured_by: str | None
    approved_by: str | None
    corrects_id: int | None
    corrects_seq: int | None
    corrects_on: dt.date | None
    hash: str

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind, PRINT_LOCALE)  # the workbook and the pack are in Chinese

    @property
    def person(self) -> str:
        return self.villager or f"{self.head}户"


def _entry_query(village: Village):
    head = aliased(Villager)
    person = aliased(Villager)
    original = aliased(LedgerEntry)
    capturer = aliased(StaffUser)
    approver = aliased(StaffUser)
    cols = (
        LedgerEntry.id,
        LedgerEntry.seq,
        LedgerEntry.occurred_on,
        LedgerEntry.kind,
        LedgerEntry.points,
        LedgerEntry.requested_points,
        LedgerEntry.capped,
        LedgerEntry.quantity,
        Group.name.label("group"),
        Household.number,
        Household.house_number,
        func.coalesce(head.name, "#" + Household.number).label("head"),
        person.name.label("villager"),
        Rule.code,
        RuleVersion.name.label("rule_name"),
        RuleVersion.category,
        LedgerEntry.note,
        LedgerEntry.recorded_at,
        func.coalesce(capturer.display_name, capturer.username).label("cap"),
        func.coalesce(approver.display_name, approver.username).label("appr"),
        LedgerEntry.corrects_id,
        original.seq.label("oseq"),
        original.occurred_on.label("oon"),
        LedgerEntry.hash,
    )
    return (
        select(*cols)
        .select_from(LedgerEntry)
        .join(Household, Household.id == LedgerEntry.household_id)
        .join(Group, Group.id == LedgerEntry.group_id)
        .outerjoin(head, head.id == Household.head_id)
        .outerjoin(person, person.id == LedgerEntry.villager_id)
        .outerjoin(Rule, Rule.id == LedgerEntry.rule_id)
        .outerjoin(RuleVersion, RuleVersion.id == LedgerEntry.rule_version_id)
        .outerjoin(original, original.id == LedgerEntry.corrects_id)
        .outerjoin(capturer, capturer.id == LedgerEntry.captured_by_id)
        .outerjoin(approver, approver.id == LedgerEntry.approved_by_id)
        .where(LedgerEntry.village_id == village.id)
    )


def month_entries(session: Session, village: Village, month: str) -> list[EntryRow]:
    """Every posted entry whose local date falls in the month (corrections count in the month
    they were posted), in chain order, with names resolved."""
    p = parse_month(month)
    q = _entry_query(village).where(LedgerEntry.occurred_on.between(p.start, p.end)).order_by(LedgerEntry.seq)
    return [EntryRow(*r) for r in session.execute(q)]


def notice_entry_rows(session: Session, village: Village, notice_id: int) -> list[EntryRow]:
    """The entries a published notice lists (its frozen list), in chain order, with names resolved.

    The list's places first, then the entries by place: joining the two in one statement let
    PostgreSQL, without fresh statistics, scan the village's whole ledger once per listed entry
    (111 s for a month of 2,217 entries)."""
    seqs = session.execute(
        select(NoticeEntry.seq).where(NoticeEntry.notice_id == notice_id, NoticeEntry.village_id == village.id)
    ).scalars()
    return entry_rows_by_seq(session, village, sorted(seqs))


def entry_rows_by_seq(session: Session, village: Village, seqs: list[int]) -> list[EntryRow]:
    """The village's entries at the given places in the chain, in chain order."""
    out: list[EntryRow] = []
    for i in range(0, len(seqs), 900):  # stay under SQLite's bound-parameter limit
        q = _entry_query(village).where(LedgerEntry.seq.in_(seqs[i : i + 900]))
        out += [EntryRow(*r) for r in session.execute(q)]
    return sorted(out, key=lambda e: e.seq)


# --- pending work -----------------------------------------------------------------------


@dataclass
class Pending:
    month: str
    in_month: int
    in_month_points: int
    total: int
    by_rule: list[tuple[str, str, int, int]] = field(default_factory=list)  # code, name, count, points


def pending(session: Session, village: Village, month: str) -> Pending:
    p = parse_month(month)
    base = (Submission.village_id == village.id, Submission.status == SubmissionStatus.pending)
    in_month = pending_in_month(session, village, p.key)
    pts = session.execute(
        select(func.coalesce(func.sum(Submission.points), 0)).where(
            *base, Submission.occurred_on.between(p.start, p.end)
        )
    ).scalar_one()
    total = session.execute(select(func.count()).select_from(Submission).where(*base)).scalar_one()
    by_rule = session.execute(
        select(Rule.code, RuleVersion.name, func.count(), func.coalesce(func.sum(Submission.points), 0))
        .select_from(Submission)
        .outerjoin(Rule, Rule.id == Submission.rule_id)
        .outerjoin(RuleVersion, RuleVersion.id == Submission.rule_version_id)
        .where(*base, Submission.occurred_on.between(p.start, p.end))
        .group_by(Rule.code, RuleVersion.name)
        .order_by(Rule.code)
    ).all()
    return Pending(p.key, in_month, int(pts), total, [(c or "", n or "", int(k), int(s)) for c, n, k, s in by_rule])


def pending_count(session: Session, village: Village) -> int:
    return session.execute(
        select(func.count())
        .select_from(Submission)
        .where(Submission.village_id == village.id, Submission.status == SubmissionStatus.pending)
    ).scalar_one()


@dataclass
class OpenObjection:
    id: int
    raised_at: dt.datetime
    household: str
    entry_seq: int | None  # None: a missing entry (漏记)
    entry_on: dt.date | None
    points: int | None
    reason: str


def open_objection_list(session: Session, village: Village, limit: int = 5) -> tuple[int, list[OpenObjection]]:
    """(number of open objections, the oldest ``limit`` of them)."""
    where = and_(Objection.village_id == village.id, Objection.status == ObjectionStatus.open.value)
    count = session.execute(select(func.count()).select_from(Objection).where(where)).scalar_one()
    head = aliased(Villager)
    rows = session.execute(
        select(
            Objection.id,
            Objection.raised_at,
            func.coalesce(head.name, "#" + Household.number),
            LedgerEntry.seq,
            LedgerEntry.occurred_on,
            LedgerEntry.points,
            Objection.reason,
        )
        .outerjoin(LedgerEntry, LedgerEntry.id == Objection.entry_id)
        .join(Household, Household.id == Objection.household_id)
        .outerjoin(head, head.id == Household.head_id)
        .where(where)
        .order_by(Objection.raised_at)
        .limit(limit)
    ).all()
    return count, [OpenObjection(*r) for r in rows]


# --- registry helpers -------------------------------------------------------------------


def household_details(session: Session, village: Village) -> dict[int, tuple[str, str | None, int]]:
    """{household id: (户号, 门牌号, active members)}."""
    members = dict(
        session.execute(
            select(Villager.household_id, func.count())
            .where(Villager.village_id == village.id, Villager.status == VillagerStatus.active)
            .group_by(Villager.household_id)
        ).all()
    )
    return {
        hid: (number, house, members.get(hid, 0))
        for hid, number, house in session.execute(
            select(Household.id, Household.number, Household.house_number).where(Household.village_id == village.id)
        )
    }


def tally_entries(session: Session, village: Village, period: str, kind: str) -> dict[int, int]:
    key = parse_period(period).key
    return dict(
        session.execute(
            select(Tally.subject_id, Tally.entries).where(
                Tally.village_id == village.id, Tally.period == key, Tally.kind == kind
            )
        ).all()
    )


def groups_of(session: Session, village: Village) -> list[Group]:
    return list(
        session.execute(
            select(Group).where(Group.village_id == village.id).order_by(Group.sort_key, Group.id)
        ).scalars()
    )


def rules_of(session: Session, village: Village) -> list[tuple[str, str]]:
    """(code, latest name) of the village's rules, by code."""
    rules = session.execute(select(Rule).where(Rule.village_id == village.id).order_by(Rule.code)).scalars()
    return [(r.code, r.latest.name if r.versions else r.code) for r in rules]
