"""The liability guard: can the village cover the redeemable points in circulation?

Outstanding = the sum of every household's positive redeemable balance. It is set against
the value of the stock on hand (at its points price, 1 point ≈ 1 yuan) and what is left of
the year's points budget after this year's purchases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..registry import Village
from ..standings import Tally
from .models import ShopItem, StockMovement, StockSource
from .settings import get_settings


@dataclass(frozen=True)
class Liability:
    village_id: int
    village: str
    outstanding: int  # redeemable points held by households
    stock_value: int  # stock on hand at its points price
    budget: int | None  # the year's points budget (None: not set)
    bought: int  # this year's purchases, in yuan (= points)
    level: str  # ok / tight (stock alone does not cover) / short (nothing covers)

    @property
    def budget_left(self) -> int:
        return max(0, (self.budget or 0) - self.bought)

    @property
    def cover(self) -> int:
        return self.stock_value + self.budget_left

    @property
    def ratio(self) -> float | None:
        """Outstanding points per point of cover (above 1: not covered)."""
        return round(self.outstanding / self.cover, 2) if self.cover else None

    @property
    def warn(self) -> bool:
        return self.level == "short"

    def as_dict(self) -> dict[str, object]:
        return {
            "village": self.village,
            "outstanding": self.outstanding,
            "stock_value": self.stock_value,
            "budget": self.budget,
            "bought": self.bought,
            "budget_left": self.budget_left,
            "cover": self.cover,
            "level": self.level,
        }


def _level(outstanding: int, stock_value: int, cover: int) -> str:
    if outstanding <= stock_value:
        return "ok"
    return "tight" if outstanding <= cover else "short"


def outstanding_by_village(session: Session, village_ids: list[int] | None = None) -> dict[int, int]:
    per_household = Tally.points + Tally.spent
    q = (
        select(Tally.village_id, func.coalesce(func.sum(per_household), 0))
        .where(Tally.period == "all", Tally.kind == "h", per_household > 0)
        .group_by(Tally.village_id)
    )
    if village_ids is not None:
        q = q.where(Tally.village_id.in_(village_ids))
    return {vid: int(n) for vid, n in session.execute(q)}


def stock_value_by_village(session: Session, village_ids: list[int] | None = None) -> dict[int, int]:
    per_item = (
        select(StockMovement.item_id, func.sum(StockMovement.qty).label("qty"))
        .group_by(StockMovement.item_id)
        .subquery()
    )
    q = (
        select(ShopItem.village_id, func.coalesce(func.sum(per_item.c.qty * ShopItem.price), 0))
        .join(per_item, per_item.c.item_id == ShopItem.id)
        .where(ShopItem.active.is_(True))
        .group_by(ShopItem.village_id)
    )
    if village_ids is not None:
        q = q.where(ShopItem.village_id.in_(village_ids))
    return {vid: int(n) for vid, n in session.execute(q)}


def bought_by_village(session: Session, year: int, village_ids: list[int] | None = None) -> dict[int, int]:
    """This year's purchases in whole yuan (value_fen / 100, rounded up)."""
    q = (
        select(StockMovement.village_id, func.coalesce(func.sum(StockMovement.value_fen), 0))
        .where(
            StockMovement.source == StockSource.purchase.value,
            StockMovement.occurred_on.between(dt.date(year, 1, 1), dt.date(year, 12, 31)),
        )
        .group_by(StockMovement.village_id)
    )
    if village_ids is not None:
        q = q.where(StockMovement.village_id.in_(village_ids))
    return {vid: -(-int(fen or 0) // 100) for vid, fen in session.execute(q)}


def liabilities(session: Session, villages: list[Village], year: int) -> list[Liability]:
    ids = [v.id for v in villages]
    if not ids:
        return []
    owed = outstanding_by_village(session, ids)
    stock = stock_value_by_village(session, ids)
    bought = bought_by_village(session, year, ids)
    out = []
    for v in villages:
        budget = get_settings(session, v).points_budget
        o, s, b = owed.get(v.id, 0), stock.get(v.id, 0), bought.get(v.id, 0)
        cover = s + max(0, (budget or 0) - b)
        out.append(Liability(v.id, v.name, o, s, budget, b, _level(o, s, cover)))
    return out


def liability(session: Session, village: Village, year: int) -> Liability:
    return liabilities(session, [village], year)[0]
