"""Set-up for the shop's page tests: the app's small village plus a clerk, points and stock."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import Submission
from pointsapp.points.periods import local_today
from pointsapp.points.registry import Household, Role, StaffUser, Village
from pointsapp.points.shop.stock import add_item, stock_in

PASSWORD = "correct horse 1"


def today() -> dt.date:
    return local_today("Asia/Shanghai")


STOCK = (("SOAP", "香皂", 10, 5, "块"), ("RICE", "大米", 25, 3, "袋"))


def shop_world(app, app_world, points=(60, 20, 0, 0), stock=STOCK):
    """A clerk, household points (multiples of 20, posted today) and a stocked catalogue."""
    with app.app_context():
        s = db.session
        village = s.get(Village, app_world["village"])
        clerk = StaffUser(username="clerk1", role=Role.clerk, village_id=village.id, display_name="兑换员小李")
        clerk.set_password(PASSWORD)
        s.add(clerk)
        s.flush()
        admin = s.get(StaffUser, app_world["users"]["admin1"])
        rev = s.get(StaffUser, app_world["users"]["rev1"])
        day = today()
        for hid, pts in zip(app_world["households"], points):
            for _ in range(pts // 20):
                res = capture(
                    s,
                    actor=admin,
                    village=village,
                    rule_code="YF-01",
                    occurred_on=day,
                    lines=[Line(household_id=hid)],
                    key=f"give-{hid}-{_}",
                )
                approve(s, [s.get(Submission, ln.submission_id) for ln in res.lines], rev)
        items = {}
        for code, name, price, qty, unit in stock:
            item = add_item(s, village, admin, code=code, name=name, price=price, unit=unit)
            stock_in(s, village, admin, item, qty, source="purchase", value_fen=price * qty * 100)
            items[code] = item.id
        s.commit()
        app_world["users"]["clerk1"] = clerk.id
        app_world["items"] = items
        app_world["tokens"] = [
            t
            for (t,) in s.execute(
                select(Household.card_token).where(Household.id.in_(app_world["households"])).order_by(Household.id)
            )
        ]
    return app_world
