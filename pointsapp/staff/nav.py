"""The header's staff links (sign in / sign out, and the links of the user's role)."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BuildError

from ..points.registry import Role
from .blueprint import bp

LINKS = {
    Role.admin: [
        ("staff.home", "Desk"),
        ("staff.review", "Review"),
        ("staff.capture_start", "Capture"),
        ("staff.notices", "Public notice"),
        ("shop.desk", "Points shop"),
        ("admin.home", "Administration"),
    ],
    Role.reviewer: [
        ("staff.review", "Review"),
        ("staff.capture_start", "Capture"),
        ("staff.notices", "Public notice"),
        ("staff.objections", "Objections"),
    ],
    Role.grid_worker: [("staff.capture_start", "Capture"), ("staff.my_captures", "My captures")],
    Role.viewer: [("staff.villages", "Villages")],
    Role.clerk: [("shop.desk", "Points shop"), ("staff.change_password", "My password")],
}


def _label(text: str) -> str:
    # The labels are listed for extraction below; gettext needs literal strings.
    return {
        "Desk": _("Desk"),
        "Review": _("Review"),
        "Capture": _("Capture"),
        "Special award": _("Special award"),
        "Public notice": _("Public notice"),
        "Objections": _("Objections"),
        "Month close": _("Month close"),
        "My captures": _("My captures"),
        "Villages": _("Villages"),
        "Administration": _("Administration"),
        "Points shop": _("Points shop"),
        "My password": _("My password"),
    }[text]


@bp.app_context_processor
def staff_nav() -> dict:
    """``staff_nav``: links for the signed-in user's role, or the sign-in link."""
    try:
        signed_in = bool(current_user and current_user.is_authenticated)
    except Exception:  # no request context or no user loader (e.g. CLI rendering)
        signed_in = False
    if not signed_in:
        return {"staff_nav": {"signed_in": False, "login_url": url_for("staff.login"), "login_label": _("Sign in")}}
    role = Role(current_user.role)
    links = []
    for endpoint, label in LINKS.get(role, []):
        try:
            links.append({"url": url_for(endpoint), "label": _label(label)})
        except BuildError:  # another feature's page that is not installed
            pass
    return {
        "staff_nav": {
            "signed_in": True,
            "links": links,
            "logout_url": url_for("staff.logout"),
            "logout_label": _("Sign out"),
            "user_name": current_user.display_name or current_user.username,
        }
    }


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    return render_template(
        "error.html",
        title=_("Photo too large"),
        status=413,
        message=_("The photo is larger than 8 MB. Take it again at a lower resolution, or send a smaller picture."),
    ), 413
