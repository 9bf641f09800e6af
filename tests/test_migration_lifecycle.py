"""Migration 0002_lifecycle on a database that already holds data (written at 0001 in raw SQL):
existing notices get their entry lists and new digests, closed months keep their heads,
corrections get their seq, and the chain still verifies."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pointsapp.points.ledger import GENESIS, hash_values

ROWS = [
    (1, "award", 5, "2026-10-03", None),
    (2, "award", 3, "2026-10-05", None),
    (3, "correction", -5, "2026-11-02", 1),
    (4, "award", 2, "2026-11-03", None),
]


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
        c.execute(
            text(
                "INSERT INTO villages (id, name, timezone, notice_days, show_blacklist, ledger_seq, ledger_head, "
                "created_at) VALUES (1, 'v', 'Asia/Shanghai', 7, false, 0, :g, '2026-01-01 00:00:00')"
            ),
            {"g": GENESIS},
        )
        c.execute(text("INSERT INTO groups (id, village_id, name, sort_key) VALUES (1, 1, 'g', 1)"))
        c.execute(
            text(
                "INSERT INTO households (id, village_id, group_id, number, card_token, active) "
                "VALUES (1, 1, 1, '1', 'tok', true)"
            )
        )
        c.execute(
            text(
                "INSERT INTO staff_users (id, username, role, village_id, password_hash, active, "
                "must_change_password, created_at) VALUES (1, 'a', 'admin', 1, 'x', true, false, "
                "'2026-01-01 00:00:00')"
            )
        )
        prev = GENESIS
        for seq, kind, pts, day, cid in ROWS:
            at = f"{day} 04:00:00.000000"
            # 0001 hashed corrects_id in the place corrects_seq now takes (equal here, id == seq).
            h = hash_values(
                prev, [1, seq, kind, pts, pts, False, 1, None, None, None, 1, 1, day, at, None, None, None, None, cid]
            )
            c.execute(
                text(
                    "INSERT INTO ledger_entries (id, village_id, seq, kind, points, requested_points, capped, "
                    "quantity, household_id, group_id, occurred_on, recorded_at, corrects_id, prev_hash, hash) "
                    "VALUES (:id, 1, :seq, :kind, :p, :p, false, 1, 1, 1, :day, :at, :cid, :prev, :h)"
                ),
                {"id": seq, "seq": seq, "kind": kind, "p": pts, "day": day, "at": at, "cid": cid, "prev": prev, "h": h},
            )
            prev = h
        c.execute(text("UPDATE villages SET ledger_seq = 4, ledger_head = :h"), {"h": prev})
        c.execute(
            text(
                "INSERT INTO notices (village_id, month, published_at, published_by_id, opens_on, closes_on, "
                "digest_seq, digest) SELECT 1, '2026-10', '2026-11-01 01:00:00', 1, '2026-11-01', '2026-11-07', "
                "2, hash FROM ledger_entries WHERE seq = 2"
            )
        )
        c.execute(
            text(
                "INSERT INTO closed_periods (village_id, month, closed_at, closed_by_id, digest_seq, digest) "
                "SELECT 1, '2026-10', '2026-11-10 01:00:00', 1, 2, hash FROM ledger_entries WHERE seq = 2"
            )
        )
        c.execute(
            text(
                "INSERT INTO objections (village_id, entry_id, household_id, reason, raised_at, status) "
                "VALUES (1, 1, 1, 'x', '2026-11-02 01:00:00', 'corrected')"
            )
        )
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


def _tamper(c, sql: str, params: dict) -> None:
    """Someone with database access edits a row (on PostgreSQL past the append-only trigger)."""
    if c.get_bind().dialect.name == "postgresql":
        c.execute(text("SET LOCAL session_replication_role = replica"))
    c.execute(text(sql), params)


def test_upgrade_with_ids_unlike_seqs_still_verifies_and_catches_a_retargeted_correction(app0001):
    """Two villages share the id sequence, so ids differ from seqs: 0001 hashed a correction's
    target id, 0002 stores its seq. The upgraded chains verify; a correction edited to point at
    another entry (with the seq equal to the old id, so the old hash would still fit) does not."""
    from flask_migrate import upgrade

    from pointsapp.extensions import db
    from pointsapp.points.ledger import append_entry, verify_chain
    from pointsapp.points.registry import Village

    with app0001.app_context():
        c = db.session
        for vid in (1, 2):
            c.execute(
                text(
                    "INSERT INTO villages (id, name, timezone, notice_days, show_blacklist, ledger_seq, "
                    "ledger_head, created_at) VALUES (:id, :n, 'Asia/Shanghai', 7, false, 0, :g, "
                    "'2026-01-01 00:00:00')"
                ),
                {"id": vid, "n": f"v{vid}", "g": GENESIS},
            )
            c.execute(
                text("INSERT INTO groups (id, village_id, name, sort_key) VALUES (:id, :id, 'g', 1)"), {"id": vid}
            )
            c.execute(
                text(
                    "INSERT INTO households (id, village_id, group_id, number, card_token, active) "
                    "VALUES (:id, :id, :id, '1', :t, true)"
                ),
                {"id": vid, "t": f"tok{vid}"},
            )
        # (id, village, seq, kind, points, day, corrects_id): ids interleave across the villages
        rows = [
            (1, 1, 1, "award", 5, "2026-10-03", None),
            (2, 2, 1, "award", 4, "2026-10-03", None),
            (3, 1, 2, "award", 3, "2026-10-04", None),
            (4, 2, 2, "award", 6, "2026-10-04", None),
            (5, 2, 3, "correction", -4, "2026-10-05", 2),  # corrects v2 seq 1 (id 2)
            (6, 1, 3, "correction", -3, "2026-10-06", 3),
        ]  # corrects v1 seq 2 (id 3)
        heads = {1: (0, GENESIS), 2: (0, GENESIS)}
        for eid, vid, seq, kind, pts, day, cid in rows:
            at = f"{day} 04:00:00.000000"
            prev = heads[vid][1]
            h = hash_values(
                prev,
                [vid, seq, kind, pts, pts, False, 1, None, None, None, vid, vid, day, at, None, None, None, None, cid],
            )  # 0001: corrects_id in the last place
            c.execute(
                text(
                    "INSERT INTO ledger_entries (id, village_id, seq, kind, points, requested_points, capped, "
                    "quantity, household_id, group_id, occurred_on, recorded_at, corrects_id, prev_hash, hash) "
                    "VALUES (:id, :v, :seq, :kind, :p, :p, false, 1, :v, :v, :day, :at, :cid, :prev, :h)"
                ),
                {
                    "id": eid,
                    "v": vid,
                    "seq": seq,
                    "kind": kind,
                    "p": pts,
                    "day": day,
                    "at": at,
                    "cid": cid,
                    "prev": prev,
                    "h": h,
                },
            )
            heads[vid] = (seq, h)
        for vid, (seq, h) in heads.items():
            c.execute(
                text("UPDATE villages SET ledger_seq = :s, ledger_head = :h WHERE id = :v"),
                {"s": seq, "h": h, "v": vid},
            )
        c.commit()
        upgrade()
        assert c.execute(
            text("SELECT id, corrects_seq FROM ledger_entries WHERE corrects_id IS NOT NULL ORDER BY id")
        ).all() == [(5, 1), (6, 2)]
        villages = {v.id: v for v in c.query(Village)}
        for v in villages.values():
            res = verify_chain(c, v)
            assert res.ok, res.problems

        # a correction posted after the upgrade hashes its seq; both kinds verify side by side
        v2 = villages[2]
        append_entry(
            c,
            v2,
            id=7,
            kind="correction",
            points=-6,
            household_id=2,
            group_id=2,
            occurred_on=__import__("datetime").date(2026, 10, 7),
            corrects_seq=2,
            corrects_id=4,
        )
        c.commit()
        assert verify_chain(c, v2).ok

        # tampered: the legacy correction now points at v2 seq 2 (id 4); its old hash held the number 2
        _tamper(c, "UPDATE ledger_entries SET corrects_id = 4, corrects_seq = 2 WHERE id = 5", {})
        res = verify_chain(c, v2)
        assert not res.ok and res.bad_seq == 3 and "changed after posting" in res.problems[0]
        c.rollback()
        assert verify_chain(c, v2).ok
        # the boundary itself is not hashed: lowered along with the retarget, only the anchors file
        # exported before (what the village kept) tells
        from pointsapp.points.anchors import check_anchors, village_anchors

        kept = village_anchors(c, v2)
        assert kept["legacy_hash_seq"] == 3
        _tamper(c, "UPDATE ledger_entries SET corrects_id = 4, corrects_seq = 2 WHERE id = 5", {})
        c.execute(text("UPDATE villages SET legacy_hash_seq = 0 WHERE id = 2"))
        c.expire_all()
        v2 = c.get(Village, 2)
        res = verify_chain(c, v2)
        check_anchors(c, v2, kept, res)
        assert not res.ok and "village row was edited" in res.problems[0]
        c.rollback()
        # tampered: the legacy correction's points
        _tamper(c, "UPDATE ledger_entries SET points = -1, requested_points = -1 WHERE id = 6", {})
        res = verify_chain(c, villages[1])
        assert not res.ok and res.bad_seq == 3
        c.rollback()
