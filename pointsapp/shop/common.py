"""Small helpers shared by the shop views."""

from __future__ import annotations

from flask import abort, url_for
from flask_babel import format_date, format_datetime

from ..points.errors import Refused
from ..points.periods import local_today
from ..web.auth import current_village
from ..web.refusals import flash_refusal


def village():
    return current_village()


def today():
    return local_today(village().timezone)


def refusal(exc: Refused) -> None:
    """Show a refusal; nothing of the request is committed (see pointsapp.web.transaction)."""
    if exc.code == "not_found":
        abort(404)
    if exc.code == "not_allowed":
        abort(403)
    flash_refusal(exc)


def fdate(day) -> str:
    return format_date(day, "medium") if day else ""


def ftime(moment) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm") if moment else ""


def photo_url(item) -> str | None:
    """The URL of an item's photo (a new photo gets a new URL, so it can be cached long), or None."""
    if not item.photo:
        return None
    return url_for("shop.item_photo", item_id=item.id, v=item.photo.rsplit("/", 1)[-1][:8])
