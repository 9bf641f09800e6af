"""The catalogue and its stock: items, stock in (入库), write-offs (报损), stock on hand.

Stock on hand is the sum of an item's movements, read under the village lock by every writer.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..db import utcnow
from ..errors import Refused
from ..ledger import lock_village
from ..periods import local_today
from ..policy import require
from ..registry import StaffUser, Village
from .models import MovementKind, ShopItem, StockMovement, StockSource

MAX_QTY = 100_000  # one stock-in or write-off
MAX_PRICE = 1_000_000  # points
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


def on_hand(session: Session, item_ids: list[int] | None = None, *, village: Village | None = None) -> dict[int, int]:
    """{item id: stock on hand} from the movements (items with no movement are left out)."""
    q = select(StockMovement.item_id, func.sum(StockMovement.qty)).group_by(StockMovement.item_id)
    if item_ids is not None:
        if not item_ids:
            return {}
        q = q.where(StockMovement.item_id.in_(item_ids))
    if village is not None:
        q = q.where(StockMovement.village_id == village.id)
    return {iid: int(n or 0) for iid, n in session.execute(q)}


@dataclass(frozen=True)
class ItemRow:
    id: int
    code: str
    name: str
    unit: str
    price: int
    stock: int
    active: bool
    photo: str | None

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "price": self.price, "stock": self.stock}


def catalogue(
    session: Session, village: Village, *, active_only: bool = False, in_stock_only: bool = False
) -> list[ItemRow]:
    """The village's items with their stock, by code."""
    moved = (
        select(StockMovement.item_id.label("item_id"), func.sum(StockMovement.qty).label("qty"))
        .where(StockMovement.village_id == village.id)
        .group_by(StockMovement.item_id)
        .subquery()
    )
    q = (
        select(ShopItem, moved.c.qty)
        .outerjoin(moved, moved.c.item_id == ShopItem.id)  # one statement
        .where(ShopItem.village_id == village.id)
        .order_by(ShopItem.code)
    )
    if active_only:
        q = q.where(ShopItem.active.is_(True))
    rows = [
        ItemRow(i.id, i.code, i.name, i.unit, i.price, int(n or 0), i.active, i.photo)
        for i, n in session.execute(q).all()
    ]
    return [r for r in rows if r.stock > 0] if in_stock_only else rows


def find_item(session: Session, village: Village, code: str) -> ShopItem:
    item = session.execute(
        select(ShopItem).where(ShopItem.village_id == village.id, ShopItem.code == (code or "").strip())
    ).scalar_one_or_none()
    if item is None:
        raise Refused("unknown_item", f"no item {code!r} in this village's shop", item=code)
    return item


def _check_item_fields(name: str, price: int, unit: str) -> tuple[str, str]:
    name, unit = (name or "").strip(), (unit or "").strip() or "件"
    if not name or len(name) > 100:
        raise Refused("bad_item", "an item needs a name of 1-100 characters")
    if len(unit) > 16:
        raise Refused("bad_item", f"unit {unit!r} is longer than 16 characters")
    if isinstance(price, bool) or not isinstance(price, int) or not 1 <= price <= MAX_PRICE:
        raise Refused("bad_price", f"the price must be a whole number of points from 1 to {MAX_PRICE}, got {price!r}")
    return name, unit


def add_item(
    session: Session,
    village: Village,
    actor: StaffUser | None,
    *,
    code: str,
    name: str,
    price: int,
    unit: str = "件",
    photo: str | None = None,
    ip: str | None = None,
) -> ShopItem:
    """Add an item. ``actor=None`` is the command line, run by the server's administrator."""
    if actor is not None:
        require(actor, village, "shop.manage")
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise Refused("bad_item", f"item code {code!r} must be 1-32 letters, digits, '-', '_' or '.'")
    name, unit = _check_item_fields(name, price, unit)
    if session.execute(select(ShopItem.id).where(ShopItem.village_id == village.id, ShopItem.code == code)).first():
        raise Refused("item_exists", f"item {code} already exists", item=code)
    item = ShopItem(village_id=village.id, code=code, name=name, unit=unit, price=price, active=True, photo=photo)
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor,
        "shop.item.add",
        village_id=village.id,
        target=f"item {code}",
        ip=ip,
        name=name,
        price=price,
        unit=unit,
    )
    return item


def update_item(
    session: Session,
    village: Village,
    actor: StaffUser,
    item: ShopItem,
    *,
    name: str,
    price: int,
    unit: str,
    active: bool,
    photo: str | None = None,
    ip: str | None = None,
) -> ShopItem:
    """Change an item. A new price applies to later redemptions; receipts keep theirs."""
    require(actor, village, "shop.manage")
    if item.village_id != village.id:
        raise Refused("not_found", f"item {item.id} is not in this village")
    name, unit = _check_item_fields(name, price, unit)
    before = {"name": item.name, "price": item.price, "unit": item.unit, "active": item.active, "photo": item.photo}
    item.name, item.price, item.unit, item.active = name, price, unit, bool(active)
    if photo is not None:  # "" removes the photo; None keeps it
        item.photo = photo or None
    session.flush()
    audit.record(
        session,
        actor,
        "shop.item.edit",
        village_id=village.id,
        target=f"item {item.code}",
        ip=ip,
        before=before,
        after={"name": name, "price": price, "unit": unit, "active": bool(active), "photo": item.photo},
    )
    return item


