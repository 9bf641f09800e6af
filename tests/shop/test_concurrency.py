"""Two desks at once: 16 writers never oversell and never double-spend (SQLite and PostgreSQL).

Run on PostgreSQL with POINTSAPP_TEST_DATABASE_URL set; the village row lock (SELECT ... FOR
UPDATE) serialises the writers there, BEGIN IMMEDIATE on SQLite.
"""

import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

from pointsapp.points.errors import Refused
from pointsapp.points.ledger import verify_chain
from pointsapp.points.registry import Household, StaffUser, Village
from pointsapp.points.shop.redeem import Want, redeem
from tests.shop.helpers import NOW, give, more_households, raw_redeemable, raw_stock, stocked


def _race(engine, n, work):
    """Run work(session, i) in n threads released together; return (successes, refusal codes, errors)."""
    barrier = threading.Barrier(n)
    ok, refused, errors = [], [], []

    def run(i):
        try:
            with Session(engine) as s:
                barrier.wait(30)
                try:
                    work(s, i)
                    s.commit()
                    ok.append(i)
                except Refused as exc:
                    s.rollback()
                    refused.append(exc.code)
        except Exception as exc:  # surfaced by the assertions
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return ok, refused, errors


def test_sixteen_desks_redeem_the_last_five_exactly_five_succeed(engine, world, session):
    homes = more_households(session, world, 12) + list(world.households)
    give(session, world, homes)  # 20 points each
    item = stocked(session, world, code="OIL", name="食用油", price=15, qty=5, unit="桶")
    ids = [h.id for h in homes]
    village_id, clerk_id, item_id = world.village.id, world.clerk.id, item.id
    session.close()

    def work(s, i):
        redeem(
            s,
            actor=s.get(StaffUser, clerk_id),
            village=s.get(Village, village_id),
            household=s.get(Household, ids[i]),
            wants=[Want(1, item_id=item_id)],
            key=f"desk-{i}",
            now=NOW,
        )

    ok, refused, errors = _race(engine, 16, work)
    assert errors == []
    assert len(ok) == 5 and sorted(refused) == ["out_of_stock"] * 11
    with Session(engine) as s:
        assert raw_stock(s, item_id) == 0
        assert s.execute(text("SELECT count(*) FROM redemptions")).scalar_one() == 5
        assert s.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'redemption'")).scalar_one() == 5
        assert sorted(raw_redeemable(s, ids[i]) for i in range(16)) == [5] * 5 + [20] * 11
        assert verify_chain(s, s.get(Village, village_id)).ok


def test_one_household_at_sixteen_desks_spends_once(engine, world, session):
    h = world.households[2]
    give(session, world, [h])  # 20 points: covers one redemption of 15
    item = stocked(session, world, code="OIL", name="食用油", price=15, qty=50, unit="桶")
    hid, village_id, clerk_id, item_id = h.id, world.village.id, world.clerk.id, item.id
    admin_id = world.admin.id
    session.close()

    def work(s, i):
        actor = s.get(StaffUser, clerk_id if i % 2 else admin_id)
        redeem(
            s,
            actor=actor,
            village=s.get(Village, village_id),
            household=s.get(Household, hid),
            wants=[Want(1, item_id=item_id)],
            key=f"tap-{i}",
            now=NOW,
        )

    ok, refused, errors = _race(engine, 16, work)
    assert errors == []
    assert len(ok) == 1 and sorted(refused) == ["insufficient_points"] * 15
    with Session(engine) as s:
        assert raw_redeemable(s, hid) == 5 and raw_stock(s, item_id) == 49
        assert s.execute(text("SELECT count(*) FROM redemptions")).scalar_one() == 1
        assert verify_chain(s, s.get(Village, village_id)).ok


def test_sixteen_replays_of_one_key_at_once_redeem_once(engine, world, session):
    h = world.households[2]
    give(session, world, [h], times=3)
    item = stocked(session, world, code="OIL", name="食用油", price=15, qty=50, unit="桶")
    hid, village_id, clerk_id, item_id = h.id, world.village.id, world.clerk.id, item.id
    session.close()
    seen = []

    def work(s, i):
        res = redeem(
            s,
            actor=s.get(StaffUser, clerk_id),
            village=s.get(Village, village_id),
            household=s.get(Household, hid),
            wants=[Want(1, item_id=item_id)],
            key="double-tap",
            now=NOW,
        )
        seen.append((res.redemption.id, res.replayed))

    ok, refused, errors = _race(engine, 16, work)
    assert errors == [] and refused == [] and len(ok) == 16
    assert len({rid for rid, _ in seen}) == 1 and sum(1 for _, replayed in seen if not replayed) == 1
    with Session(engine) as s:
        assert raw_redeemable(s, hid) == 45 and raw_stock(s, item_id) == 49
