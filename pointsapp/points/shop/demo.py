"""The demo village's 积分超市: a clerk, a catalogue with stock, and a few redemptions.

Everything goes through the shop's services (the same lock, checks and ledger writer as the
desk), after the demo's entries and tallies are in place.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..registry import Household, Role, StaffUser, Village
from ..standings import Tally
from .redeem import Want, redeem
from .stock import add_item, stock_in

CATALOGUE = [  # code, name, unit, price (points; 1 point is about 1 yuan), stock, source
    ("XZ-01", "香皂", "块", 5, 120, "purchase"),
    ("XYF-01", "洗衣粉", "袋", 15, 80, "purchase"),
    ("DM-01", "大米（10斤）", "袋", 40, 30, "purchase"),
    ("SYY-01", "食用油（5升）", "桶", 70, 12, "donation"),
    ("MJ-01", "毛巾", "条", 10, 60, "donation"),
    ("JY-01", "酱油", "瓶", 12, 40, "purchase"),
]


def stock_demo_shop(
    session: Session,
    village: Village,
    admin: StaffUser,
    rng: random.Random,
    accounts: object,
    make_account: Callable[..., StaffUser],
    now: dt.datetime,
    redemptions: int = 20,
) -> StaffUser:
    """Create the clerk (``make_account`` as for other demo staff), the catalogue and redemptions."""
    clerk = make_account(session, accounts, "clerk", Role.clerk, village, "兑换员")
    session.flush()
    items = {}
    for code, name, unit, price, qty, source in CATALOGUE:
        item = add_item(session, village, admin, code=code, name=name, price=price, unit=unit)
        stock_in(
            session,
            village,
            clerk,
            item,
            qty,
            source=source,
            donor="爱心企业" if source == "donation" else None,
            value_fen=price * qty * 100 if source == "purchase" else None,
            now=now,
        )
        items[code] = item
    rich = (
        session.execute(
            select(Tally.subject_id)
            .where(
                Tally.period == "all",
                Tally.kind == "h",
                Tally.village_id == village.id,
                Tally.points + Tally.spent >= 60,
            )
            .order_by(Tally.subject_id)
        )
        .scalars()
        .all()
    )
    for n, hid in enumerate(rng.sample(list(rich), min(redemptions, len(rich)))):
        household = session.get_one(Household, hid)
        wants = [Want(rng.randint(1, 3), code="XZ-01"), Want(1, code=rng.choice(["XYF-01", "MJ-01", "JY-01"]))]
        redeem(
            session,
            actor=clerk,
            village=village,
            household=household,
            wants=wants,
            key=f"demo-{n}",
            now=now - dt.timedelta(minutes=5 * (redemptions - n)),
        )
    return clerk
