"""``ledger verify`` beyond the chain walk (issue 10): notices, closed heads, tallies, anchors,
rows outside the chain, appended rows, swapped ids. Each tampering is done in raw SQL, the
way someone with database access would, and each problem must be named for what happened."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from pointsapp.points.anchors import export_anchors, verify_village
from pointsapp.points.capture import correct
from pointsapp.points.ledger import GENESIS, HASHED_FIELDS, LedgerEntry, entry_hash
from pointsapp.points.lifecycle import close_month
from pointsapp.points.notice import Notice, notice_digest, publish_notice
from pointsapp.points.registry import Village
from pointsapp.points.standings import rebuild_tallies
from tests.points.helpers import cap, post, tamper
from tests.points.test_lifecycle import DEC1, at


@pytest.fixture
def published(world, session):
    """November: four awards and a correction, published on 1 Dec (0-day window) and closed;
    December: one award, published on 1 Jan."""
    world.village.notice_days = 0
    people = [p for hh in world.people[:2] for p in hh]
    res = cap(session, world, world.grid, "ZY-01", people, day=dt.date(2026, 11, 3), now=at(2026, 11, 3))
    nov = post(session, world, res, now=at(2026, 11, 4))
    correct(session, nov[0], world.reviewer, "记错了", now=at(2026, 11, 10))
    session.commit()
    publish_notice(session, world.village, "2026-11", world.reviewer, now=DEC1)
    close_month(session, world.village, "2026-11", world.admin, now=DEC1)
    session.commit()
    res = cap(session, world, world.grid, "ZY-01", people[:1], day=dt.date(2026, 12, 3), now=at(2026, 12, 3))
    post(session, world, res, now=at(2026, 12, 4))
    publish_notice(session, world.village, "2026-12", world.reviewer, now=at(2027, 1, 1))
    session.commit()
    assert verify_village(session, world.village).ok
    return world


def _verify(session, world, anchors=None):
    session.expire_all()
    return verify_village(session, session.get(Village, world.village.id), anchors=anchors)


def _notice(session, world, month):
    return session.execute(
        select(Notice).where(Notice.village_id == world.village.id, Notice.month == month, Notice.number == 1)
    ).scalar_one()


def test_an_edited_notice_list_is_caught(published, session):
    n = _notice(session, published, "2026-11")
    tamper(session, "DELETE FROM notice_entries WHERE notice_id = :n AND seq = 2", {"n": n.id})
    res = _verify(session, published)
    assert not res.ok and any("notice 2026-11" in p and "list was edited" in p for p in res.problems)


def test_a_swapped_notice_entry_is_caught_by_its_digest(published, session):
    n = _notice(session, published, "2026-11")
    dec_seq = session.execute(text("SELECT MAX(seq) FROM ledger_entries")).scalar_one()
    tamper(
        session,
        [
            "DELETE FROM notice_entries WHERE notice_id <> :n AND seq = :d",
            "UPDATE notice_entries SET seq = :d WHERE notice_id = :n AND seq = 2",
        ],
        {"n": n.id, "d": dec_seq},
    )
    res = _verify(session, published)
    assert any("notice 2026-11" in p and "digest no longer matches" in p for p in res.problems), res.problems


def test_a_closed_head_that_no_longer_matches_is_caught(published, session):
    tamper(session, "UPDATE closed_periods SET head_hash = :h", {"h": "f" * 64})
    res = _verify(session, published)
    assert not res.ok and any("closed month 2026-11" in p and "no longer matches" in p for p in res.problems)


def _rewrite_chain(session, world, seq_to_change: int, new_points: int):
    """Rewrite the whole chain from ``seq_to_change`` with recomputed hashes, digests, heads and
    tallies: everything inside the database stays consistent."""
    session.expire_all()
    rows = (
        session.execute(select(LedgerEntry).where(LedgerEntry.village_id == world.village.id).order_by(LedgerEntry.seq))
        .scalars()
        .all()
    )
    prev = GENESIS
    updates = []
    for e in rows:
        fields = {k: getattr(e, k) for k in HASHED_FIELDS}
        if e.seq == seq_to_change:
            fields["points"] = fields["requested_points"] = new_points
        h = entry_hash(prev, fields)
        updates.append({"id": e.id, "p": fields["points"], "prev": prev, "h": h})
        prev = h
    for u in updates:
        tamper(
            session,
            "UPDATE ledger_entries SET points = :p, requested_points = :p, prev_hash = :prev, hash = :h WHERE id = :id",
            u,
        )
    tamper(session, "UPDATE villages SET ledger_head = :h WHERE id = :v", {"h": prev, "v": world.village.id})
    hashes = {e.seq: u["h"] for e, u in zip(rows, updates)}
    for n in session.execute(select(Notice)).scalars().all():
        seqs = (
            session.execute(text("SELECT seq FROM notice_entries WHERE notice_id = :n ORDER BY seq"), {"n": n.id})
            .scalars()
            .all()
        )
        head_hash = hashes.get(n.head_seq, GENESIS)
        digest = notice_digest(n.village_id, n.month, n.number, n.head_seq, head_hash, [(s, hashes[s]) for s in seqs])
        tamper(
            session,
            "UPDATE notices SET head_hash = :hh, digest = :d WHERE id = :n",
            {"hh": head_hash, "d": digest, "n": n.id},
        )
    for (seq,) in session.execute(text("SELECT head_seq FROM closed_periods")).all():
        tamper(
            session,
            "UPDATE closed_periods SET head_hash = :h WHERE head_seq = :s",
            {"h": hashes.get(seq, GENESIS), "s": seq},
        )
    rebuild_tallies(session, session.get(Village, world.village.id))
    session.commit()


def test_a_full_chain_rewrite_passes_alone_but_not_against_earlier_anchors(published, session, tmp_path):
    anchors_file = tmp_path / "anchors.json"
    anchors_file.write_text(json.dumps(export_anchors(session, [published.village]), ensure_ascii=False))
    session.rollback()
    _rewrite_chain(session, published, seq_to_change=2, new_points=50)
    assert _verify(session, published).ok  # consistent inside the database: only the anchors tell
    res = _verify(session, published, anchors=json.loads(anchors_file.read_text()))
    assert not res.ok
    assert any("notice 2026-11" in p and "rewritten" in p for p in res.problems), res.problems
    assert any("closed month 2026-11" in p and "rewritten" in p for p in res.problems), res.problems


def test_an_out_of_band_append_is_named_as_such(published, session):
    v = session.get(Village, published.village.id)
    last = session.execute(select(LedgerEntry).where(LedgerEntry.seq == v.ledger_seq)).scalar_one()
    fields = {k: getattr(last, k) for k in HASHED_FIELDS}
    fields.update(
        seq=last.seq + 1,
        points=500,
        requested_points=500,
        submission_id=None,
        recorded_at=dt.datetime(2027, 1, 2, tzinfo=dt.UTC),
    )
    h = entry_hash(v.ledger_head, fields)
    cols = [k for k in HASHED_FIELDS] + ["prev_hash", "hash"]
    params = dict(fields, prev_hash=v.ledger_head, hash=h)
    params["kind"] = getattr(params["kind"], "value", params["kind"])
    if session.get_bind().dialect.name == "sqlite":  # as the app stores it: naive UTC text
        params["recorded_at"] = "2027-01-02 00:00:00.000000"
    tamper(
        session, f"INSERT INTO ledger_entries ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})", params
    )
    res = _verify(session, published)
    assert not res.ok and "appended out of band" in res.problem and "deleted" not in res.problem
    assert res.bad_seq == last.seq + 1


def _forge_below_one(session, world):
    src = session.execute(select(LedgerEntry.id).order_by(LedgerEntry.seq).limit(1)).scalar_one()
    cols = (
        "village_id, kind, points, requested_points, capped, quantity, rule_id, rule_version_id, "
        "villager_id, household_id, group_id, occurred_on, recorded_at, note, captured_by_id, approved_by_id"
    )
    return [
        f"INSERT INTO ledger_entries (seq, {cols}, prev_hash, hash) SELECT {seq}, "
        + cols.replace("points, requested_points", f"{pts}, {pts}")
        + f", '{'0' * 64}', '{'1' * 64}' "
        f"FROM ledger_entries WHERE id = {src}"
        for seq, pts in ((0, 500), (-1, 300))
    ]


def test_the_database_refuses_rows_below_seq_one(published, session):
    stmt = _forge_below_one(session, published)[0]
    with pytest.raises(IntegrityError):
        session.execute(text(stmt))
        session.flush()
    session.rollback()


def test_rows_below_seq_one_are_counted_and_named(published, session):
    tamper(session, _forge_below_one(session, published), checks=False)
    res = _verify(session, published)
    assert not res.ok and res.rows == res.entries + 2
    assert "2 row(s) outside the chain, below seq 1" in res.problem and "seq 0" in res.problem


def test_an_edited_tally_is_named_by_household_and_period(published, session):
    h = published.households[0]
    tamper(
        session,
        "UPDATE tallies SET points = points + 1000 WHERE kind = 'h' AND subject_id = :h AND period = 'all'",
        {"h": h.id},
    )
    res = _verify(session, published)
    assert not res.ok
    assert f"household {h.id}, period all" in res.problem and "sum to" in res.problem


def test_swapping_two_entries_ids_is_caught(published, session):
    rows = session.execute(select(LedgerEntry.id, LedgerEntry.seq).order_by(LedgerEntry.seq)).all()
    a, b = rows[0].id, rows[1].id  # rows[0] was corrected (the correction points at its seq)
    tamper(
        session,
        [
            "UPDATE ledger_entries SET id = -99 WHERE id = :a",
            "UPDATE ledger_entries SET id = :a WHERE id = :b",
            "UPDATE ledger_entries SET id = :b WHERE id = -99",
        ],
        {"a": a, "b": b},
    )
    res = _verify(session, published)
    assert not res.ok and any("entry ids were changed" in p for p in res.problems), res.problems


def test_postgresql_refuses_a_raw_update_of_the_ledger(published, session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    from sqlalchemy.exc import DBAPIError

    for stmt in (
        "UPDATE ledger_entries SET points = points + 1",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries CASCADE",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(stmt))
        session.rollback()
    assert _verify(session, published).ok
