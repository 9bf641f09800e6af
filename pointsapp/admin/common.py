"""Small helpers shared by the admin views."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from ..extensions import db
from ..points.policy import allowed
from ..points.registry import in_village
from ..web.auth import current_village
from ..web.refusals import flash_refusal  # noqa: F401  (for the views)


def actor():
    return current_user._get_current_object()


def village():
    return current_village()


def ip() -> str | None:
    return request.remote_addr


def is_admin() -> bool:
    """May the signed-in user change this village (the policy's ``village.admin``)? Viewers only read."""
    return current_user.is_authenticated and allowed(current_user, village(), "village.admin")


def get_or_404(model, ident: int):
    """The object with this id in the current village; another village's ids are simply not found."""
    obj = in_village(db.session, model, ident, village())
    if obj is None:
        abort(404)
    return obj


def page_arg() -> int:
    page = request.args.get("page", 1, type=int)
    return page if page and page > 0 else 1
