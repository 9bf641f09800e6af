"""公示, objections (异议) and month close, as the staff see them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..points import audit
from ..points.errors import NotFound
from ..points.ledger import ClosedPeriod, EntryKind, LedgerEntry
from ..points.lifecycle import Blocker, close_blockers, close_month as core_close_month
from ..points.names import mask_name
from ..points.notice import (
    Notice,
    PublishPlan,
    awaiting_notice,
    listed_entries_query,
    notices_of_month,
    plan_publish,
    publish_notice,
)
from ..points.objections import Objection, ObjectionStatus, raise_objection, resolve_objection
from ..points.periods import month_key, parse_month, recent_months
from ..points.policy import require
from ..points.registry import Household, StaffUser, Village, get_in_village
from .services import today_of


@dataclass
class MonthRow:
    month: str
    entries: int
    notices: list[Notice]
    awaiting: int  # entries posted since the last notice, waiting for a supplement
    is_open: bool  # some notice of the month is open for objections
    closed: bool
    running: bool

    @property
    def published(self) -> bool:
        return bool(self.notices)


def months_overview(session, village: Village, actor: StaffUser) -> list[MonthRow]:
    require(actor, village, "notice.read")
    months = recent_months(today_of(village))
    notices: dict[str, list[Notice]] = {}
    for n in session.execute(
        select(Notice).where(Notice.village_id == village.id, Notice.month.in_(months)).order_by(Notice.number)
    ).scalars():
        notices.setdefault(n.month, []).append(n)
    closed = set(
        session.execute(
            select(ClosedPeriod.month).where(ClosedPeriod.village_id == village.id, ClosedPeriod.month.in_(months))
        ).scalars()
    )
    first, last = parse_month(months[-1]).start, parse_month(months[0]).end
    counts: dict[str, int] = {}
    for day, n in session.execute(
        select(LedgerEntry.occurred_on, func.count())
        .where(LedgerEntry.village_id == village.id, LedgerEntry.occurred_on.between(first, last))
        .group_by(LedgerEntry.occurred_on)
    ):
        counts[month_key(day)] = counts.get(month_key(day), 0) + n
    today = today_of(village)
    rows = []
    for m in months:
        ns = notices.get(m, [])
        awaiting = len(awaiting_notice(session, village, m)) if ns and m not in closed else 0
        rows.append(
            MonthRow(m, counts.get(m, 0), ns, awaiting, any(n.is_open(today) for n in ns), m in closed, m == months[0])
        )
    return rows


def publishable_months(rows: list[MonthRow]) -> list[str]:
    """Finished months that are not closed and are unpublished or have entries waiting."""
    return [r.month for r in rows if not r.running and not r.closed and (not r.published or r.awaiting)]


def plan(session, village: Village, actor: StaffUser, month: str) -> PublishPlan:
    require(actor, village, "notice.publish")
    return plan_publish(session, village, month)


def publish(session, village: Village, actor: StaffUser, month: str, *, ip=None) -> Notice:
    require(actor, village, "notice.publish")
    notice = publish_notice(session, village, month, actor)
    audit.record(
        session,
        actor,
        "notice.publish",
        village_id=village.id,
        target=f"notice {month}",
        ip=ip,
        kind=notice.kind,
        number=notice.number,
        entries=notice.entry_count,
        days=notice.window_days,
        head_seq=notice.head_seq,
        digest=notice.digest,
    )
    return notice


@dataclass
class EntryRow:
    id: int
    seq: int
    occurred_on: dt.date
    name: str
    household: str
    group: str
    item: str
    points: int
    kind: str
    objection: str
    can_object: bool
    public_name: str = ""  # masked (向*明), for the sheet posted on the notice board


def entry_item(entry: LedgerEntry) -> str:
    v = entry.rule_version
    name = v.name if v else ""
    if EntryKind(entry.kind) == EntryKind.correction:
        return _(
            "Correction of entry %(seq)s: %(note)s",
            seq=entry.corrects.seq if entry.corrects else "?",
            note=entry.note or name,
        )
    if entry.quantity and entry.quantity > 1 and v is not None:
        return f"{name} × {entry.quantity}{v.unit}"
    return name


def entry_name(entry: LedgerEntry, *, masked: bool = False) -> str:
    show = mask_name if masked else (lambda n: n)
    if entry.villager is not None:
        return show(entry.villager.name)
    return _("Household of %(name)s", name=show(entry.household.head_name))


@dataclass
class NoticeBlock:
    """One published notice of the month (main or supplement) and the entries it lists."""

    notice: Notice
    title: str
    rows: list[EntryRow]
    total: int
    is_open: bool

    @property
    def digest_short(self) -> str:
        return self.notice.digest[:16]


@dataclass
class NoticeView:
    month: str
    blocks: list[NoticeBlock]
    draft: list[EntryRow]  # entries not listed yet (the next notice of the month)
    is_open: bool

    @property
    def notice(self) -> Notice | None:
        return self.blocks[0].notice if self.blocks else None

    @property
    def rows(self) -> list[EntryRow]:
        return [r for b in self.blocks for r in b.rows] + self.draft


def notice_title(n: Notice) -> str:
    if n.number == 1:
        return _("Public notice of %(month)s", month=n.month)
    return _("Supplementary notice %(number)s of %(month)s", number=n.number - 1, month=n.month)


def notice_view(session, village: Village, actor: StaffUser, month: str) -> NoticeView:
    require(actor, village, "notice.read")
    try:
        p = parse_month(month)
    except ValueError:
        raise NotFound("month", month) from None
    notices = notices_of_month(session, village, p.key)
    loads = (
        selectinload(LedgerEntry.household).selectinload(Household.group),
        selectinload(LedgerEntry.villager),
        selectinload(LedgerEntry.rule_version),
        selectinload(LedgerEntry.corrects),
    )
    listed = {n.id: list(session.execute(listed_entries_query(n).options(*loads)).scalars()) for n in notices}
    closed = (
        session.execute(
            select(ClosedPeriod.id).where(ClosedPeriod.village_id == village.id, ClosedPeriod.month == p.key)
        ).first()
        is not None
    )
    draft_entries = [] if closed else awaiting_notice(session, village, p.key)
    everything = [e for es in listed.values() for e in es] + draft_entries
    ids = [e.id for e in everything]
    open_by_entry = (
        {
            o.entry_id: o
            for o in session.execute(
                select(Objection).where(Objection.village_id == village.id, Objection.entry_id.in_(ids))
            ).scalars()
        }
        if ids
        else {}
    )
    today = today_of(village)
    status_text = {
        "open": _("Objection open"),
        "upheld": _("Objection: upheld"),
        "corrected": _("Objection: corrected"),
    }

    def rows_of(entries, open_now: bool) -> list[EntryRow]:
        out = []
        for e in entries:
            o = open_by_entry.get(e.id)
            out.append(
                EntryRow(
                    e.id,
                    e.seq,
                    e.occurred_on,
                    entry_name(e),
                    e.household.number,
                    e.household.group.name,
                    entry_item(e),
                    e.points,
                    EntryKind(e.kind).value,
                    status_text[ObjectionStatus(o.status).value] if o else "",
                    open_now and o is None and EntryKind(e.kind) != EntryKind.correction,
                    entry_name(e, masked=True),
                )
            )
        return out

    blocks = []
    for n in notices:
        rows = rows_of(listed[n.id], n.is_open(today))
        blocks.append(NoticeBlock(n, notice_title(n), rows, sum(r.points for r in rows), n.is_open(today)))
    return NoticeView(p.key, blocks, rows_of(draft_entries, False), any(b.is_open for b in blocks))


# --- objections ---------------------------------------------------------------------------


@dataclass
class ObjectionRow:
    id: int
    raised_on: str  # local date
    household: str
    name: str
    item: str
    points: int
    month: str
    reason: str
    status: str
    status_label: str
    answer: str
    at_counter: bool


def _objection_row(o: Objection) -> ObjectionRow:
    labels = {"open": _("Open"), "upheld": _("Upheld"), "corrected": _("Corrected")}
    e = o.entry
    if e is None:  # "漏记了？": a missing entry, reported from the card
        day = o.missing_on or o.raised_at.date()
        return ObjectionRow(
            o.id,
            format_datetime(o.raised_at, "yyyy-MM-dd"),
            o.household.number,
            _("Household of %(name)s", name=o.household.head_name),
            _("Missing entry (reported %(day)s)", day=o.missing_on.isoformat() if o.missing_on else _("no day given")),
            0,
            month_key(day),
            o.reason,
            ObjectionStatus(o.status).value,
            labels[ObjectionStatus(o.status).value],
            o.answer or "",
            o.raised_by_staff_id is not None,
        )
    return ObjectionRow(
        o.id,
        format_datetime(o.raised_at, "yyyy-MM-dd"),
        o.household.number,
        entry_name(e),
        entry_item(e),
        e.points,
        month_key(e.occurred_on),
        o.reason,
        ObjectionStatus(o.status).value,
        labels[ObjectionStatus(o.status).value],
        o.answer or "",
        o.raised_by_staff_id is not None,
    )


def objections(session, village: Village, actor: StaffUser, *, month: str | None = None) -> list[ObjectionRow]:
    require(actor, village, "objection.resolve")
    q = (
        select(Objection)
        .where(Objection.village_id == village.id)
        .options(
            selectinload(Objection.entry).selectinload(LedgerEntry.villager),
            selectinload(Objection.entry).selectinload(LedgerEntry.rule_version),
            selectinload(Objection.household).selectinload(Household.head),
        )
        .order_by(Objection.status != ObjectionStatus.open, Objection.raised_at.desc())
        .limit(300)
    )
    rows = [_objection_row(o) for o in session.execute(q).scalars()]
    if month:
        rows = [r for r in rows if r.month == month]
    return rows


def get_entry(session, village: Village, actor: StaffUser, entry_id: int) -> LedgerEntry:
    require(actor, village, "objection.resolve")
    return get_in_village(session, LedgerEntry, entry_id, village, "entry")


def enter_objection(
    session, village: Village, actor: StaffUser, entry: LedgerEntry, reason: str, *, ip=None
) -> Objection:
    require(actor, village, "objection.enter")
    obj = raise_objection(session, entry, entry.household, reason, staff=actor)
    audit.record(
        session, actor, "objection.enter", village_id=village.id, target=f"objection {obj.id}", ip=ip, entry=entry.id
    )
    return obj


def get_objection(session, village: Village, actor: StaffUser, objection_id: int) -> Objection:
    require(actor, village, "objection.resolve")
    return get_in_village(session, Objection, objection_id, village, "objection")


def objection_detail(obj: Objection) -> ObjectionRow:
    return _objection_row(obj)


def resolve(
    session, village: Village, actor: StaffUser, obj: Objection, answer: str, correct: bool, *, ip=None
) -> Objection:
    require(actor, village, "objection.resolve")
    resolve_objection(session, obj, actor, answer, correct_entry=correct)
    audit.record(
        session,
        actor,
        "objection.resolve",
        village_id=village.id,
        target=f"objection {obj.id}",
        ip=ip,
        outcome="corrected" if correct else "upheld",
        correction=obj.correction_id,
        answer=answer.strip(),
    )
    return obj


# --- month close -----------------------------------------------------------------------------


@dataclass
class CloseView:
    month: str
    closed: bool
    blockers: list[Blocker]
    blocker_texts: list[str]
    open_objections: list[ObjectionRow]
    notices: list[Notice]
    review_from: dt.date
    review_to: dt.date
    month_over: bool

    @property
    def can_close(self) -> bool:
        return not self.closed and not self.blockers


def close_view(session, village: Village, actor: StaffUser, month: str) -> CloseView:
    from ..web.refusals import refusal_text

    require(actor, village, "period.close")
    p = parse_month(month)
    closed = (
        session.execute(
            select(ClosedPeriod.id).where(ClosedPeriod.village_id == village.id, ClosedPeriod.month == p.key)
        ).first()
        is not None
    )
    blockers = [] if closed else close_blockers(session, village, p.key)
    texts = [
        refusal_text(b.code, {"month": p.key, "count": b.count, "until": b.until, "notice": b.notice}) for b in blockers
    ]
    open_objs = [o for o in objections(session, village, actor, month=p.key) if o.status == "open"]
    return CloseView(
        p.key,
        closed,
        blockers,
        texts,
        open_objs,
        notices_of_month(session, village, p.key),
        p.start,
        p.end,
        p.end < today_of(village),
    )


def close_month(session, village: Village, actor: StaffUser, month: str, *, ip=None) -> ClosedPeriod:
    require(actor, village, "period.close")
    closed = core_close_month(session, village, month, actor)
    audit.record(
        session,
        actor,
        "period.close",
        village_id=village.id,
        target=f"month {month}",
        ip=ip,
        head_seq=closed.head_seq,
        head_hash=closed.head_hash,
    )
    return closed
