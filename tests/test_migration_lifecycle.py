"""Migration 0002_lifecycle on a database that already holds data (written at 0001 in raw SQL):
existing notices get their entry lists and new digests, closed months keep their heads,
corrections get their seq, and the chain still verifies."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from pointsapp.points.ledger import GENESIS, hash_values

ROWS = [(1, "award", 5, "2026-10-03", None), (2, "award", 3, "2026-10-05", None),
        (3, "correction", -5, "2026-11-02", 1), (4, "award", 2, "2026-11-03", None)]


@pytest.fixture
def app0001(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("POINTSAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    from flask_migrate import upgrade

    from pointsapp import create_app

    app = create_app({"POINTSAPP_DATABASE_URL": db_url, "POINTSAPP_SECRET_KEY": "test-only"})
    with app.app_context():
        upgrade(revision="0001")
    return app


def test_upgrade_keeps_existing_notices_and_closed_months_verifiable(app0001):
    from flask_migrate import upgrade

    from pointsapp.extensions import db
    from pointsapp.points.anchors import check_closed, check_notices
    from pointsapp.points.ledger import verify_chain
    from pointsapp.points.registry import Village

    with app0001.app_context():
        c = db.session
        c.execute(text("INSERT INTO villages (id, name, timezone, notice_days, show_blacklist, ledger_seq, ledger_head, "
                       "created_at) VALUES (1, 'v', 'Asia/Shanghai', 7, false, 0, :g, '2026-01-01 00:00:00')"),
                  {"g": GENESIS})
        c.execute(text("INSERT INTO groups (id, village_id, name, sort_key) VALUES (1, 1, 'g', 1)"))
        c.execute(text("INSERT INTO households (id, village_id, group_id, number, card_token, active) "
                       "VALUES (1, 1, 1, '1', 'tok', true)"))
        c.execute(text("INSERT INTO staff_users (id, username, role, village_id, password_hash, active, "
                       "must_change_password, created_at) VALUES (1, 'a', 'admin', 1, 'x', true, false, "
                       "'2026-01-01 00:00:00')"))
        prev = GENESIS
        for seq, kind, pts, day, cid in ROWS:
            at = f"{day} 04:00:00.000000"
            # 0001 hashed corrects_id in the place corrects_seq now takes (equal here, id == seq).
            h = hash_values(prev, [1, seq, kind, pts, pts, False, 1, None, None, None, 1, 1, day, at, None, None,
                                   None, None, cid])
            c.execute(text("INSERT INTO ledger_entries (id, village_id, seq, kind, points, requested_points, capped, "
                           "quantity, household_id, group_id, occurred_on, recorded_at, corrects_id, prev_hash, hash) "
                           "VALUES (:id, 1, :seq, :kind, :p, :p, false, 1, 1, 1, :day, :at, :cid, :prev, :h)"),
                      {"id": seq, "seq": seq, "kind": kind, "p": pts, "day": day, "at": at, "cid": cid,
                       "prev": prev, "h": h})
            prev = h
        c.execute(text("UPDATE villages SET ledger_seq = 4, ledger_head = :h"), {"h": prev})
        c.execute(text("INSERT INTO notices (village_id, month, published_at, published_by_id, opens_on, closes_on, "
                       "digest_seq, digest) SELECT 1, '2026-10', '2026-11-01 01:00:00', 1, '2026-11-01', '2026-11-07', "
                       "2, hash FROM ledger_entries WHERE seq = 2"))
        c.execute(text("INSERT INTO closed_periods (village_id, month, closed_at, closed_by_id, digest_seq, digest) "
                       "SELECT 1, '2026-10', '2026-11-10 01:00:00', 1, 2, hash FROM ledger_entries WHERE seq = 2"))
        c.execute(text("INSERT INTO objections (village_id, entry_id, household_id, reason, raised_at, status) "
                       "VALUES (1, 1, 1, 'x', '2026-11-02 01:00:00', 'corrected')"))
        c.commit()
        upgrade()
        notices = c.execute(text("SELECT month, number, kind, entry_count, head_seq, window_days FROM notices")).all()
        assert [tuple(n) for n in notices] == [("2026-10", 1, "main", 2, 2, 7)]
        assert c.execute(text("SELECT seq FROM notice_entries ORDER BY seq")).scalars().all() == [1, 2]
        assert c.execute(text("SELECT corrects_seq FROM ledger_entries WHERE seq = 3")).scalar_one() == 1
        v = c.get(Village, 1)
        res = verify_chain(c, v)
        check_notices(c, v, res)
        check_closed(c, v, res)
        assert res.ok, res.problems
        if c.get_bind().dialect.name == "postgresql":
            from sqlalchemy.exc import DBAPIError

            with pytest.raises(DBAPIError, match="append-only"):
                c.execute(text("DELETE FROM ledger_entries WHERE seq = 4"))
            c.rollback()
