"""Staff authentication glue and deny-by-default access checks for views.

Views declare who may enter with :func:`roles_required`; services check again themselves
against the one policy (``pointsapp.points.policy``), so hiding a button is never the only guard.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from ..extensions import db, login_manager
from ..points.registry import Role, StaffUser, Village

login_manager.login_view = "staff.login"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    try:
        user = db.session.get(StaffUser, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def unauthorized():
    return redirect(url_for("staff.login", next=request.full_path))


PUBLIC = frozenset({"public"})
# Pages a user who must change their password can still reach.
PASSWORD_GATE_EXEMPT = frozenset({"staff.change_password", "staff.logout"})


def public(view):
    """Mark a view as open to everyone (villager pages). Every other view needs roles_required."""
    view.allowed_roles = PUBLIC
    return view


def roles_required(*roles: Role | str):
    """Allow only signed-in staff with one of ``roles``; everyone else is refused."""
    allowed = {Role(r) for r in roles}

    def decorator(view):
        view.allowed_roles = allowed  # read by the authorization matrix test

        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if Role(current_user.role) not in allowed:
                abort(403)
            if current_user.must_change_password and request.endpoint not in PASSWORD_GATE_EXEMPT:
                return redirect(url_for("staff.change_password"))
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed
        return wrapped

    return decorator


def current_village() -> Village:
    """The village a staff user works in. Viewers (county-wide) pick one with ?village=ID."""
    if "village" in g:
        return g.village
    village = None
    if current_user.is_authenticated and current_user.village_id is not None:
        village = db.session.get(Village, current_user.village_id)
    elif current_user.is_authenticated and Role(current_user.role) == Role.viewer:
        vid = request.args.get("village", type=int)
        village = db.session.get(Village, vid) if vid else None
    if village is None:
        abort(404)
    g.village = village
    return village
