"""Redemption at the desk (以积分换物品) and its cancellation.

A redemption is checked and written while the village row is locked, the lock every ledger
writer of the village takes (:func:`pointsapp.points.ledger.lock_village`): stock on hand and
the household's redeemable balance are read under it, so two desks can neither oversell nor
double-spend. It posts ONE ``redemption`` entry through :func:`append_entry` and the tallies,
linked to its item lines and stock movements, and is idempotent on its key.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from .. import audit
from ..closing import is_closed
from ..db import utcnow
from ..errors import Refused
from ..ledger import EntryKind, LedgerEntry, append_entry, lock_village
from ..periods import local_today, month_key
from ..policy import allowed, require
from ..registry import Household, StaffUser, Village, Villager, VillagerStatus, get_in_village
from ..standings import Tally, apply_tallies
from .models import MovementKind, Redemption, RedemptionLine, ShopItem, StockMovement
from .stock import on_hand

MAX_LINE_QTY = 999


@dataclass(frozen=True)
class Want:
    """One line the clerk picked: an item (by id or code) and a quantity."""

    qty: int
    item_id: int | None = None
    code: str | None = None


@dataclass
class RedeemResult:
    redemption: Redemption
    replayed: bool  # the key had been used: this is the first call's redemption


def redeemable(session: Session, household: Household) -> int:
    """The household's redeemable balance, from the running tallies of its ledger entries."""
    row = session.execute(
        select(Tally.points, Tally.spent).where(
            Tally.period == "all", Tally.kind == "h", Tally.subject_id == household.id
        )
    ).first()
    return int(row.points + row.spent) if row else 0


def find_by_key(session: Session, village: Village, key: str) -> Redemption | None:
    return session.execute(
        select(Redemption).where(Redemption.village_id == village.id, Redemption.key == key)
    ).scalar_one_or_none()


def _items_of(session: Session, village: Village, wants: Sequence[Want]) -> OrderedDict[int, tuple[ShopItem, int]]:
    """Resolve and merge the wanted lines: {item id: (item, qty)} in the order first picked."""
    if not wants:
        raise Refused("nothing_picked", "pick at least one item")
    ids = {w.item_id for w in wants if w.item_id is not None}
    codes = {w.code.strip() for w in wants if w.item_id is None and w.code}
    found = (
        list(
            session.execute(
                select(ShopItem).where(
                    ShopItem.village_id == village.id, (ShopItem.id.in_(ids)) | (ShopItem.code.in_(codes))
                )
            ).scalars()
        )
        if ids or codes
        else []
    )
    by_id = {i.id: i for i in found}
    by_code = {i.code: i for i in found}
    merged: OrderedDict[int, tuple[ShopItem, int]] = OrderedDict()
    for w in wants:
        item = by_id.get(w.item_id) if w.item_id is not None else by_code.get((w.code or "").strip())
        label = w.code if w.item_id is None else f"#{w.item_id}"
        if item is None:
            raise Refused("unknown_item", f"no item {label} in this village's shop", item=label)
        if not item.active:
            raise Refused("item_inactive", f"{item.name} is no longer offered", item=item.name)
        if isinstance(w.qty, bool) or not isinstance(w.qty, int) or not 1 <= w.qty <= MAX_LINE_QTY:
            raise Refused(
                "bad_quantity",
                f"{item.name}: quantity must be a whole number from 1 to {MAX_LINE_QTY}, got {w.qty!r}",
                item=item.name,
            )
        prev = merged.get(item.id, (item, 0))[1]
        merged[item.id] = (item, prev + w.qty)
    return merged


