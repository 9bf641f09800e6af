"""Helpers for the shop tests: points for households, a stocked catalogue, a clerk."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text

from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import Submission
from pointsapp.points.registry import Group, Household, Role, StaffUser, Village, Villager
from pointsapp.points.shop.stock import add_item, stock_in

NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.timezone.utc)  # 12:00 in Asia/Shanghai
DAY = dt.date(2026, 11, 5)


def clerk(world, name="clerk1") -> StaffUser:
    return world.user(name, Role.clerk)


def give(session, world, households, rule="YF-01", day=DAY, times=1) -> None:
    """Post ``rule`` (a household rule; YF-01 is +20, uncapped) ``times`` for each household."""
    now = dt.datetime.combine(day, dt.time(4), tzinfo=dt.timezone.utc)  # noon, local, that day
    for _ in range(times):
        res = capture(
            session,
            actor=world.admin,
            village=world.village,
            rule_code=rule,
            occurred_on=day,
            lines=[Line(household_id=h.id) for h in households],
            key=world.key(),
            now=now,
        )
        subs = [session.get(Submission, ln.submission_id) for ln in res.lines]
        assert all(s.status == "pending" for s in subs), [s.reason for s in subs]
        approve(session, subs, world.reviewer, now=now)
    session.commit()


def stocked(session, world, code="SOAP", name="香皂", price=10, qty=10, unit="块"):
    item = add_item(session, world.village, world.admin, code=code, name=name, price=price, unit=unit)
    stock_in(session, world.village, world.admin, item, qty, source="purchase", value_fen=qty * price * 100, now=NOW)
    session.commit()
    return item


def more_households(session, world, n: int) -> list[Household]:
    """n extra one-person households in group 2."""
    out = []
    base = len(world.households)
    for i in range(n):
        h = Household(village_id=world.village.id, group_id=world.g2.id, number=str(base + i + 1))
        session.add(h)
        session.flush()
        p = Villager(village_id=world.village.id, household_id=h.id, name=f"测试{i + 1}号", relation="户主")
        session.add(p)
        session.flush()
        h.head_id = p.id
        out.append(h)
    session.commit()
    return out


def counts(session) -> dict[str, int]:
    """Rows in every table the shop or the ledger writes."""
    tables = [
        "ledger_entries",
        "tallies",
        "redemptions",
        "redemption_lines",
        "stock_movements",
        "redeemable_resets",
        "redeemable_reset_lines",
        "audit_events",
    ]
    out = {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    out["tally_sum"] = session.execute(
        text("SELECT coalesce(sum(points), 0) + coalesce(sum(spent), 0) FROM tallies")
    ).scalar_one()
    return out


def raw_redeemable(session, household_id: int) -> int:
    """Redeemable balance straight from the entries (an oracle independent of the tallies)."""
    return int(
        session.execute(
            text("SELECT coalesce(sum(points), 0) FROM ledger_entries WHERE household_id = :h"), {"h": household_id}
        ).scalar_one()
    )


def raw_honour(session, household_id: int) -> int:
    return int(
        session.execute(
            text(
                "SELECT coalesce(sum(points), 0) FROM ledger_entries WHERE household_id = :h "
                "AND kind NOT IN ('redemption', 'expiry')"
            ),
            {"h": household_id},
        ).scalar_one()
    )


def raw_stock(session, item_id: int) -> int:
    return int(
        session.execute(
            text("SELECT coalesce(sum(qty), 0) FROM stock_movements WHERE item_id = :i"), {"i": item_id}
        ).scalar_one()
    )


__all__ = [
    "NOW",
    "DAY",
    "clerk",
    "give",
    "stocked",
    "more_households",
    "counts",
    "raw_redeemable",
    "raw_honour",
    "raw_stock",
    "Group",
    "Village",
    "func",
    "select",
]
