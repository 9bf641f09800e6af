"""公示, objections (异议) and month close, as the staff see them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..points import audit
from ..points.closing import close_period, pending_in_month
from ..points.errors import NotFound
from ..points.ledger import ClosedPeriod, EntryKind, LedgerEntry, month_digest
from ..points.notice import (
    Notice, Objection, ObjectionStatus, notice_entries, notice_for, publish_notice, raise_objection,
    resolve_objection,
)
from ..points.periods import month_key, parse_month
from ..points.policy import require
from ..points.registry import Household, StaffUser, Village
from .services import today_of


def recent_months(village: Village, count: int = 12) -> list[str]:
    """This month and the ones before it, newest first."""
    day = today_of(village).replace(day=1)
    out = []
    for _i in range(count):
        out.append(month_key(day))
        day = (day - dt.timedelta(days=1)).replace(day=1)
    return out


def previous_month(village: Village) -> str:
    return recent_months(village, 2)[1]


@dataclass
class MonthRow:
    month: str
    entries: int
    published: bool
    opens_on: dt.date | None
    closes_on: dt.date | None
    is_open: bool
    closed: bool


def months_overview(session, village: Village, actor: StaffUser) -> list[MonthRow]:
    require(actor, village, "notice.read")
    months = recent_months(village)
    notices = {n.month: n for n in session.execute(select(Notice).where(
        Notice.village_id == village.id, Notice.month.in_(months))).scalars()}
    closed = set(session.execute(select(ClosedPeriod.month).where(
        ClosedPeriod.village_id == village.id, ClosedPeriod.month.in_(months))).scalars())
    first, last = parse_month(months[-1]).start, parse_month(months[0]).end
    counts: dict[str, int] = {}
    for day, n in session.execute(select(LedgerEntry.occurred_on, func.count()).where(
            LedgerEntry.village_id == village.id, LedgerEntry.occurred_on.between(first, last))
            .group_by(LedgerEntry.occurred_on)):
        counts[month_key(day)] = counts.get(month_key(day), 0) + n
    today = today_of(village)
    rows = []
    for m in months:
        n = notices.get(m)
        rows.append(MonthRow(m, counts.get(m, 0), n is not None, n.opens_on if n else None,
                             n.closes_on if n else None, bool(n and n.is_open(today)), m in closed))
    return rows


def publish(session, village: Village, actor: StaffUser, month: str, days: int, *, ip=None) -> Notice:
    require(actor, village, "notice.publish")
    notice = publish_notice(session, village, month, actor, days=days)
    audit.record(session, actor, "notice.publish", village_id=village.id, target=f"notice {month}", ip=ip,
                 days=days, digest_seq=notice.digest_seq)
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


def entry_item(entry: LedgerEntry) -> str:
    v = entry.rule_version
    name = v.name if v else ""
    if EntryKind(entry.kind) == EntryKind.correction:
        return _("Correction of entry %(seq)s: %(note)s", seq=entry.corrects.seq if entry.corrects else "?",
                 note=entry.note or name)
    if entry.quantity and entry.quantity > 1 and v is not None:
        return f"{name} × {entry.quantity}{v.unit}"
    return name


def entry_name(entry: LedgerEntry) -> str:
    if entry.villager is not None:
        return entry.villager.name
    return _("Household of %(name)s", name=entry.household.head_name)


@dataclass
class NoticeView:
    month: str
    notice: Notice | None
    rows: list[EntryRow]
    total: int
    digest_seq: int
    digest: str
    digest_closed: bool
    is_open: bool

    @property
    def digest_short(self) -> str:
        return self.digest[:16]


def notice_view(session, village: Village, actor: StaffUser, month: str) -> NoticeView:
    require(actor, village, "notice.read")
    try:
        p = parse_month(month)
    except ValueError:
        raise NotFound("month", month) from None
    notice = notice_for(session, village, p.key)
    entries = notice_entries(session, village, p.key)
    open_by_entry = {o.entry_id: o for o in session.execute(select(Objection).where(
        Objection.village_id == village.id, Objection.entry_id.in_([e.id for e in entries]))).scalars()} if entries else {}
    today = today_of(village)
    is_open = bool(notice and notice.is_open(today))
    status_text = {"open": _("Objection open"), "upheld": _("Objection: upheld"),
                   "corrected": _("Objection: corrected")}
    rows = []
    for e in entries:
        o = open_by_entry.get(e.id)
        rows.append(EntryRow(e.id, e.seq, e.occurred_on, entry_name(e), e.household.number, e.household.group.name,
                             entry_item(e), e.points, EntryKind(e.kind).value,
                             status_text[ObjectionStatus(o.status).value] if o else "",
                             is_open and o is None and EntryKind(e.kind) != EntryKind.correction))
    digest = month_digest(session, village, p.key)
    return NoticeView(p.key, notice, rows, sum(r.points for r in rows),
                      notice.digest_seq if notice else digest.seq, notice.digest if notice else digest.hash,
                      digest.closed, is_open)


# --- objections ---------------------------------------------------------------------------

@dataclass
class ObjectionRow:
    id: int
    raised_on: str       # local date
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
    return ObjectionRow(o.id, format_datetime(o.raised_at, "yyyy-MM-dd"), o.household.number, entry_name(e), entry_item(e), e.points,
                        month_key(e.occurred_on), o.reason, ObjectionStatus(o.status).value,
                        labels[ObjectionStatus(o.status).value], o.answer or "", o.raised_by_staff_id is not None)


def objections(session, village: Village, actor: StaffUser, *, month: str | None = None) -> list[ObjectionRow]:
    require(actor, village, "objection.resolve")
    q = (select(Objection).where(Objection.village_id == village.id)
         .options(selectinload(Objection.entry).selectinload(LedgerEntry.villager),
                  selectinload(Objection.entry).selectinload(LedgerEntry.rule_version),
                  selectinload(Objection.household).selectinload(Household.head))
         .order_by(Objection.status != ObjectionStatus.open, Objection.raised_at.desc()).limit(300))
    rows = [_objection_row(o) for o in session.execute(q).scalars()]
    if month:
        rows = [r for r in rows if r.month == month]
    return rows


def get_entry(session, village: Village, actor: StaffUser, entry_id: int) -> LedgerEntry:
    require(actor, village, "objection.resolve")
    entry = session.get(LedgerEntry, entry_id)
    if entry is None or entry.village_id != village.id:
        raise NotFound("entry", entry_id)
    return entry


def enter_objection(session, village: Village, actor: StaffUser, entry: LedgerEntry, reason: str, *, ip=None) -> Objection:
    require(actor, village, "objection.enter")
    obj = raise_objection(session, entry, entry.household, reason, staff=actor)
    audit.record(session, actor, "objection.enter", village_id=village.id, target=f"objection {obj.id}", ip=ip,
                 entry=entry.id)
    return obj


def get_objection(session, village: Village, actor: StaffUser, objection_id: int) -> Objection:
    require(actor, village, "objection.resolve")
    obj = session.get(Objection, objection_id)
    if obj is None or obj.village_id != village.id:
        raise NotFound("objection", objection_id)
    return obj


def objection_detail(obj: Objection) -> ObjectionRow:
    return _objection_row(obj)


def resolve(session, village: Village, actor: StaffUser, obj: Objection, answer: str, correct: bool, *, ip=None) -> Objection:
    require(actor, village, "objection.resolve")
    resolve_objection(session, obj, actor, answer, correct_entry=correct)
    audit.record(session, actor, "objection.resolve", village_id=village.id, target=f"objection {obj.id}", ip=ip,
                 outcome="corrected" if correct else "upheld", correction=obj.correction_id, answer=answer.strip())
    return obj


# --- month close -----------------------------------------------------------------------------

@dataclass
class CloseView:
    month: str
    closed: bool
    pending: int
    open_objections: list[ObjectionRow]
    notice: Notice | None
    review_from: dt.date
    review_to: dt.date
    month_over: bool


def close_view(session, village: Village, actor: StaffUser, month: str) -> CloseView:
    require(actor, village, "period.close")
    p = parse_month(month)
    closed = session.execute(select(ClosedPeriod.id).where(
        ClosedPeriod.village_id == village.id, ClosedPeriod.month == p.key)).first() is not None
    open_objs = [o for o in objections(session, village, actor, month=p.key) if o.status == "open"]
    return CloseView(p.key, closed, pending_in_month(session, village, p.key), open_objs,
                     notice_for(session, village, p.key), p.start, p.end, p.end < today_of(village))


def close_month(session, village: Village, actor: StaffUser, month: str, *, ip=None) -> ClosedPeriod:
    require(actor, village, "period.close")
    closed = close_period(session, village, month, actor)
    audit.record(session, actor, "period.close", village_id=village.id, target=f"month {month}", ip=ip,
                 digest_seq=closed.digest_seq, digest=closed.digest)
    return closed