def redeem(
    session: Session,
    *,
    actor: StaffUser,
    village: Village,
    household: Household,
    wants: Sequence[Want],
    key: str,
    collector: Villager | None = None,
    collector_name: str | None = None,
    source: str = "web",
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> RedeemResult:
    """Redeem items for a household. All or nothing; a replayed key returns the first result."""
    require(actor, village, "shop.redeem")
    if not key or len(key) > 128:
        raise Refused("bad_key", "a redemption needs an idempotency key of 1-128 characters")
    village = lock_village(session, village)  # from here on, one writer per village
    if (done := find_by_key(session, village, key)) is not None:
        return RedeemResult(done, True)
    if household.village_id != village.id:
        raise Refused("not_found", f"household {household.id} is not in this village")
    if not household.active:
        raise Refused("household_inactive", f"household {household.number} is no longer active")
    if actor.own_household_id is not None and actor.own_household_id == household.id:
        raise Refused("conflict_of_interest", "staff may not redeem for their own household; ask another clerk")
    if collector is not None and (collector.household_id != household.id or collector.status != VillagerStatus.active):
        raise Refused("bad_collector", f"{collector.name} is not an active member of this household")
    now = now or utcnow()
    today = local_today(village.timezone, now)
    if is_closed(session, village, today):
        raise Refused("period_closed", f"{month_key(today)} is closed; nothing can be posted in it")
    picked = _items_of(session, village, wants)
    stock = on_hand(session, list(picked))
    for item, qty in picked.values():
        have = stock.get(item.id, 0)
        if qty > have:
            raise Refused(
                "out_of_stock",
                f"{item.name}: only {have} {item.unit} left, {qty} asked",
                item=item.name,
                have=have,
                want=qty,
                unit=item.unit,
            )
    total = sum(item.price * qty for item, qty in picked.values())
    balance = redeemable(session, household)
    if total > balance:
        raise Refused(
            "insufficient_points",
            f"household {household.number} has {balance} redeemable points; these items cost {total}",
            have=balance,
            want=total,
        )

    serial = (
        int(
            session.execute(
                select(func.coalesce(func.max(Redemption.serial), 0)).where(
                    Redemption.village_id == village.id, Redemption.year == today.year
                )
            ).scalar_one()
        )
        + 1
    )
    number = f"{today.year}-{serial:05d}"
    summary = "、".join(f"{item.name}×{qty}" for item, qty in picked.values())
    entry = append_entry(
        session,
        village,
        kind=EntryKind.redemption,
        points=-total,
        requested_points=-total,
        quantity=1,
        household_id=household.id,
        group_id=household.group_id,
        occurred_on=today,
        recorded_at=now,
        note=f"兑换单 {number}: {summary}",
        captured_by_id=actor.id,
        approved_by_id=actor.id,
    )
    red = Redemption(
        village_id=village.id,
        key=key,
        year=today.year,
        serial=serial,
        household_id=household.id,
        collector_id=collector.id if collector else None,
        collector_name=(collector.name if collector else (collector_name or "").strip() or None),
        points=total,
        balance_after=balance - total,
        entry=entry,
        clerk_id=actor.id,
        at=now,
        occurred_on=today,
        source=source,
    )
    session.add(red)
    for item, qty in picked.values():
        mv = StockMovement(
            village_id=village.id,
            item_id=item.id,
            kind=MovementKind.redeem.value,
            qty=-qty,
            redemption=red,
            actor_id=actor.id,
            at=now,
            occurred_on=today,
        )
        red.lines.append(RedemptionLine(item=item, qty=qty, price=item.price, points=item.price * qty, movement=mv))
    session.flush()  # one flush: entry, receipt, movements and lines in dependency order
    apply_tallies(session, [entry])
    audit.record(
        session,
        actor,
        "shop.redeem",
        village_id=village.id,
        target=f"redemption {number}",
        ip=ip,
        household=household.number,
        points=total,
        entry_seq=entry.seq,
        lines=[{"item": item.code, "qty": qty, "price": item.price} for item, qty in picked.values()],
    )
    return RedeemResult(red, False)


def can_cancel(
    actor: StaffUser | None, village: Village, red: Redemption, now: dt.datetime | None = None
) -> str | None:
    """None when ``actor`` may cancel ``red`` now; else the refusal code."""
    if red.cancelled:
        return "already_cancelled"
    today = local_today(village.timezone, now or utcnow())
    if allowed(actor, village, "shop.cancel"):
        return None
    if red.occurred_on == today and allowed(actor, village, "shop.cancel_same_day"):
        return None
    return "cancel_needs_admin" if allowed(actor, village, "shop.cancel_same_day") else "not_allowed"


def cancel(
    session: Session,
    red: Redemption,
    actor: StaffUser,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> LedgerEntry:
    """Cancel a redemption: a reversing entry gives the points back and the stock returns.

    A clerk may cancel on the day of the redemption; later it takes an admin and a reason.
    """
    village = session.get(Village, red.village_id)
    assert village is not None
    now = now or utcnow()
    today = local_today(village.timezone, now)
    same_day = red.occurred_on == today
    if same_day and allowed(actor, village, "shop.cancel_same_day"):
        require(actor, village, "shop.cancel_same_day")
    elif allowed(actor, village, "shop.cancel_same_day") and not allowed(actor, village, "shop.cancel"):
        raise Refused(
            "cancel_needs_admin",
            f"redemption {red.number} was made on {red.occurred_on}; after that day only an admin can cancel it",
        )
    else:
        require(actor, village, "shop.cancel")
    reason = (reason or "").strip()
    if not same_day and not reason:
        raise Refused("reason_required", "cancelling an earlier redemption needs a reason")
    village = lock_village(session, village)
    session.refresh(red, ["cancel_entry_id"])
    if red.cancelled:
        raise Refused("already_cancelled", f"redemption {red.number} is already cancelled")
    if is_closed(session, village, today):
        raise Refused("period_closed", f"{month_key(today)} is closed; nothing can be posted in it")
    original = session.get(LedgerEntry, red.entry_id)
    assert original is not None
    note = f"撤销兑换单 {red.number}" + (f": {reason}" if reason else "")
    entry = append_entry(
        session,
        village,
        kind=EntryKind.redemption,
        points=red.points,
        requested_points=red.points,
        quantity=1,
        household_id=original.household_id,
        group_id=original.group_id,
        occurred_on=today,
        recorded_at=now,
        note=note,
        captured_by_id=actor.id,
        approved_by_id=actor.id,
        corrects_id=original.id,
        corrects_seq=original.seq,
    )
    for line in red.lines:
        session.add(
            StockMovement(
                village_id=village.id,
                item_id=line.item_id,
                kind=MovementKind.returned.value,
                qty=line.qty,
                redemption=red,
                actor_id=actor.id,
                at=now,
                occurred_on=today,
                reason=note,
            )
        )
    red.cancel_entry, red.cancelled_at, red.cancelled_by_id = entry, now, actor.id
    red.cancel_reason = reason or None
    session.flush()
    apply_tallies(session, [entry])
    audit.record(
        session,
        actor,
        "shop.cancel",
        village_id=village.id,
        target=f"redemption {red.number}",
        ip=ip,
        household_id=red.household_id,
        points=red.points,
        reason=reason or None,
        same_day=same_day,
        entry_seq=entry.seq,
    )
    return entry


def get_redemption(session: Session, village: Village, redemption_id: int) -> Redemption:
    return get_in_village(session, Redemption, redemption_id, village, "redemption")


def find_redemption(session: Session, village: Village, number: str) -> Redemption:
    """The redemption with the receipt number printed on its 兑换单 (e.g. 2026-00042)."""
    year, sep, serial = (number or "").strip().partition("-")
    if not (sep and year.isdigit() and serial.isdigit() and len(year) == 4 and len(serial) <= 9):
        raise Refused("bad_receipt_number", f"a receipt number looks like 2026-00042, got {number!r}")
    red = session.execute(
        select(Redemption).where(
            Redemption.village_id == village.id, Redemption.year == int(year), Redemption.serial == int(serial)
        )
    ).scalar_one_or_none()
    if red is None:
        raise Refused("not_found", f"no redemption {number} in {village.name}")
    return red


def household_redemptions(
    session: Session,
    household: Household,
    *,
    year: int | None = None,
    limit: int | None = None,
    with_goods: bool = False,
) -> list[Redemption]:
    """Newest first; ``with_goods`` loads each redemption's lines and items in the same query."""
    q = select(Redemption).where(Redemption.household_id == household.id)
    if year is not None:
        q = q.where(Redemption.year == year)
    if limit is not None:
        q = q.limit(limit)
    if with_goods:
        q = q.options(joinedload(Redemption.lines).joinedload(RedemptionLine.item))
        return list(session.execute(q.order_by(Redemption.at.desc(), Redemption.id.desc())).unique().scalars())
    return list(session.execute(q.order_by(Redemption.at.desc(), Redemption.id.desc())).scalars())


def redeemed_in_year(session: Session, household_id: int, year: int) -> int:
    """Points the household redeemed in a year, net of cancellations (from the ledger)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    total = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.household_id == household_id,
            LedgerEntry.kind == EntryKind.redemption.value,
            LedgerEntry.occurred_on.between(start, end),
        )
    ).scalar_one()
    return -int(total)


def redemptions_between(session: Session, village: Village, start: dt.date, end: dt.date) -> list[Redemption]:
    return list(
        session.execute(
            select(Redemption)
            .where(Redemption.village_id == village.id, Redemption.occurred_on.between(start, end))
            .order_by(Redemption.year, Redemption.serial)
        ).scalars()
    )