def parse_yuan(text: str | None) -> int | None:
    """'12.5' yuan -> 1250 fen. None or '' -> None. Raises Refused naming the value."""
    if text is None or str(text).strip() == "":
        return None
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise Refused("bad_value", f"value {text!r} is not an amount in yuan") from None
    if not value.is_finite() or value < 0 or value > Decimal("10000000"):
        raise Refused("bad_value", f"value {text!r} must be from 0 to 10,000,000 yuan")
    if value != value.quantize(Decimal("0.01")):
        raise Refused("bad_value", f"value {text!r} has more than two decimals")
    return int(value * 100)


def _check_qty(qty: int) -> None:
    if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
        raise Refused("bad_quantity", f"quantity must be a whole number from 1 to {MAX_QTY}, got {qty!r}")


def stock_in(
    session: Session,
    village: Village,
    actor: StaffUser,
    item: ShopItem,
    qty: int,
    *,
    source: str,
    donor: str | None = None,
    value_fen: int | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> StockMovement:
    """入库: goods bought, donated (爱心捐赠, with the donor) or from elsewhere."""
    require(actor, village, "shop.stock")
    if item.village_id != village.id:
        raise Refused("not_found", f"item {item.id} is not in this village")
    _check_qty(qty)
    try:
        src = StockSource(source)
    except ValueError:
        raise Refused("bad_source", f"source {source!r} must be purchase, donation or other") from None
    donor = (donor or "").strip() or None
    if src == StockSource.donation and not donor:
        raise Refused("donor_required", "a donation needs the donor's name")
    if donor and len(donor) > 100:
        raise Refused("bad_donor", "the donor's name is longer than 100 characters")
    if value_fen is not None and value_fen < 0:
        raise Refused("bad_value", "the value cannot be negative")
    village = lock_village(session, village)
    now = now or utcnow()
    mv = StockMovement(
        village_id=village.id,
        item_id=item.id,
        kind=MovementKind.stock_in.value,
        qty=qty,
        source=src.value,
        donor=donor,
        value_fen=value_fen,
        reason=(note or "").strip() or None,
        actor_id=actor.id,
        at=now,
        occurred_on=local_today(village.timezone, now),
    )
    session.add(mv)
    session.flush()
    audit.record(
        session,
        actor,
        "shop.stock.in",
        village_id=village.id,
        target=f"item {item.code}",
        ip=ip,
        qty=qty,
        source=src.value,
        donor=donor,
        value_fen=value_fen,
    )
    return mv


def write_off(
    session: Session,
    village: Village,
    actor: StaffUser,
    item: ShopItem,
    qty: int,
    *,
    reason: str,
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> StockMovement:
    """报损: goods spoilt, broken or lost. Never below zero stock."""
    require(actor, village, "shop.stock")
    if item.village_id != village.id:
        raise Refused("not_found", f"item {item.id} is not in this village")
    _check_qty(qty)
    if not reason or not reason.strip():
        raise Refused("reason_required", "a write-off needs a reason")
    village = lock_village(session, village)
    have = on_hand(session, [item.id]).get(item.id, 0)
    if qty > have:
        raise Refused(
            "out_of_stock",
            f"{item.name}: only {have} {item.unit} in stock, cannot write off {qty}",
            item=item.name,
            have=have,
            want=qty,
        )
    now = now or utcnow()
    mv = StockMovement(
        village_id=village.id,
        item_id=item.id,
        kind=MovementKind.write_off.value,
        qty=-qty,
        reason=reason.strip(),
        actor_id=actor.id,
        at=now,
        occurred_on=local_today(village.timezone, now),
    )
    session.add(mv)
    session.flush()
    audit.record(
        session,
        actor,
        "shop.stock.writeoff",
        village_id=village.id,
        target=f"item {item.code}",
        ip=ip,
        qty=qty,
        reason=reason.strip(),
    )
    return mv


def movements(
    session: Session,
    village: Village,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    item: ShopItem | None = None,
) -> list[StockMovement]:
    q = select(StockMovement).where(StockMovement.village_id == village.id)
    if start is not None:
        q = q.where(StockMovement.occurred_on >= start)
    if end is not None:
        q = q.where(StockMovement.occurred_on <= end)
    if item is not None:
        q = q.where(StockMovement.item_id == item.id)
    return list(session.execute(q.order_by(StockMovement.id)).scalars())
