"""Sign-in, sign-out, password change, the staff home and the viewer's village list."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db, limiter
from ..points import audit, throttle
from ..points.policy import allowed
from ..points.registry import Role, StaffUser, Village
from ..web.auth import end_session, permission_required, public, role_labels, staff_required, start_session
from ..web.security import safe_next
from .common import me
from .forms import EmptyForm, LoginForm, PasswordForm
from .blueprint import bp

LOGIN_LIMIT = "10/minute"
# Checked against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not a real password")


def _safe_next(target: str | None) -> str | None:
    return safe_next(target, refuse=(url_for("staff.login"), url_for("staff.logout")))


def home_url(user: StaffUser) -> str:
    role = Role(user.role)
    if role == Role.grid_worker:
        return url_for("staff.capture_start")
    if role == Role.reviewer:
        return url_for("staff.review")
    if role == Role.viewer:
        return url_for("staff.villages")
    if role == Role.clerk:
        return url_for("shop.desk")
    return url_for("staff.home")


def _failed_login(resp) -> bool:
    """Only failed attempts count against the limit (a success redirects)."""
    return resp.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(LOGIN_LIMIT, methods=["POST"], deduct_when=_failed_login)
def login():
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(home_url(current_user))
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        username = form.username.data.strip()
        wait = throttle.wait_seconds(db.session, username)
        if wait:  # this account is backing off: the password is not even checked
            flash(
                _(
                    "Too many wrong passwords for this account. Please wait %(minutes)s minute(s) and try again.",
                    minutes=max(1, -(-wait // 60)),
                ),
                "error",
            )
            return render_template("staff/login.html", form=form), 429
        user = db.session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
        if user is None:
            check_password_hash(_DUMMY_HASH, form.password.data)
            ok = False
        else:
            ok = user.check_password(form.password.data) and user.active
        if ok and user.password_expired():
            audit.record(db.session, user, "login.expired", ip=request.remote_addr)
            flash(
                _("This one-time password has expired. Please ask your village administrator for a new one."), "error"
            )
            return render_template("staff/login.html", form=form), 200
        if ok:
            throttle.record_success(db.session, username)
            start_session(user, remember=bool(form.remember.data))
            audit.record(db.session, user, "login", ip=request.remote_addr, remember=bool(form.remember.data))
            if user.must_change_password:
                flash(_("Please choose a new password before you continue."), "success")
                return redirect(url_for("staff.change_password"))
            return redirect(_safe_next(form.next.data) or home_url(user))
        throttle.record_failure(db.session, username)
        # recorded in the account's village (if the account exists) so its admins see it
        audit.record(
            db.session,
            None,
            "login.failed",
            village_id=user.village_id if user else None,
            ip=request.remote_addr,
            username=username[:64],
        )
        flash(_("Wrong username or password."), "error")
        return render_template("staff/login.html", form=form), 200
    status = 400 if request.method == "POST" else 200
    return render_template("staff/login.html", form=form), status


@bp.post("/logout")
@staff_required
def logout():
    EmptyForm()  # the CSRF token is checked for every POST
    user = me()
    audit.record(db.session, user, "logout", ip=request.remote_addr)
    end_session(user)  # ends this user's sessions and remember-me cookies everywhere
    flash(_("You are signed out."), "success")
    return redirect(url_for("web.index"))


@bp.route("/password", methods=["GET", "POST"])
@staff_required
def change_password():
    form = PasswordForm()
    user = me()
    if form.validate_on_submit():
        if not user.check_password(form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        elif form.new.data == form.current.data:
            form.new.errors.append(_("The new password must differ from the current one."))
        else:
            user.set_password(form.new.data)  # rotates the session secret: other sessions end
            user.must_change_password = False
            audit.record(db.session, user, "password.change", ip=request.remote_addr)
            session["_remember"] = "clear"  # the old remember-me cookie is dead; drop it
            start_session(user, remember=False)  # this browser stays signed in
            flash(_("Your password was changed."), "success")
            return redirect(home_url(user))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/password.html", form=form, must_change=user.must_change_password), status


@bp.get("/staff")
@staff_required
def home():
    user = me()
    if not allowed(user, user.village, "village.admin"):  # the desk page is the village admin's
        return redirect(home_url(user))
    links = [
        (url_for("staff.review"), _("Review queue")),
        (url_for("staff.capture_start"), _("Capture attendance")),
        (url_for("staff.award"), _("Propose a special award or deduction")),
        (url_for("staff.notices"), _("Public notice (公示)")),
        (url_for("staff.objections"), _("Objections")),
        (url_for("staff.close"), _("Close a month")),
        (url_for("staff.my_captures"), _("My captures")),
        (url_for("staff.change_password"), _("Change my password")),
    ]
    for endpoint, label in (("admin.home", _("Village administration")), ("reports.dashboard", _("Dashboard"))):
        try:
            links.append((url_for(endpoint), label))
        except BuildError:
            pass
    return render_template(
        "staff/home.html",
        links=links,
        user_name=user.display_name or user.username,
        role=role_labels()[Role(user.role).value],
    )


@bp.get("/villages")
@permission_required("registry.read")
def villages():
    rows = []
    query = select(Village).order_by(Village.name)
    if me().village_id is not None:  # a village-bound account sees only its own village
        query = query.where(Village.id == me().village_id)
    for v in db.session.execute(query).scalars():
        try:
            url = url_for("reports.dashboard", village=v.id)
        except BuildError:
            url = None
        rows.append({"name": v.name, "county": v.county or "", "url": url})
    return render_template("staff/villages.html", villages=rows, password_url=url_for("staff.change_password"))
