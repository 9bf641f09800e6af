"""Small helpers for core tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import LedgerEntry, Submission

NOV = dt.date(2026, 11, 5)


def cap(session, world, actor, rule, subjects, day=NOV, qty=1, key=None, **kw):
    """Capture one rule for villagers (or households for household rules)."""
    lines = []
    for s in subjects:
        if hasattr(s, "household_id"):
            lines.append(Line(villager_id=s.id, quantity=qty))
        else:
            lines.append(Line(household_id=s.id, quantity=qty))
    return capture(
        session,
        actor=actor,
        village=world.village,
        rule_code=rule,
        occurred_on=day,
        lines=lines,
        key=key or world.key(),
        **kw,
    )


def subs(session, result):
    return [session.get(Submission, line.submission_id) for line in result.lines]


def post(session, world, result, approver=None, **kw):
    entries = approve(
        session, [s for s in subs(session, result) if s.status == "pending"], approver or world.reviewer, **kw
    )
    session.commit()
    return entries


def entries(session, village=None):
    q = select(LedgerEntry).order_by(LedgerEntry.seq)
    if village is not None:
        q = q.where(LedgerEntry.village_id == village.id)
    return session.execute(q).scalars().all()


def tamper(session, sql, params=None, *, checks=True):
    """Run SQL the way someone with full database access would: past the append-only trigger
    and foreign keys (PostgreSQL: replica mode; SQLite: deferred foreign keys) and, with
    ``checks=False``, past the CHECK constraints too."""
    from sqlalchemy import text as _text

    pg = session.get_bind().dialect.name == "postgresql"
    if pg:
        session.execute(_text("SET LOCAL session_replication_role = replica"))
        if not checks:
            session.execute(_text("ALTER TABLE ledger_entries DROP CONSTRAINT IF EXISTS ck_ledger_entries_seq"))
    else:
        session.execute(_text("PRAGMA defer_foreign_keys = ON"))
        if not checks:
            session.execute(_text("PRAGMA ignore_check_constraints = ON"))
    for stmt in [sql] if isinstance(sql, str) else sql:
        session.execute(_text(stmt), params or {})
    if not pg and not checks:
        session.execute(_text("PRAGMA ignore_check_constraints = OFF"))
    session.commit()


def close_period(session, village, month, actor, *, now):
    """Close a month the way the lifecycle allows: publish it (a 0-day window, as a village that
    posts on paper) if it has nothing waiting for a notice, then close it."""
    from pointsapp.points.errors import Refused as _Refused
    from pointsapp.points.lifecycle import close_month
    from pointsapp.points.notice import publish_notice

    village.notice_days = 0
    try:
        publish_notice(session, village, month, actor, now=now)
    except _Refused as exc:
        if exc.code not in ("nothing_new", "already_closed", "month_running", "not_allowed"):
            raise
        session.rollback()
    return close_month(session, village, month, actor, now=now)
