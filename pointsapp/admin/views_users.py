"""Staff user pages: list, create, edit role/groups, reset a password, deactivate (never delete)."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..points.errors import Refused
from ..points.registry import Group, Role, StaffUser
from ..web.auth import permission_required, role_labels
from .common import actor, get_or_404, ip, flash_refusal, village
from .forms import UserForm
from .blueprint import bp
from .services import registry as reg
from .services import users as svc


def _prepare(form: UserForm):
    v = village()
    form.role.choices = list(role_labels().items())
    form.groups.choices = [(g.id, g.name) for g in reg.groups_of(db.session, v)]
    return v


def _villager(form: UserForm, v):
    """The villager named by 户号 + name, or None; sets a field error when they cannot be found."""
    number, name = (form.villager_number.data or "").strip(), (form.villager_name.data or "").strip()
    if not number and not name:
        return None, True
    h = reg.find_household(db.session, v, number) if number else None
    person = next((m for m in h.members if m.name == name), None) if h else None
    if person is None:
        form.villager_name.errors = [
            _("No villager %(name)s in household %(number)s.", name=name or "?", number=number or "?")
        ]
        return None, False
    return person, True


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/users")
@permission_required("village.admin")
def users():
    v = village()
    labels = role_labels()
    rows = [
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name or "",
            "role": labels[Role(u.role).value],
            "groups": ", ".join(g.name for g in u.groups),
            "villager": u.villager.name if u.villager else "",
            "active": u.active,
            "must_change": u.must_change_password,
            "me": u.id == actor().id,
        }
        for u in svc.users_of(db.session, actor(), v)
    ]
    return render_template("admin/users.html", village=v, users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("village.admin")
def user_new():
    form = UserForm()
    v = _prepare(form)
    if form.validate_on_submit():
        person, ok = _villager(form, v)
        if ok:
            groups = [get_or_404(Group, gid) for gid in form.groups.data or []]
            try:
                user, password = svc.create_user(
                    db.session,
                    actor(),
                    v,
                    username=form.username.data,
                    display_name=form.display_name.data,
                    role=form.role.data,
                    groups=groups,
                    villager=person,
                    ip=ip(),
                )
                return _no_store(
                    make_response(
                        render_template("admin/password.html", village=v, user=user, password=password, created=True)
                    )
                )
            except Refused as exc:
                flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_form.html", village=v, form=form, user=None), status


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required("village.admin")
def user_edit(user_id: int):
    user = get_or_404(StaffUser, user_id)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    v = _prepare(form)
    if request.method == "GET":
        form.role.data = Role(user.role).value
        form.groups.data = [g.id for g in user.groups]
        if user.villager:
            form.villager_number.data, form.villager_name.data = user.villager.household.number, user.villager.name
    form.username.data = user.username  # the user name never changes
    if form.validate_on_submit():
        person, ok = _villager(form, v)
        if ok:
            groups = [get_or_404(Group, gid) for gid in form.groups.data or []]
            try:
                svc.update_user(
                    db.session,
                    actor(),
                    v,
                    user,
                    display_name=form.display_name.data,
                    role=form.role.data,
                    groups=groups,
                    villager=person,
                    ip=ip(),
                )
                flash(_("Saved."), "success")
                return redirect(url_for("admin.users"))
            except Refused as exc:
                flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_form.html", village=v, form=form, user=user), status


@bp.post("/users/<int:user_id>/reset-password")
@permission_required("village.admin")
def user_reset_password(user_id: int):
    v = village()
    user = get_or_404(StaffUser, user_id)
    try:
        password = svc.reset_password(db.session, actor(), v, user, ip=ip())
    except Refused as exc:
        flash_refusal(exc)
        return redirect(url_for("admin.users"))
    return _no_store(
        make_response(render_template("admin/password.html", village=v, user=user, password=password, created=False))
    )


@bp.post("/users/<int:user_id>/deactivate")
@permission_required("village.admin")
def user_deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/activate")
@permission_required("village.admin")
def user_activate(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = get_or_404(StaffUser, user_id)
    try:
        svc.set_active(db.session, actor(), village(), user, active, ip=ip())
        flash(
            _("%(name)s can sign in again.", name=user.username)
            if active
            else _("%(name)s can no longer sign in.", name=user.username),
            "success",
        )
    except Refused as exc:
        flash_refusal(exc)
    return redirect(url_for("admin.users"))
