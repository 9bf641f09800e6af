"""Approving many captures at once (issue 12): one INSERT for the entries, one UPDATE for the
statuses, one upsert for the tallies. Checked against raw SQL and an independent re-hash of the chain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from pointsapp.points.ledger import GENESIS, HASHED_FIELDS, entry_hash
from pointsapp.points import versions  # noqa: F401  (its Session events count the pages' versions)
from pointsapp.points.review import approve
from tests.points.helpers import cap, subs


def test_a_batch_posts_in_order_chained_with_statuses_and_tallies_in_sql(world, session):
    people = [p for members in world.people for p in members]
    first = cap(session, world, world.admin, "ZY-01", people, day=dt.date(2026, 11, 5))
    second = cap(session, world, world.admin, "ZY-02", people[:3], day=dt.date(2026, 11, 6), qty=2)
    session.commit()
    pending = subs(session, first) + subs(session, second)
    before = session.execute(
        text("SELECT ledger_seq FROM villages WHERE id = :v"), {"v": world.village.id}
    ).scalar_one()
    entries = approve(session, pending, world.reviewer)
    # In the order named, one entry per capture, and the captures in this session say so at once.
    assert [e.submission_id for e in entries] == [s.id for s in pending]
    assert [e.seq for e in entries] == list(range(before + 1, before + 1 + len(pending)))
    assert {s.status for s in pending} == {"approved"} and {s.decided_by_id for s in pending} == {world.reviewer.id}
    session.commit()
    rows = session.execute(
        text(
            "SELECT status, decided_by_id FROM submissions WHERE id IN ({})".format(
                ", ".join(str(s.id) for s in pending)
            )
        )
    ).all()
    assert set(rows) == {("approved", world.reviewer.id)} and len(rows) == len(pending)
    # The chain, re-hashed here from the stored rows, links entry to entry up to the village's head.
    stored = (
        session.execute(
            text(
                f"SELECT {', '.join(HASHED_FIELDS)}, prev_hash, hash FROM ledger_entries "
                "WHERE village_id = :v ORDER BY seq"
            ),
            {"v": world.village.id},
        )
        .mappings()
        .all()
    )
    prev = GENESIS
    for r in stored:
        assert r["prev_hash"] == prev and entry_hash(prev, dict(r)) == r["hash"]
        prev = r["hash"]
    head = session.execute(text("SELECT ledger_head FROM villages WHERE id = :v"), {"v": world.village.id}).scalar_one()
    assert prev == head
    # Each villager's all-time tally is the sum of its entries in SQL.
    mismatched = session.execute(
        text(
            "SELECT t.subject_id FROM tallies t LEFT JOIN (SELECT villager_id, SUM(points) AS p FROM ledger_entries "
            "WHERE villager_id IS NOT NULL GROUP BY villager_id) e ON e.villager_id = t.subject_id "
            "WHERE t.period = 'all' AND t.kind = 'v' AND t.points <> COALESCE(e.p, 0)"
        )
    ).all()
    assert mismatched == []
    assert session.execute(
        text("SELECT COUNT(*) FROM tallies WHERE period = 'all' AND kind = 'v'")
    ).scalar_one() == len(people)


def test_a_batch_approval_marks_its_own_village_changed_not_every_village(world, session):
    res = cap(session, world, world.admin, "ZY-01", world.people[0] + world.people[1])
    session.commit()

    def counters():
        return dict(session.execute(text("SELECT village_id, version FROM village_versions")).all())

    before = counters()
    approve(session, subs(session, res), world.reviewer)
    session.commit()
    after = counters()
    assert after.get(0) == before.get(0)  # the installation-wide counter: every village's pages
    assert after.get(world.village.id, 0) == before.get(world.village.id, 0) + 1
