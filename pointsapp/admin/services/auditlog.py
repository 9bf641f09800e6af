"""Reading the audit log (filters, pages, CSV) and the village settings."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...points.audit import AuditEvent
from ...points.awards import format_tiers, parse_tiers
from ...points.errors import Refused
from ...points.periods import local_midnight_utc, local_time, zone_of
from ...points.registry import StaffUser, Village
from ...points.policy import require
from ...points.spreadsheets import csv_writer
from . import save_changes

PER_PAGE = 50
CSV_HEADER = ("time", "user", "action", "target", "detail", "ip")


@dataclass
class AuditFilter:
    action: str | None = None
    user_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _utc_bounds(village: Village, f: AuditFilter) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Local dates (the village's time zone) to UTC instants: [from 00:00, to+1 00:00)."""
    tz = zone_of(village)
    lo = local_midnight_utc(f.date_from, tz) if f.date_from else None
    hi = local_midnight_utc(f.date_to + dt.timedelta(days=1), tz) if f.date_to else None
    return lo, hi


def _query(village: Village, f: AuditFilter):
    stmt = select(AuditEvent).where(AuditEvent.village_id == village.id)
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.user_id:
        stmt = stmt.where(AuditEvent.actor_id == f.user_id)
    lo, hi = _utc_bounds(village, f)
    if lo is not None:
        stmt = stmt.where(AuditEvent.at >= lo)
    if hi is not None:
        stmt = stmt.where(AuditEvent.at < hi)
    return stmt


def actions_of(session: Session, village: Village) -> list[str]:
    return list(
        session.execute(
            select(AuditEvent.action).where(AuditEvent.village_id == village.id).distinct().order_by(AuditEvent.action)
        ).scalars()
    )


def _local(village: Village, at: dt.datetime) -> str:
    return local_time(at, zone_of(village)).strftime("%Y-%m-%d %H:%M:%S")


def _detail(text: str | None) -> str:
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return "; ".join(
        f"{k}: {json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}" for k, v in data.items()
    )


def _row(village: Village, e: AuditEvent) -> dict:
    who = e.actor.username if e.actor else "—"
    return {
        "at": _local(village, e.at),
        "user": who,
        "action": e.action,
        "target": e.target or "",
        "detail": _detail(e.detail),
        "ip": e.ip or "",
    }


def events(
    session: Session, actor: StaffUser, village: Village, f: AuditFilter, page: int = 1, per_page: int = PER_PAGE
) -> tuple[list[dict], int, int, int]:
    """(rows, total, page, pages), newest first."""
    require(actor, village, "village.admin")
    stmt = _query(village, f)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return [_row(village, e) for e in rows], total, page, pages


def events_csv(session: Session, actor: StaffUser, village: Village, f: AuditFilter) -> Iterator[str]:
    """The filtered log as CSV text chunks (UTF-8 with BOM so Excel opens it), oldest first."""
    require(actor, village, "village.admin")
    stmt = _query(village, f).order_by(AuditEvent.at, AuditEvent.id).execution_options(yield_per=500)

    def generate() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv_writer(buf)  # text that looks like a formula is written as text
        buf.write("\ufeff")
        writer.writerow(CSV_HEADER)
        for n, e in enumerate(session.execute(stmt).scalars(), start=1):
            r = _row(village, e)
            writer.writerow([r[k] for k in ("at", "user", "action", "target", "detail", "ip")])
            if n % 200 == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return generate()


# --- village settings -------------------------------------------------------------------

_UNCHANGED: object = object()
PHONE_RE = re.compile(r"[0-9][0-9 \-]{5,18}[0-9]")


def update_settings(
    session: Session,
    actor: StaffUser,
    village: Village,
    *,
    notice_days: int,
    show_blacklist: bool,
    committee_phone=_UNCHANGED,
    award_tiers=_UNCHANGED,
    certificate_date=_UNCHANGED,
    ip: str | None = None,
) -> dict:
    """Save the village settings; settings not passed keep their value."""
    require(actor, village, "village.admin")
    if isinstance(notice_days, bool) or not isinstance(notice_days, int) or not 0 <= notice_days <= 30:
        raise Refused("bad_notice_days", "the objection window must be 0 to 30 days", field="notice_days")
    new = {"notice_days": notice_days, "show_blacklist": bool(show_blacklist)}
    if committee_phone is not _UNCHANGED:
        phone = (committee_phone or "").strip() or None
        if phone is not None and not PHONE_RE.fullmatch(phone):
            raise Refused("bad_committee_phone", f"{phone!r} is not a phone number", field="committee_phone")
        new["committee_phone"] = phone
    if award_tiers is not _UNCHANGED:
        text = (award_tiers or "").strip()
        try:
            new["award_tiers"] = format_tiers(parse_tiers(text)) if text else None
        except Refused as exc:
            raise Refused(exc.code, exc.message, field="award_tiers", **exc.params) from None
    if certificate_date is not _UNCHANGED:
        if certificate_date is not None and not isinstance(certificate_date, dt.date):
            raise Refused("bad_certificate_date", "the certificate date must be a date", field="certificate_date")
        new["certificate_date"] = certificate_date
    return save_changes(session, actor, village, village, new, "village.settings", f"village {village.id}", ip)
