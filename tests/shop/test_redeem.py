"""Catalogue, stock and redemption in the core (no app): refusals, idempotency, cancellation."""

import datetime as dt

import pytest
from sqlalchemy import select, text

from pointsapp.points.errors import Refused
from pointsapp.points.ledger import EntryKind, LedgerEntry, verify_chain
from pointsapp.points.shop.models import Redemption, StockMovement
from pointsapp.points.shop.redeem import Want, cancel, redeem, redeemed_in_year
from pointsapp.points.shop.stock import add_item, catalogue, stock_in, write_off
from pointsapp.points.standings import balance
from tests.shop.helpers import NOW, counts, give, raw_honour, raw_redeemable, raw_stock, stocked


def _redeem(session, world, household, wants, key="r1", actor=None, now=NOW, **kw):
    res = redeem(
        session,
        actor=actor or world.clerk,
        village=world.village,
        household=household,
        wants=wants,
        key=key,
        now=now,
        **kw,
    )
    session.commit()
    return res


def test_stock_is_the_sum_of_movements_and_write_offs_never_go_below_zero(world, session):
    item = stocked(session, world, qty=7)
    stock_in(session, world.village, world.clerk, item, 3, source="donation", donor="爱心企业", now=NOW)
    session.commit()
    assert {r.code: r.stock for r in catalogue(session, world.village)} == {"SOAP": 10}
    assert raw_stock(session, item.id) == 10
    write_off(session, world.village, world.clerk, item, 4, reason="受潮", now=NOW)
    session.commit()
    before = counts(session)
    with pytest.raises(Refused) as exc:
        write_off(session, world.village, world.clerk, item, 7, reason="丢失", now=NOW)
    session.rollback()
    assert exc.value.code == "out_of_stock" and "only 6" in exc.value.message
    assert counts(session) == before and raw_stock(session, item.id) == 6
    with pytest.raises(Refused) as exc:
        stock_in(session, world.village, world.clerk, item, 1, source="donation", now=NOW)
    assert exc.value.code == "donor_required"
    with pytest.raises(Refused) as exc:
        add_item(session, world.village, world.clerk, code="X", name="x", price=1)
    assert exc.value.code == "not_allowed"  # only admins manage the catalogue
    with pytest.raises(Refused) as exc:
        stock_in(session, world.village, world.grid, item, 1, source="purchase", now=NOW)
    assert exc.value.code == "not_allowed"


def test_a_redemption_posts_one_entry_linked_to_lines_and_movements(world, session):
    h = world.households[0]
    give(session, world, [h], times=3)  # 60 points
    soap, rice = stocked(session, world), stocked(session, world, code="RICE", name="大米", price=25, unit="袋")
    seq_before = world.village.ledger_seq
    res = _redeem(session, world, h, [Want(2, code="SOAP"), Want(1, item_id=rice.id)], collector=world.people[0][1])
    red = res.redemption
    assert not res.replayed and red.points == 45 and red.balance_after == 15 and red.number == "2026-00001"
    new = session.execute(select(LedgerEntry).where(LedgerEntry.seq > seq_before)).scalars().all()
    assert len(new) == 1
    entry = new[0]
    assert (EntryKind(entry.kind), entry.points, entry.household_id) == (EntryKind.redemption, -45, h.id)
    assert red.entry_id == entry.id
    assert [(ln.item.code, ln.qty, ln.points) for ln in red.lines] == [("SOAP", 2, 20), ("RICE", 1, 25)]
    assert all(ln.movement.redemption_id == red.id and ln.movement.qty == -ln.qty for ln in red.lines)
    assert raw_stock(session, soap.id) == 8 and raw_stock(session, rice.id) == 9
    assert raw_redeemable(session, h.id) == 15 == balance(session, household=h).redeemable
    assert raw_honour(session, h.id) == 60 == balance(session, household=h).honour  # honour untouched
    assert redeemed_in_year(session, h.id, 2026) == 45
    assert red.collector_name == world.people[0][1].name
    assert verify_chain(session, world.village).ok


