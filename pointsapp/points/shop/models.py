"""Tables of the 积分超市 (points shop): items, stock movements, redemptions, settings, resets.

Stock on hand is never stored: it is the sum of an item's movements. Every movement is
written under the village lock (see :func:`pointsapp.points.ledger.lock_village`), the same
lock that serialises the village's ledger writers, so stock and balances are checked and
changed by one writer at a time.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, BigId, UTCDateTime, utcnow
from ..ledger import LedgerEntry
from ..registry import Household, StaffUser, Villager


class MovementKind(str, enum.Enum):
    stock_in = "in"  # 入库: purchase, donation (爱心捐赠) or other
    write_off = "writeoff"  # 报损, with a reason
    redeem = "redeem"  # handed out at the desk (negative)
    returned = "return"  # back on the shelf when a redemption is cancelled (positive)


class StockSource(str, enum.Enum):
    purchase = "purchase"
    donation = "donation"
    other = "other"


class ShopItem(Base):
    """An item of a village's catalogue. ``price`` is in points."""

    __tablename__ = "shop_items"
    __table_args__ = (
        UniqueConstraint("village_id", "code"),
        CheckConstraint("price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(16), default="件")
    price: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    photo: Mapped[str | None] = mapped_column(String(255))  # path under the instance folder
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockMovement(Base):
    """One change of stock. ``qty`` is signed: positive in, negative out."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_item", "item_id", "qty"),
        Index("ix_stock_movements_village_day", "village_id", "occurred_on"),
        CheckConstraint("qty <> 0", name="qty_nonzero"),
        CheckConstraint("kind IN ('in', 'writeoff', 'redeem', 'return')", name="kind_known"),
        CheckConstraint("(kind IN ('in', 'return')) = (qty > 0)", name="qty_sign"),
        CheckConstraint("value_fen IS NULL OR value_fen >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("shop_items.id"))
    kind: Mapped[str] = mapped_column(String(16))
    qty: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(16))  # stock in: purchase / donation / other
    donor: Mapped[str | None] = mapped_column(String(100))  # 爱心捐赠: who gave it
    value_fen: Mapped[int | None] = mapped_column(Integer)  # stock in: its value, in fen (0.01 yuan)
    reason: Mapped[str | None] = mapped_column(Text)  # write-off reason, or a note
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    occurred_on: Mapped[dt.date] = mapped_column(Date)  # local date

    item: Mapped[ShopItem] = relationship()
    actor: Mapped[StaffUser] = relationship()
    redemption: Mapped[Redemption | None] = relationship(foreign_keys=[redemption_id])


class Redemption(Base):
    """A 兑换单: one household's redemption at the desk, posted as one ledger entry.

    Idempotent on (village, key). Cancelling it posts a reversing entry and returns the stock;
    the cancellation fields below record who, when and why.
    """

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("village_id", "key"),
        UniqueConstraint("village_id", "year", "serial"),
        Index("ix_redemptions_household", "household_id", "occurred_on"),
        CheckConstraint("points > 0", name="points_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    key: Mapped[str] = mapped_column(String(128))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    collector_name: Mapped[str | None] = mapped_column(String(50))
    points: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16), default="web")  # web, cli
    cancel_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    household: Mapped[Household] = relationship()
    collector: Mapped[Villager | None] = relationship()
    clerk: Mapped[StaffUser] = relationship(foreign_keys=[clerk_id])
    cancelled_by: Mapped[StaffUser | None] = relationship(foreign_keys=[cancelled_by_id])
    entry: Mapped[LedgerEntry] = relationship(foreign_keys=[entry_id])
    cancel_entry: Mapped[LedgerEntry | None] = relationship(foreign_keys=[cancel_entry_id])
    lines: Mapped[list[RedemptionLine]] = relationship(back_populates="redemption", order_by="RedemptionLine.id")

    @property
    def number(self) -> str:
        """The receipt number printed on the 兑换单, e.g. 2026-00042."""
        return f"{self.year}-{self.serial:05d}"

    @property
    def cancelled(self) -> bool:
        return self.cancel_entry_id is not None


class RedemptionLine(Base):
    __tablename__ = "redemption_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("points = qty * price", name="points_add_up"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("shop_items.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)  # the item's price at the time
    points: Mapped[int] = mapped_column(Integer)
    movement_id: Mapped[int] = mapped_column(ForeignKey("stock_movements.id"), unique=True)

    redemption: Mapped[Redemption] = relationship(back_populates="lines")
    item: Mapped[ShopItem] = relationship()
    movement: Mapped[StockMovement] = relationship(foreign_keys=[movement_id])


class ShopSettings(Base):
    """A village's shop settings. A village without a row uses the defaults (see settings.py)."""

    __tablename__ = "shop_settings"

    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), primary_key=True)
    reset_month: Mapped[int | None] = mapped_column(Integer)  # None: no yearly reset
    reset_day: Mapped[int | None] = mapped_column(Integer)
    points_budget: Mapped[int | None] = mapped_column(Integer)  # the year's points budget
    star_period: Mapped[str] = mapped_column(String(8), default="year")  # year / quarter
    star_mode: Mapped[str] = mapped_column(String(8), default="points")  # points / percent
    star_bands: Mapped[str] = mapped_column(Text)  # JSON: [[5, 300], [4, 200], ...]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class RedeemableReset(Base):
    """One run of the yearly reset (年底清零) for one year. Unique: a year resets once."""

    __tablename__ = "redeemable_resets"
    __table_args__ = (UniqueConstraint("village_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    year: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    households: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)  # total expired (positive)

    run_by: Mapped[StaffUser] = relationship()


class ResetLine(Base):
    """Links a reset to each ``expiry`` entry it posted."""

    __tablename__ = "redeemable_reset_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    reset_id: Mapped[int] = mapped_column(ForeignKey("redeemable_resets.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    points: Mapped[int] = mapped_column(Integer)
