import datetime as dt

import pytest
from sqlalchemy import text

from pointsapp.points.capture import Line, capture
from pointsapp.points.ledger import verify_chain
from tests.points.helpers import entries, post, tamper


@pytest.fixture
def chained(world, session):
    people = [p for hh in world.people[:2] for p in hh]
    res = capture(
        session,
        actor=world.grid,
        village=world.village,
        rule_code="ZY-01",
        occurred_on=dt.date(2026, 11, 3),
        lines=[Line(villager_id=p.id) for p in people],
        key="c",
    )
    post(session, world, res)
    assert verify_chain(session, world.village).ok
    return world


def _verify(session, world):
    session.expire_all()
    return verify_chain(session, world.village)


def test_update_in_sql_is_caught(chained, session):
    e = entries(session)[2]
    tamper(session, "UPDATE ledger_entries SET points = 50 WHERE id = :id", {"id": e.id})
    res = _verify(session, chained)
    assert not res.ok and res.bad_seq == 3 and "changed after posting" in res.problem


def test_delete_in_sql_is_caught(chained, session):
    e = entries(session)[1]
    tamper(session, "DELETE FROM ledger_entries WHERE id = :id", {"id": e.id})
    res = _verify(session, chained)
    assert not res.ok and res.bad_seq == 3 and "missing" in res.problem


def test_deleting_the_last_entry_is_caught(chained, session):
    e = entries(session)[-1]
    tamper(session, "DELETE FROM ledger_entries WHERE id = :id", {"id": e.id})
    res = _verify(session, chained)
    assert not res.ok and "deleted from the end" in res.problem


def test_insert_in_sql_is_caught(chained, session):
    last = entries(session)[-1]
    cols = (
        "village_id, seq, kind, points, requested_points, capped, quantity, rule_id, rule_version_id, "
        "villager_id, household_id, group_id, occurred_on, recorded_at, note, captured_by_id, approved_by_id, "
        "prev_hash, hash"
    )
    session.execute(
        text(
            f"INSERT INTO ledger_entries ({cols}) SELECT village_id, seq + 1, kind, 100, 100, capped, "
            "quantity, rule_id, rule_version_id, villager_id, household_id, group_id, occurred_on, "
            f"recorded_at, note, captured_by_id, approved_by_id, hash, hash FROM ledger_entries WHERE id = :id"
        ),
        {"id": last.id},
    )
    session.commit()
    res = _verify(session, chained)
    assert not res.ok and res.bad_seq == last.seq + 1 and "content does not match" in res.problem


def test_chain_links_each_entry_to_the_previous(chained, session):
    rows = entries(session)
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    assert chained.village.ledger_head == rows[-1].hash