@pytest.mark.parametrize("case", ["points", "stock", "role", "inactive", "other_village_member"])
def test_refusals_write_nothing(world, session, case):
    h = world.households[0]
    give(session, world, [h])  # 20 points
    stocked(session, world, qty=2)
    before = counts(session)
    wants, actor, kw = [Want(1, code="SOAP")], world.clerk, {}
    if case == "points":
        stocked(session, world, code="TV", name="电视", price=500)
        before = counts(session)
        wants = [Want(1, code="SOAP"), Want(1, code="TV")]
    elif case == "stock":
        wants = [Want(3, code="SOAP")]
    elif case == "role":
        actor = world.grid
    elif case == "inactive":
        session.execute(text("UPDATE shop_items SET active = :f"), {"f": False})
        session.commit()
    else:
        kw["collector"] = world.people[1][0]
    with pytest.raises(Refused) as exc:
        redeem(session, actor=actor, village=world.village, household=h, wants=wants, key="x", now=NOW, **kw)
    session.rollback()
    expected = {
        "points": ("insufficient_points", "has 20 redeemable points; these items cost 510"),
        "stock": ("out_of_stock", "香皂: only 2 块 left, 3 asked"),
        "role": ("not_allowed", "grid_worker"),
        "inactive": ("item_inactive", "香皂"),
        "other_village_member": ("bad_collector", world.people[1][0].name),
    }[case]
    assert exc.value.code == expected[0] and expected[1] in exc.value.message
    assert counts(session) == before


def test_a_hundred_replays_of_one_key_redeem_once(world, session):
    h = world.households[1]
    give(session, world, [h], times=5)
    item = stocked(session, world)
    first = _redeem(session, world, h, [Want(1, code="SOAP")], key="same-key").redemption
    after_first = counts(session)
    for _ in range(100):
        res = _redeem(session, world, h, [Want(1, code="SOAP")], key="same-key")
        assert res.replayed and res.redemption.id == first.id
    assert counts(session) == after_first
    assert raw_stock(session, item.id) == 9 and raw_redeemable(session, h.id) == 90
    assert session.execute(text("SELECT count(*) FROM redemptions")).scalar_one() == 1


def test_cancellation_returns_stock_and_points_and_the_chain_verifies(world, session):
    h = world.households[0]
    give(session, world, [h], times=2)
    item = stocked(session, world, qty=5)
    assert verify_chain(session, world.village).ok
    red = _redeem(session, world, h, [Want(3, code="SOAP")]).redemption
    assert verify_chain(session, world.village).ok
    assert (raw_stock(session, item.id), raw_redeemable(session, h.id)) == (2, 10)
    entry = cancel(session, red, world.clerk, now=NOW + dt.timedelta(hours=2))  # same day: a clerk may
    session.commit()
    assert verify_chain(session, world.village).ok
    assert (EntryKind(entry.kind), entry.points, entry.corrects_id) == (EntryKind.redemption, 30, red.entry_id)
    assert (raw_stock(session, item.id), raw_redeemable(session, h.id), raw_honour(session, h.id)) == (5, 40, 40)
    assert balance(session, household=h).as_dict()["redeemable"] == 40
    returned = session.execute(select(StockMovement).where(StockMovement.kind == "return")).scalars().all()
    assert [(m.qty, m.redemption_id) for m in returned] == [(3, red.id)]
    with pytest.raises(Refused) as exc:
        cancel(session, red, world.admin, reason="again", now=NOW + dt.timedelta(hours=3))
    session.rollback()
    assert exc.value.code == "already_cancelled"
    assert redeemed_in_year(session, h.id, 2026) == 0
    audit = (
        session.execute(text("SELECT action FROM audit_events WHERE action LIKE 'shop.%' ORDER BY id")).scalars().all()
    )
    assert audit[-2:] == ["shop.redeem", "shop.cancel"]


def test_after_the_day_only_an_admin_cancels_and_with_a_reason(world, session):
    h = world.households[0]
    give(session, world, [h], times=2)
    item = stocked(session, world, qty=5)
    red = _redeem(session, world, h, [Want(1, code="SOAP")]).redemption
    next_day = NOW + dt.timedelta(days=1)
    with pytest.raises(Refused) as exc:
        cancel(session, red, world.clerk, reason="拿错了", now=next_day)
    assert exc.value.code == "cancel_needs_admin"
    with pytest.raises(Refused) as exc:
        cancel(session, red, world.admin, now=next_day)
    assert exc.value.code == "reason_required"
    with pytest.raises(Refused) as exc:
        cancel(session, red, world.reviewer, reason="x", now=next_day)
    assert exc.value.code == "not_allowed"
    session.rollback()
    cancel(session, red, world.admin, reason="村民退回", now=next_day)
    session.commit()
    red = session.get(Redemption, red.id)
    assert red.cancelled and red.cancel_reason == "村民退回" and red.cancelled_by_id == world.admin.id
    assert raw_stock(session, item.id) == 5 and raw_redeemable(session, h.id) == 40
    assert verify_chain(session, world.village).ok


def test_receipt_numbers_count_up_within_a_year(world, session):
    h = world.households[0]
    give(session, world, [h], times=2)
    stocked(session, world)
    numbers = [_redeem(session, world, h, [Want(1, code="SOAP")], key=f"k{i}").redemption.number for i in range(3)]
    assert numbers == ["2026-00001", "2026-00002", "2026-00003"]
