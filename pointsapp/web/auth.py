"""Staff authentication glue and deny-by-default access checks for views.

Views declare who may enter with :func:`permission_required` (an action of the one policy,
``pointsapp.points.policy``); services check again themselves with the village, so hiding a button is
never the only guard.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..extensions import db, login_manager
from ..points.policy import roles_for
from ..points.registry import Role, StaffUser, Village

login_manager.login_view = "staff.login"
login_manager.session_protection = "strong"


# --- sessions ---------------------------------------------------------------------------
# Flask-Login keeps ``session["_user_id"]`` and writes the same value into the remember-me
# cookie. Here that value is a token: "<user id>.<kind>.<issued at>.<nonce>.<signature>",
# signed with the user's own session secret. Rotating the secret (sign-out, password change,
# admin reset, deactivation) ends every session and remember-me cookie of the user; the
# signed issue time gives each an absolute lifetime that the cookie cannot extend; the nonce
# makes every sign-in's remember-me token new.


def _signature(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()[:40]


def session_token(user: StaffUser, *, remember: bool, issued_at: int | None = None) -> str:
    message = f"{user.id}.{'r' if remember else 's'}.{int(issued_at or time.time())}.{secrets.token_hex(8)}"
    return f"{message}.{_signature(user.session_secret, message)}"


def _lifetime(kind: str) -> float:
    config = current_app.config
    if kind == "r":
        duration = config.get("REMEMBER_COOKIE_DURATION", 30 * 24 * 3600)
        return duration.total_seconds() if hasattr(duration, "total_seconds") else float(duration)
    return float(config.get("POINTSAPP_SESSION_ABSOLUTE_SECONDS", 12 * 3600))


@login_manager.user_loader
def load_user(token: str) -> StaffUser | None:
    """The user a session or remember-me token names, if the token is still good."""
    parts = str(token).split(".")
    if len(parts) != 5 or parts[1] not in ("r", "s") or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    issued = int(parts[2])
    now = time.time()
    if issued > now + 300 or now - issued > _lifetime(parts[1]):
        return None
    user = db.session.get(StaffUser, int(parts[0]))
    if user is None or not user.active or not user.session_secret:
        return None
    expected = _signature(user.session_secret, ".".join(parts[:4]))
    if not hmac.compare_digest(expected, parts[4]):
        return None
    return user


def start_session(user: StaffUser, *, remember: bool = False) -> None:
    """Sign ``user`` in on this browser with a fresh token (and remember-me cookie if asked)."""
    session.permanent = True
    login_user(user, remember=remember)
    session["_user_id"] = session_token(user, remember=remember)


def end_session(user: StaffUser | None) -> None:
    """Sign out here and everywhere: the user's secret rotates, so copied cookies die too."""
    if user is not None:
        user.end_sessions()
    logout_user()
    session.pop("_fresh", None)


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


def role_labels() -> dict[str, str]:
    """The one translated name of each staff role (user lists, the role picker, the staff home page)."""
    return {
        Role.admin.value: _("Admin (village committee)"),
        Role.reviewer.value: _("Reviewer (supervision committee)"),
        Role.grid_worker.value: _("Grid worker"),
        Role.viewer.value: _("Viewer (read only)"),
        Role.clerk.value: _("Clerk (points shop desk)"),
    }


def permission_required(action: str):
    """Allow only signed-in staff whose role the policy (``points/policy.py``) gives ``action``. The
    service asks the policy again with the village, which also checks the scope."""
    return roles_required(*roles_for(action))


def staff_required(view):
    """Any signed-in staff account, whatever its role (sign-out, password, the home page)."""
    return roles_required(*Role)(view)


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
