"""The shop's additions to villager pages: stars, the reset warning, what the household can get,
its redemptions (card); the 星级文明户 on the board; stars on the printed QR card.

Kept apart from ``views.py`` so that card and board layout can change without touching this.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..points.names import mask_name
from ..points.registry import Household, Village
from ..points.shop.redeem import household_redemptions
from ..points.shop.reset import reset_warning
from ..points.shop.settings import get_settings
from ..points.shop.stars import star_period, star_ratings
from ..points.shop.stock import catalogue
from ..web.labels import period_label


def current_star_period(session: Session, village: Village, today: dt.date) -> str:
    return star_period(get_settings(session, village), today)


def stars_by_household(session: Session, village: Village, today: dt.date) -> dict[int, int]:
    settings = get_settings(session, village)
    period = star_period(settings, today)
    return {r.household: r.stars for r in star_ratings(session, village, period, settings)}


def village_shop(session: Session, village: Village, today: dt.date) -> dict:
    """The shop's part of every card of a village, as plain values: each household's stars for the
    running period and the catalogue (active items in stock)."""
    settings = get_settings(session, village)  # read once: a village without saved settings costs a query a call
    period = star_period(settings, today)
    items = catalogue(session, village, active_only=True, in_stock_only=True)
    return {
        "stars": {r.household: r.stars for r in star_ratings(session, village, period, settings)},
        "star_period": period_label(period),
        "items": [(i.name, i.price, i.unit, i.stock) for i in items],
        "settings": settings,  # a plain dataclass
    }


def card_shop(
    session: Session, village: Village, household: Household, redeemable: int, today: dt.date, shop: dict
) -> dict:
    """Values for the card's shop partial; ``shop``: the village's :func:`village_shop`."""
    stars = shop["stars"].get(household.id, 0)
    warn = reset_warning(session, village, household, today, shop["settings"])
    redemptions = household_redemptions(session, household, limit=20, with_goods=True)
    return {
        "stars": stars,
        "stars_text": "★" * stars,
        "star_period": shop["star_period"],
        "warning": _(
            "Your household has %(points)s redeemable points that will be cleared on %(date)s.",
            points=warn.points,
            date=format_date(warn.due_on, "MMMd"),
        )
        if warn
        else None,
        "items": [
            {
                "name": name,
                "price": price,
                "unit": unit,
                "stock": stock,
                "affordable": price <= redeemable,
                "how_many": redeemable // price,
            }
            for name, price, unit, stock in shop["items"]
        ],
        "redemptions": [
            {
                "number": r.number,
                "date": format_date(r.occurred_on, "medium"),
                "points": r.points,
                "goods": "、".join(f"{ln.item.name}×{ln.qty}" for ln in r.lines),
                "cancelled": r.cancelled,
            }
            for r in redemptions
        ],
    }


def board_stars(session: Session, village: Village, today: dt.date) -> dict:
    """The 星级文明户 of the running period, names masked."""
    settings = get_settings(session, village)
    period = star_period(settings, today)
    rows = [r for r in star_ratings(session, village, period, settings) if r.stars > 0]
    return {
        "period": period_label(period),
        "rows": [
            {
                "stars": r.stars,
                "stars_text": "★" * r.stars,
                "name": mask_name(r.name),
                "group": r.group,
                "points": r.points,
            }
            for r in rows
        ],
    }
