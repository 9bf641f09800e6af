"""Activities for admins: list by month, edit, cancel. New activities are created on the staff
capture screen (staff.new_activity)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..points.activities import Activity
from ..points.errors import Refused
from ..points.periods import local_today, month_key, month_shift, parse_month
from ..points.registry import Group
from ..web.auth import permission_required
from .common import actor, get_or_404, ip, flash_refusal, village
from .forms import ActivityForm, CancelActivityForm
from .blueprint import bp
from .services import activities as svc
from .services import registry as reg


@bp.get("/activities")
@permission_required("village.admin")
def activities():
    v = village()
    try:
        period = parse_month(request.args.get("month") or month_key(local_today(v.timezone)))
    except ValueError:
        period = parse_month(month_key(local_today(v.timezone)))
    rows = svc.list_activities(db.session, actor(), v, period.start, period.end)
    return render_template(
        "admin/activities.html",
        village=v,
        rows=rows,
        month=period.key,
        prev_month=month_shift(period.key, -1),
        next_month=month_shift(period.key, 1),
    )


def _edit_context(activity: Activity, form: ActivityForm, cancel_form: CancelActivityForm):
    cancelled = {"day": activity.cancelled_at.date(), "reason": activity.cancel_reason} if activity.cancelled else None
    return {
        "village": village(),
        "activity": activity,
        "form": form,
        "cancel_form": cancel_form,
        "cancelled": cancelled,
        "live": svc.live_captures(db.session, activity),
        "standing": svc.standing_entries(db.session, activity),
    }


def _prepare(form: ActivityForm):
    form.group.choices = [(None, _("Whole village"))] + [(g.id, g.name) for g in reg.groups_of(db.session, village())]


@bp.route("/activities/<int:activity_id>", methods=["GET", "POST"])
@permission_required("village.admin")
def activity_edit(activity_id: int):
    a = get_or_404(Activity, activity_id)
    form = ActivityForm(obj=a) if request.method == "GET" else ActivityForm()
    if request.method == "GET":
        form.group.data = a.group_id
    _prepare(form)
    if form.validate_on_submit():
        group = get_or_404(Group, form.group.data) if form.group.data else None
        try:
            svc.update_activity(
                db.session,
                actor(),
                village(),
                a,
                title=form.title.data,
                held_on=form.held_on.data,
                place=form.place.data,
                group=group,
                ip=ip(),
            )
            flash(_("Saved."), "success")
            return redirect(url_for("admin.activities", month=month_key(a.held_on)))
        except Refused as exc:
            flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/activity.html", **_edit_context(a, form, CancelActivityForm())), status


@bp.post("/activities/<int:activity_id>/cancel")
@permission_required("village.admin")
def activity_cancel(activity_id: int):
    a = get_or_404(Activity, activity_id)
    cancel_form = CancelActivityForm()
    if cancel_form.validate_on_submit():
        try:
            svc.cancel_activity(db.session, actor(), village(), a, cancel_form.reason.data, ip=ip())
            flash(_("Activity %(title)s cancelled.", title=a.title), "success")
            return redirect(url_for("admin.activities", month=month_key(a.held_on)))
        except Refused as exc:
            flash_refusal(exc, cancel_form)
    form = ActivityForm(obj=a, formdata=None)
    form.group.data = a.group_id
    _prepare(form)
    return render_template("admin/activity.html", **_edit_context(a, form, cancel_form)), 400
