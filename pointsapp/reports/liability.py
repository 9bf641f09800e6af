"""The liability guard on the dashboards: redeemable points in circulation against the stock on
hand and the year's points budget (values come from :mod:`pointsapp.points.shop.liability`)."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..points.periods import local_today
from ..points.policy import require
from ..points.registry import StaffUser, Village
from ..points.shop.liability import Liability, liabilities


def _row(li: Liability) -> dict:
    message = {
        "ok": _("Covered by the stock on hand."),
        "tight": _("The stock on hand does not cover the points households hold; buy goods from the budget."),
        "short": _(
            "Not covered: households hold more points than the stock and the rest of this year's budget can pay for."
        ),
    }[li.level]
    return {
        "village": li.village,
        "village_id": li.village_id,
        "outstanding": li.outstanding,
        "stock_value": li.stock_value,
        "budget": li.budget if li.budget is not None else "—",
        "budget_left": li.budget_left,
        "cover": li.cover,
        "level": li.level,
        "warn": li.warn,
        "message": message,
    }


def village_liability(session: Session, actor: StaffUser, village: Village, now: dt.datetime | None = None) -> dict:
    require(actor, village, "reports.read")
    year = local_today(village.timezone, now).year
    return _row(liabilities(session, [village], year)[0]) | {"year": year}


def county_liabilities(session: Session, actor: StaffUser, tz: str, now: dt.datetime | None = None) -> list[dict]:
    """Every village's figures (county accounts only)."""
    require(actor, None, "reports.read")
    villages = list(session.execute(select(Village).order_by(Village.name)).scalars())
    return [_row(li) for li in liabilities(session, villages, local_today(tz, now).year)]
