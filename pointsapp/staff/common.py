"""Small helpers shared by the staff views."""
from __future__ import annotations

from flask import abort, flash, request
from flask_login import current_user

from ..extensions import db
from ..points.errors import NotFound, Refused
from ..points.registry import Role
from ..web.auth import current_village
from .messages import refused_message

ALL_ROLES = (Role.admin, Role.reviewer, Role.grid_worker, Role.viewer, Role.clerk)
CAPTURERS = (Role.grid_worker, Role.reviewer, Role.admin)
REVIEWERS = (Role.reviewer, Role.admin)
ADMINS = (Role.admin,)


def me():
    """The signed-in staff user as a session-bound object."""
    return current_user._get_current_object()


def village():
    return current_village()


def client_ip() -> str | None:
    return request.remote_addr


def refuse_to_http(exc: Refused):
    """Unknown ids are 404; a refused permission is 403; other refusals become a flash."""
    db.session.rollback()
    if isinstance(exc, NotFound) or exc.code == "not_found":
        abort(404)
    if exc.code in ("not_allowed", "outside_groups"):
        abort(403)
    flash(refused_message(exc), "error")


def flash_refusal(exc: Refused) -> None:
    db.session.rollback()
    flash(refused_message(exc), "error")


def int_list(values) -> tuple[list[int], list[str]]:
    ids, bad = [], []
    for raw in values:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            bad.append(str(raw)[:40])
    return ids, bad

