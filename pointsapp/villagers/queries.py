"""Read-only queries behind the villager pages (Flask-free; the views format and translate).

Everything here is scoped to one household or one village and returns plain values, so a
view can never hand a template another household's details by accident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..points.activities import Activity
from ..points.ledger import EntryKind, LedgerEntry, Submission, SubmissionStatus
from ..points.notice import Notice, NoticeEntry, notices_of_entries
from ..points.objections import Objection
from ..points.periods import parse_period
from ..points.registry import Group, Household, Village, Villager
from ..points.rules import Rule, RuleVersion
from ..points.standings import BoardRow, Standing, household_standing

SPENDING = (EntryKind.redemption.value, EntryKind.expiry.value)
HISTORY_PAGE = 20


# --- the household page -------------------------------------------------------------------


@dataclass
class MemberPoints:
    villager_id: int | None  # None: household items (e.g. yard hygiene)
    name: str | None  # None for former members: never shown on this page
    status: str | None
    month: int
    all_time: int


def member_points(session: Session, household: Household, month: str) -> list[MemberPoints]:
    """Each member's contribution to this household, this month and all time.

    People who have since moved to another household are summed up without a name.
    """
    p = parse_period(month)
    in_month = case((LedgerEntry.occurred_on.between(p.start, p.end), LedgerEntry.points), else_=0)
    rows = session.execute(
        select(LedgerEntry.villager_id, func.sum(in_month), func.sum(LedgerEntry.points))
        .where(LedgerEntry.household_id == household.id, LedgerEntry.kind.not_in(SPENDING))
        .group_by(LedgerEntry.villager_id)
    ).all()
    sums = {vid: (int(m or 0), int(a or 0)) for vid, m, a in rows}
    out = []
    for v in household.members:
        m, a = sums.pop(v.id, (0, 0))
        status = getattr(v.status, "value", v.status)
        if status != "active" and a == 0:
            continue
        out.append(MemberPoints(v.id, v.name, status, m, a))
    hh = sums.pop(None, None)
    if hh is not None:
        out.append(MemberPoints(None, None, "household", *hh))
    if sums:
        out.append(MemberPoints(-1, None, "former", sum(s[0] for s in sums.values()), sum(s[1] for s in sums.values())))
    return out


def pending_items(session: Session, household: Household) -> list[Submission]:
    return list(
        session.execute(
            select(Submission)
            .where(Submission.household_id == household.id, Submission.status == SubmissionStatus.pending)
            .options(
                joinedload(Submission.rule_version), joinedload(Submission.villager), joinedload(Submission.captured_by)
            )
            .order_by(Submission.occurred_on.desc(), Submission.id.desc())
        ).scalars()
    )


@dataclass
class HistoryPage:
    entries: list[LedgerEntry]
    page: int
    pages: int
    total: int
    notices: dict[int, Notice] = field(default_factory=dict)  # entry id -> the notice listing it
    objections: dict[int, Objection] = field(default_factory=dict)  # entry id -> latest
    corrected_pages: dict[int, int] = field(default_factory=dict)  # corrected entry id -> page
    corrected_by: dict[int, list[LedgerEntry]] = field(default_factory=dict)  # entry id -> its corrections
    correction_pages: dict[int, int] = field(default_factory=dict)  # correction id -> page
    missing: list[Objection] = field(default_factory=list)  # the newest "漏记了？" reports (no entry named)


MISSING_SHOWN = 10


def _history_order():
    return (LedgerEntry.occurred_on.desc(), LedgerEntry.seq.desc())


def history(session: Session, household: Household, page: int = 1, per_page: int = HISTORY_PAGE) -> HistoryPage:
    """The household's posted entries, newest first, one page of them, with the objections to them and
    the household's newest "漏记了？" reports (objections naming no entry), read together."""

    def one_page(n: int) -> list:
        """(entry, the household's entry count) rows of page n: the count rides along as a window."""
        return list(
            session.execute(
                select(LedgerEntry, func.count().over())
                .where(LedgerEntry.household_id == household.id)
                .options(
                    joinedload(LedgerEntry.rule_version),
                    joinedload(LedgerEntry.villager),
                    joinedload(LedgerEntry.captured_by),
                    joinedload(LedgerEntry.approved_by),
                    joinedload(LedgerEntry.corrects).joinedload(LedgerEntry.rule_version),
                )
                .order_by(*_history_order())
                .offset((n - 1) * per_page)
                .limit(per_page)
            ).all()
        )

    page = max(1, page)
    rows = one_page(page)
    if rows:
        total = int(rows[0][1])
    else:  # no entries at all, or a page past the last: count, then show the last page
        total = session.execute(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.household_id == household.id)
        ).scalar_one()
        if total and page > 1:
            page = -(-total // per_page)
            rows = one_page(page)
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    entries = [r[0] for r in rows]
    result = HistoryPage(entries, page, pages, total)
    result.notices = notices_of_entries(session, entries)
    ids = [e.id for e in entries]
    missing = []
    for obj in session.execute(
        select(Objection)
        .where(Objection.household_id == household.id, or_(Objection.entry_id.is_(None), Objection.entry_id.in_(ids)))
        .order_by(Objection.raised_at, Objection.id)
    ).scalars():
        if obj.entry_id is None:
            missing.append(obj)
        else:
            result.objections[obj.entry_id] = obj  # the latest wins
    result.missing = missing[::-1][:MISSING_SHOWN]
    corrected = [e.corrects for e in entries if e.corrects is not None]
    fixes = (
        list(
            session.execute(
                select(LedgerEntry).where(LedgerEntry.corrects_id.in_(ids)).order_by(LedgerEntry.seq)
            ).scalars()
        )
        if ids
        else []
    )
    pages_of = entry_pages(session, household, [*corrected, *fixes], per_page)
    for c in corrected:
        result.corrected_pages[c.id] = pages_of[c.id]
    for fix in fixes:
        result.corrected_by.setdefault(fix.corrects_id, []).append(fix)
        result.correction_pages[fix.id] = pages_of[fix.id]
    return result


def entry_pages(
    session: Session, household: Household, entries: list[LedgerEntry], per_page: int = HISTORY_PAGE
) -> dict[int, int]:
    """{entry id: the history page it appears on} in one query (a row number over the household's
    history); an entry of another household (moved since) is looked up on its own."""
    mine = [e.id for e in entries if e.household_id == household.id]
    out: dict[int, int] = {}
    if mine:
        rn = func.row_number().over(order_by=_history_order()).label("rn")
        numbered = select(LedgerEntry.id, rn).where(LedgerEntry.household_id == household.id).subquery()
        for eid, n in session.execute(select(numbered.c.id, numbered.c.rn).where(numbered.c.id.in_(mine))):
            out[eid] = (int(n) - 1) // per_page + 1
    for e in entries:
        if e.id not in out:
            out[e.id] = entry_page(session, e, per_page)
    return out


def entry_page(session: Session, entry: LedgerEntry, per_page: int = HISTORY_PAGE) -> int:
    """The history page an entry of its household appears on."""
    newer = session.execute(
        select(func.count())
        .select_from(LedgerEntry)
        .where(
            LedgerEntry.household_id == entry.household_id,
            or_(
                LedgerEntry.occurred_on > entry.occurred_on,
                and_(LedgerEntry.occurred_on == entry.occurred_on, LedgerEntry.seq > entry.seq),
            ),
        )
    ).scalar_one()
    return newer // per_page + 1


def upcoming_activities(session: Session, village: Village, today: dt.date) -> list[Activity]:
    """The village's activities from today on, for every group, in date order. The caller holds the
    village's rules with their versions (village_rules; the identity map is weak), so each activity's
    rule comes from the identity map with no statement."""
    q = (
        select(Activity)
        .where(Activity.village_id == village.id, Activity.held_on >= today)
        .order_by(Activity.held_on, Activity.id)
    )
    return list(session.execute(q).scalars())


def village_rules(session: Session, village: Village) -> list[Rule]:
    """The village's rules with all their versions (two statements)."""
    return list(
        session.execute(
            select(Rule).where(Rule.village_id == village.id).options(selectinload(Rule.versions)).order_by(Rule.id)
        ).scalars()
    )


def rules_in_effect(
    session: Session, village: Village, today: dt.date, rules: list[Rule] | None = None
) -> list[RuleVersion]:
    """The rule book as it applies today, in book order (category, then code); ``rules`` from
    village_rules when the caller already has them."""
    if rules is None:
        rules = village_rules(session, village)
    out = [v for r in rules if (v := r.version_on(today)) is not None]
    order = {}
    for v in out:
        order.setdefault(v.category, len(order))
    return sorted(out, key=lambda v: order[v.category])


# --- public pages -------------------------------------------------------------------------


def villages(session: Session) -> list[Village]:
    return list(session.execute(select(Village).order_by(Village.id)).scalars())


def headless_households(session: Session, village: Village) -> dict[int, str]:
    """{household id: 户号} of households without a head (the board shows their number)."""
    return dict(
        session.execute(
            select(Household.id, Household.number).where(
                Household.village_id == village.id, Household.head_id.is_(None)
            )
        ).all()
    )


@dataclass
class BlackRow:
    household_id: int
    name: str | None
    number: str
    group: str
    points: int


def deductions_board(session: Session, village: Village, period: str, limit: int = 10) -> list[BlackRow]:
    """Households with deductions in the period (net of corrections to those deductions)."""
    p = parse_period(period)
    q = select(LedgerEntry.id, LedgerEntry.household_id, LedgerEntry.points).where(
        LedgerEntry.village_id == village.id, LedgerEntry.kind == EntryKind.deduction.value
    )
    if p.start is not None:
        q = q.where(LedgerEntry.occurred_on.between(p.start, p.end))
    rows = session.execute(q).all()
    if not rows:
        return []
    fixes = dict(
        session.execute(
            select(LedgerEntry.corrects_id, func.sum(LedgerEntry.points))
            .where(LedgerEntry.corrects_id.in_([r.id for r in rows]))
            .group_by(LedgerEntry.corrects_id)
        ).all()
    )
    net: dict[int, int] = {}
    for r in rows:
        net[r.household_id] = net.get(r.household_id, 0) + r.points + int(fixes.get(r.id) or 0)
    net = {h: v for h, v in net.items() if v < 0}
    if not net:
        return []
    head = Villager.__table__.alias("head")
    info = {
        r.id: r
        for r in session.execute(
            select(Household.id, Household.number, head.c.name, Group.name.label("group"))
            .join(Group, Household.group_id == Group.id)
            .outerjoin(head, head.c.id == Household.head_id)
            .where(Household.id.in_(list(net)))
        ).all()
    }
    out = [BlackRow(h, info[h].name, info[h].number, info[h].group, v) for h, v in net.items()]
    out.sort(key=lambda r: (r.points, r.household_id))
    return out[:limit]


def group_of(session: Session, village: Village, group_id: int | None) -> Group | None:
    if group_id is None:
        return None
    g = session.get(Group, group_id)
    return g if g is not None and g.village_id == village.id else None


@dataclass
class NoticeRow:
    entry: LedgerEntry
    person: str | None  # villager name (to be masked) or household head's name
    number: str
    group: str


def notice_rows(
    session: Session, village: Village, notice: Notice, page: int, per_page: int, group: Group | None = None
) -> tuple[list[NoticeRow], int, int]:
    """One page of the entries a notice lists (chain order), with names to mask. (rows, page, pages)."""
    from sqlalchemy import and_

    join_on = and_(NoticeEntry.village_id == LedgerEntry.village_id, NoticeEntry.seq == LedgerEntry.seq)
    cond = [NoticeEntry.notice_id == notice.id]
    if group is not None:
        cond.append(LedgerEntry.group_id == group.id)
    total = (
        notice.entry_count
        if group is None
        else session.execute(
            select(func.count()).select_from(LedgerEntry).join(NoticeEntry, join_on).where(*cond)
        ).scalar_one()
    )
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    entries = list(
        session.execute(
            select(LedgerEntry)
            .join(NoticeEntry, join_on)
            .where(*cond)
            .options(
                joinedload(LedgerEntry.rule_version),
                joinedload(LedgerEntry.villager),
                joinedload(LedgerEntry.household).joinedload(Household.head),
            )
            .order_by(LedgerEntry.seq)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).scalars()
    )
    groups = {g.id: g.name for g in village.groups}  # loaded once; the page lists the groups too
    rows = []
    for e in entries:
        person = (
            e.villager.name
            if e.villager is not None
            else (e.household.head.name if e.household.head is not None else None)
        )
        rows.append(NoticeRow(e, person, e.household.number, groups.get(e.group_id, "")))
    return rows, page, pages


# --- printing -------------------------------------------------------------------------------


def households_for_cards(session: Session, village: Village, group: Group | None) -> list[Household]:
    q = (
        select(Household)
        .where(Household.village_id == village.id, Household.active.is_(True))
        .options(selectinload(Household.head), selectinload(Household.group))
    )
    if group is not None:
        q = q.where(Household.group_id == group.id)
    rows = list(session.execute(q).scalars())
    rows.sort(key=lambda h: (h.group.sort_key, h.group_id, len(h.number), h.number))
    return rows


@dataclass
class PassbookLine:
    entry: LedgerEntry
    honour: int  # running honour balance after this entry
    redeemable: int  # running redeemable balance after this entry


def passbook(session: Session, household: Household, year: int) -> tuple[int, int, list[PassbookLine]]:
    """(opening honour, opening redeemable, the year's lines with running balances), by date."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    spend = case((LedgerEntry.kind.in_(SPENDING), 0), else_=LedgerEntry.points)
    before = session.execute(
        select(func.coalesce(func.sum(spend), 0), func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.household_id == household.id, LedgerEntry.occurred_on < start
        )
    ).one()
    honour, redeemable = int(before[0]), int(before[1])
    opening = (honour, redeemable)
    entries = session.execute(
        select(LedgerEntry)
        .where(LedgerEntry.household_id == household.id, LedgerEntry.occurred_on.between(start, end))
        .options(selectinload(LedgerEntry.rule_version), selectinload(LedgerEntry.villager))
        .order_by(LedgerEntry.occurred_on, LedgerEntry.seq)
    ).scalars()
    lines = []
    for e in entries:
        if EntryKind(e.kind).spends:
            redeemable += e.points
        else:
            honour += e.points
            redeemable += e.points
        lines.append(PassbookLine(e, honour, redeemable))
    return opening[0], opening[1], lines


__all__ = [
    "BoardRow",
    "Standing",
    "household_standing",
    "member_points",
    "pending_items",
    "history",
    "MISSING_SHOWN",
    "entry_page",
    "entry_pages",
    "upcoming_activities",
    "village_rules",
    "rules_in_effect",
    "villages",
    "headless_households",
    "deductions_board",
    "group_of",
    "notice_rows",
    "households_for_cards",
    "passbook",
]
