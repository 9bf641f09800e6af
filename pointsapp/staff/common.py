"""Small helpers shared by the staff views."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..points.errors import NotFound, Refused
from ..web.auth import current_village
from ..web.refusals import flash_refusal


def me():
    """The signed-in staff user as a session-bound object."""
    return current_user._get_current_object()


def village():
    return current_village()


def refuse_to_http(exc: Refused):
    """Unknown ids are 404; a refused permission is 403; other refusals become a flash."""
    if isinstance(exc, NotFound) or exc.code == "not_found":
        abort(404)
    if exc.code in ("not_allowed", "outside_groups"):
        abort(403)
    flash_refusal(exc)


def int_list(values) -> tuple[list[int], list[str]]:
    ids, bad = [], []
    for raw in values:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            bad.append(str(raw)[:40])
    return ids, bad
