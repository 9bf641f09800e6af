"""The demo posts through the one posting path: on a small seed, the demo's ledger equals what
capture plus approval of the same lines, one line at a time, gives (same entries, points, caps and
tallies), both chains verify, and the caps hold (checked with raw SQL against the rule book)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text
from sqlalchemy.orm import Session

import pointsapp.points.models  # noqa: F401  (every table, for create_all)
from pointsapp.points import demo
from pointsapp.points.capture import capture
from pointsapp.points.db import Base
from pointsapp.points.engine import make_engine
from pointsapp.points.ledger import Submission, SubmissionStatus, verify_chain
from pointsapp.points.lifecycle import close_month
from pointsapp.points.notice import publish_notice
from pointsapp.points.registry import StaffUser, Village
from pointsapp.points.review import approve

NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.timezone.utc)
SMALL = dict(villages=1, months=3, seed=3, now=NOW, size=(24, 70))


def _line_by_line(session, rng, village, today, first_month, households, rules, staff, result, now):
    """The same story posted one capture line per call, approved one by one."""
    occasions = demo.demo_occasions(rng, village, today, first_month, households, rules, staff, now)
    steps = [(o.at, n, o) for n, o in enumerate(occasions)] + demo._lifecycle_steps(village, first_month, today, now)
    steps.sort(key=lambda s: (s[0], s[1]))
    key = 0
    for at, _n, step in steps:
        if isinstance(step, demo._Occasion):
            logger = session.get(StaffUser, step.logger_id)
            for line in step.lines:
                key += 1
                res = capture(
                    session,
                    actor=logger,
                    village=village,
                    lines=[line],
                    rule_code=step.code,
                    occurred_on=step.day,
                    key=f"one-{key}",
                    now=at,
                )
                sub = session.get(Submission, res.lines[0].submission_id)
                if step.approve and sub.status == SubmissionStatus.pending:
                    approve(session, [sub], staff["reviewer"], now=at)
        elif step[0] == "publish":
            publish_notice(session, village, step[1], staff["reviewer"], now=at)
        else:
            close_month(session, village, step[1], staff["admin"], now=at)


def _tight_caps(load):
    """The demo's rule book with lower monthly caps, so that a small village hits them."""

    def wrapped(session, village, text_):
        text_ = text_.replace(
            "code: DJ-01, name: 参加党日活动或村民议事会, category: 党建引领, points: 5, per: occasion, "
            "unit: 次, scope: person, caps: {month: 10}",
            "code: DJ-01, name: 参加党日活动或村民议事会, category: 党建引领, points: 5, per: occasion, "
            "unit: 次, scope: person, caps: {month: 3}",
        )
        text_ = text_.replace(
            "caps: {month: 20}, evidence: sign_in, logged_by: [grid_worker, admin], effective_from: 2026-01-01}",
            "caps: {month: 7}, evidence: sign_in, logged_by: [grid_worker, admin], effective_from: 2026-01-01}",
        )
        assert "caps: {month: 3}" in text_ and "caps: {month: 7}" in text_
        return load(session, village, text_)

    return wrapped


def _build(engine, monkeypatch, line_by_line=False):
    session = Session(engine)
    with monkeypatch.context() as m:
        m.setattr(demo, "load_rulebook_text", _tight_caps(demo.load_rulebook_text))
        if line_by_line:
            m.setattr(demo, "_activity", _line_by_line)
        demo.build_demo(session, **SMALL)
    session.commit()
    return session


ENTRIES = (
    "SELECT r.code, e.kind, e.villager_id, e.household_id, e.group_id, CAST(e.occurred_on AS TEXT), e.quantity, "
    "e.requested_points, e.points, e.capped, e.captured_by_id, e.approved_by_id "
    "FROM ledger_entries e JOIN rules r ON r.id = e.rule_id ORDER BY e.seq"
)


def _sqlite(tmp_path, name):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    Base.metadata.create_all(engine)
    return engine


def test_demo_equals_capture_and_approval_line_by_line(engine, tmp_path, monkeypatch):
    """The demo on the test database (PostgreSQL when configured); the line-by-line run on SQLite."""
    e1, e2 = engine, _sqlite(tmp_path, "lines.db")
    s1 = _build(e1, monkeypatch)
    s2 = _build(e2, monkeypatch, line_by_line=True)
    rows1, rows2 = (s.execute(text(ENTRIES)).all() for s in (s1, s2))
    assert len(rows1) > 200 and sum(1 for r in rows1 if r.capped) > 10
    assert sorted(map(tuple, rows1)) == sorted(map(tuple, rows2))
    for s in (s1, s2):
        village = s.execute(select(Village)).scalar_one()
        assert verify_chain(s, village).ok
    tallies = "SELECT period, kind, subject_id, points, entries FROM tallies"
    assert sorted(map(tuple, s1.execute(text(tallies)))) == sorted(map(tuple, s2.execute(text(tallies))))
    pending = "SELECT count(*), coalesce(sum(points), 0) FROM submissions WHERE status = 'pending'"
    assert s1.execute(text(pending)).one() == s2.execute(text(pending)).one()
    notices = "SELECT month, number, entry_count FROM notices"
    assert sorted(map(tuple, s1.execute(text(notices)))) == sorted(map(tuple, s2.execute(text(notices))))
    closed = "SELECT month FROM closed_periods"
    assert sorted(s1.execute(text(closed)).scalars()) == sorted(s2.execute(text(closed)).scalars())
    # every award and deduction stands on an approved capture by someone other than its approver
    # (the shop's redemptions are posted by the shop's own services)
    orphans = s1.execute(
        text(
            "SELECT count(*) FROM ledger_entries e LEFT JOIN submissions s ON s.id = e.submission_id "
            "WHERE e.kind IN ('award', 'deduction') "
            "AND (s.id IS NULL OR s.status != 'approved' OR e.captured_by_id = e.approved_by_id)"
        )
    ).scalar_one()
    assert orphans == 0
    assert s1.execute(
        text("SELECT count(*) FROM ledger_entries WHERE kind IN ('award', 'deduction')")
    ).scalar_one() == len(rows1)
    s1.close()
    s2.close()
    e2.dispose()


def test_demo_caps_hold_per_subject_and_month(engine, monkeypatch):
    """Raw SQL: awards (and pending captures) of each capped rule never pass its monthly cap."""
    s = _build(engine, monkeypatch)
    over = s.execute(
        text(
            "SELECT r.code, x.subject, x.month, x.total, v.cap_month FROM ("
            "  SELECT rule_id, subject, month, sum(points) AS total, max(rule_version_id) AS version FROM ("
            "    SELECT rule_id, coalesce(villager_id, -household_id) AS subject, "
            "           substr(CAST(occurred_on AS TEXT), 1, 7) AS month, points, rule_version_id "
            "    FROM ledger_entries WHERE kind = 'award' UNION ALL "
            "    SELECT rule_id, coalesce(villager_id, -household_id), substr(CAST(occurred_on AS TEXT), 1, 7), "
            "           points, rule_version_id FROM submissions WHERE status = 'pending') AS u "
            "  GROUP BY rule_id, subject, month) AS x "
            "JOIN rule_versions v ON v.id = x.version JOIN rules r ON r.id = x.rule_id "
            "WHERE v.cap_month IS NOT NULL AND x.total > v.cap_month"
        )
    ).all()
    assert over == []
    assert s.execute(text("SELECT count(*) FROM ledger_entries WHERE capped")).scalar_one() > 0
    s.close()
