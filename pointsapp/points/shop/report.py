"""The shop's part of the monthly reports: redemptions (兑换明细), the stock ledger (库存台账)
and points redeemed by item, read from the shop's rows and the ledger."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..registry import Group, Household, Village
from .models import Redemption, RedemptionLine, ShopItem, StockMovement


@dataclass(frozen=True)
class RedemptionRow:
    number: str
    day: dt.date
    at: dt.datetime
    group: str
    household_no: str
    head: str
    collector: str
    items: str
    points: int
    clerk: str
    entry_seq: int
    cancelled_on: dt.date | None
    cancel_reason: str | None


@dataclass(frozen=True)
class StockRow:
    code: str
    name: str
    unit: str
    price: int
    opening: int
    stock_in: int
    redeemed: int  # handed out, net of returns
    written_off: int
    closing: int
    value_in_fen: int

    @property
    def closing_value(self) -> int:
        return self.closing * self.price


def month_redemptions(session: Session, village: Village, start: dt.date, end: dt.date) -> list[RedemptionRow]:
    reds = (
        session.execute(
            select(Redemption)
            .where(Redemption.village_id == village.id, Redemption.occurred_on.between(start, end))
            .order_by(Redemption.year, Redemption.serial)
        )
        .scalars()
        .all()
    )
    groups = dict(session.execute(select(Group.id, Group.name).where(Group.village_id == village.id)).all())
    out = []
    for r in reds:
        h: Household = r.household
        out.append(
            RedemptionRow(
                r.number,
                r.occurred_on,
                r.at,
                groups.get(h.group_id, ""),
                h.number,
                h.head_name,
                r.collector_name or h.head_name,
                "、".join(f"{ln.item.name}×{ln.qty}" for ln in r.lines),
                r.points,
                r.clerk.display_name or r.clerk.username,
                r.entry.seq,
                r.cancel_entry.occurred_on if r.cancel_entry is not None else None,
                r.cancel_reason,
            )
        )
    return out


def stock_ledger(session: Session, village: Village, start: dt.date, end: dt.date) -> list[StockRow]:
    """Per item: stock at the start, what came in, went out and was written off, and the end."""
    m = StockMovement
    in_month = m.occurred_on.between(start, end)
    q = (
        select(
            m.item_id,
            func.sum(case((m.occurred_on < start, m.qty), else_=0)),
            func.sum(case((in_month & (m.kind == "in"), m.qty), else_=0)),
            func.sum(case((in_month & m.kind.in_(["redeem", "return"]), m.qty), else_=0)),
            func.sum(case((in_month & (m.kind == "writeoff"), m.qty), else_=0)),
            func.sum(case((in_month & (m.kind == "in"), func.coalesce(m.value_fen, 0)), else_=0)),
        )
        .where(m.village_id == village.id, m.occurred_on <= end)
        .group_by(m.item_id)
    )
    sums = {row[0]: [int(v or 0) for v in row[1:]] for row in session.execute(q)}
    items = (
        session.execute(select(ShopItem).where(ShopItem.village_id == village.id).order_by(ShopItem.code))
        .scalars()
        .all()
    )
    rows = []
    for i in items:
        opening, came, out, off, value = sums.get(i.id, [0, 0, 0, 0, 0])
        if not (opening or came or out or off) and not i.active:
            continue
        rows.append(
            StockRow(i.code, i.name, i.unit, i.price, opening, came, -out, -off, opening + came + out + off, value)
        )
    return rows


def redeemed_by_item(session: Session, village: Village, start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    """(item name, points redeemed) in the period, net of cancellations, largest first."""
    q = (
        select(ShopItem.name, func.sum(RedemptionLine.points))
        .join(RedemptionLine, RedemptionLine.item_id == ShopItem.id)
        .join(Redemption, Redemption.id == RedemptionLine.redemption_id)
        .where(
            Redemption.village_id == village.id,
            Redemption.occurred_on.between(start, end),
            Redemption.cancel_entry_id.is_(None),
        )
        .group_by(ShopItem.name)
    )
    totals: dict[str, int] = defaultdict(int)
    for name, pts in session.execute(q):
        totals[name] += int(pts or 0)
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
