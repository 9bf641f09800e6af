"""Small helpers shared by the shop views."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import format_date, format_datetime

from ..extensions import db
from ..points.errors import Refused
from ..points.periods import local_today
from ..points.registry import Role
from ..web.auth import current_village
from .messages import shop_refusal

DESK = (Role.clerk, Role.admin)      # admins can do everything a clerk can
ADMINS = (Role.admin,)


def village():
    return current_village()


def today():
    return local_today(village().timezone)


def refusal(exc: Refused) -> None:
    """Flash a refusal (nothing was written: roll back the unit of work)."""
    db.session.rollback()
    if exc.code == "not_found":
        abort(404)
    if exc.code == "not_allowed":
        abort(403)
    flash(shop_refusal(exc), "error")


def fdate(day) -> str:
    return format_date(day, "medium") if day else ""


def ftime(moment) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm") if moment else ""
