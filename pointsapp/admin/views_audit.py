"""The audit log (filter, page, CSV export) and the village settings."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..points.awards import DEFAULT_TIERS
from ..points.errors import Refused
from ..points.registry import StaffUser
from ..web.auth import permission_required
from .common import actor, ip, page_arg, flash_refusal, village
from .forms import AuditFilterForm, SettingsForm
from .blueprint import bp
from .services import auditlog as svc


def _filter_form(v):
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("All actions"))] + [(a, a) for a in svc.actions_of(db.session, v)]
    users = db.session.execute(
        select(StaffUser).where(StaffUser.village_id == v.id).order_by(StaffUser.username)
    ).scalars()
    form.user.choices = [(None, _("All users"))] + [(u.id, u.username) for u in users]
    valid = form.validate()
    f = svc.AuditFilter()
    if valid:
        f = svc.AuditFilter(
            action=form.action.data or None,
            user_id=form.user.data,
            date_from=form.date_from.data,
            date_to=form.date_to.data,
        )
    return form, f, valid


@bp.get("/audit")
@permission_required("village.admin")
def audit_log():
    v = village()
    form, f, valid = _filter_form(v)
    rows, total, page, pages = svc.events(db.session, actor(), v, f, page=page_arg())
    args = {k: val for k, val in request.args.items() if k != "page" and val}
    return render_template(
        "admin/audit.html", village=v, form=form, rows=rows, total=total, page=page, pages=pages, args=args, valid=valid
    ), (200 if valid else 400)


@bp.get("/audit.csv")
@permission_required("village.admin")
def audit_csv():
    v = village()
    form, f, valid = _filter_form(v)
    if not valid:
        flash(_("Please check the filter: dates look like 2026-11-20."), "error")
        return redirect(url_for("admin.audit_log"))
    chunks = svc.events_csv(db.session, actor(), v, f)
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=audit-log.csv"},
    )


@bp.route("/settings", methods=["GET", "POST"])
@permission_required("village.admin")
def settings():
    v = village()
    form = SettingsForm(obj=v)
    if request.method == "GET" and not v.award_tiers:
        form.award_tiers.data = DEFAULT_TIERS
    if form.validate_on_submit():
        try:
            svc.update_settings(
                db.session,
                actor(),
                v,
                notice_days=form.notice_days.data,
                show_blacklist=form.show_blacklist.data,
                committee_phone=form.committee_phone.data,
                award_tiers=form.award_tiers.data,
                certificate_date=form.certificate_date.data,
                ip=ip(),
            )
            flash(_("Saved."), "success")
            return redirect(url_for("admin.settings"))
        except Refused as exc:
            flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/settings.html", village=v, form=form), status
