"""公示 (public notice), objections (异议) and month close, for staff."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..points.errors import Refused
from ..points.lifecycle import last_finished_month
from ..points.periods import parse_month, recent_months, village_today
from ..web.auth import permission_required
from . import publicity as psvc
from .common import flash_refusal, me, refuse_to_http, village
from .evidence import entry_facts
from .blueprint import bp
from .forms import CloseForm, ObjectionForm, PublishForm, ResolveForm, SelectChoice


@bp.get("/notices")
@permission_required("notice.read")
def notices():
    v, user = village(), me()
    rows = psvc.months_overview(db.session, v, user)
    form = PublishForm()
    choices = psvc.publishable_months(rows)
    form.month.choices = [SelectChoice(m, m) for m in choices]
    last = last_finished_month(v)
    form.month.data = last if last in choices else (choices[0] if choices else None)
    return render_template(
        "staff/notices.html", rows=rows, form=form, notice_days=v.notice_days, running=rows[0].month if rows else ""
    )


@bp.post("/notices/publish")
@permission_required("notice.publish")
def publish():
    """Two steps: without ``confirm`` show what would be published; with it, publish."""
    v, user = village(), me()
    form = PublishForm()
    form.month.choices = [SelectChoice(m, m) for m in recent_months(village_today(v))]
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
        return redirect(url_for("staff.notices"), code=303)
    month = form.month.data
    try:
        plan = psvc.plan(db.session, v, user, month)
    except Refused as exc:
        flash_refusal(exc)
        return redirect(url_for("staff.notices"), code=303)
    if not form.confirm.data:
        return render_template(
            "staff/publish_confirm.html", form=form, plan=plan, preview_url=url_for("staff.notice", month=month)
        )
    try:
        n = psvc.publish(db.session, v, user, month, ip=request.remote_addr)
    except Refused as exc:
        flash_refusal(exc)
        return redirect(url_for("staff.notices"), code=303)
    if n.number == 1:
        flash(_("%(month)s is published for public notice.", month=month), "success")
    else:
        flash(_("A supplementary notice of %(month)s is published.", month=month), "success")
    return redirect(url_for("staff.notice", month=month), code=303)


def _notice_view(month: str):
    try:
        parse_month(month)
    except ValueError:
        abort(404)
    return psvc.notice_view(db.session, village(), me(), month)


@bp.get("/notices/<month>")
@permission_required("notice.read")
def notice(month: str):
    view = _notice_view(month)
    return render_template(
        "staff/notice.html",
        view=view,
        village_name=village().name,
        print_url=url_for("staff.notice_print", month=view.month),
    )


@bp.get("/notices/<month>/print")
@permission_required("notice.read")
def notice_print(month: str):
    view = _notice_view(month)
    return render_template("staff/notice_print.html", view=view, village_name=village().name)


@bp.get("/objections")
@permission_required("objection.resolve")
def objections():
    rows = psvc.objections(db.session, village(), me())
    return render_template("staff/objections.html", rows=rows)


@bp.route("/objections/new", methods=["GET", "POST"])
@permission_required("objection.enter")
def new_objection():
    v, user = village(), me()
    entry_id = request.args.get("entry", type=int)
    if entry_id is None:
        flash(_("Choose the entry from a month's public notice list first."), "error")
        return redirect(url_for("staff.notices"), code=303)
    try:
        entry = psvc.get_entry(db.session, v, user, entry_id)
    except Refused as exc:
        refuse_to_http(exc)
        abort(404)
    form = ObjectionForm()
    status = 200
    if form.validate_on_submit():
        try:
            obj = psvc.enter_objection(db.session, v, user, entry, form.reason.data, ip=request.remote_addr)
        except Refused as exc:
            flash_refusal(exc)
        else:
            flash(_("The objection is recorded."), "success")
            return redirect(url_for("staff.objection", objection_id=obj.id), code=303)
        status = 409
    elif request.method == "POST":
        status = 400
    return render_template(
        "staff/objection_new.html",
        form=form,
        name=psvc.entry_name(entry),
        item=psvc.entry_item(entry),
        points=entry.points,
        household=entry.household.number,
        occurred_on=entry.occurred_on,
        facts=entry_facts(db.session, v, entry),
    ), status


@bp.route("/objections/<int:objection_id>", methods=["GET", "POST"])
@permission_required("objection.resolve")
def objection(objection_id: int):
    v, user = village(), me()
    try:
        obj = psvc.get_objection(db.session, v, user, objection_id)
    except Refused as exc:
        refuse_to_http(exc)
        abort(404)
    form = ResolveForm()
    status = 200
    if form.validate_on_submit():
        try:
            psvc.resolve(
                db.session, v, user, obj, form.answer.data, form.outcome.data == "correct", ip=request.remote_addr
            )
        except Refused as exc:
            flash_refusal(exc)
            status = 409
        else:
            flash(_("The objection is resolved."), "success")
            return redirect(url_for("staff.objection", objection_id=obj.id), code=303)
    elif request.method == "POST":
        status = 400
    row = psvc.objection_detail(obj)
    correction = None
    if obj.correction is not None:
        correction = {
            "seq": obj.correction.seq,
            "points": obj.correction.points,
            "occurred_on": obj.correction.occurred_on,
        }
    return render_template(
        "staff/objection.html",
        form=form,
        row=row,
        correction=correction,
        facts=entry_facts(db.session, v, obj.entry),
        resolved_by=(obj.resolved_by.display_name or obj.resolved_by.username) if obj.resolved_by else "",
    ), status


@bp.route("/close", methods=["GET", "POST"])
@permission_required("period.close")
def close():
    v, user = village(), me()
    months = recent_months(village_today(v))
    form = CloseForm()
    if form.validate_on_submit():
        month = form.month.data
        try:
            parse_month(month)
        except ValueError:
            flash(_("%(value)r is not a month (YYYY-MM).", value=month[:20]), "error")
            return redirect(url_for("staff.close"), code=303)
        if not form.confirm.data:
            flash(_("Tick the box to confirm that the month should be closed."), "error")
            return redirect(url_for("staff.close", month=month), code=303)
        try:
            psvc.close_month(db.session, v, user, month, ip=request.remote_addr)
        except Refused as exc:
            flash_refusal(exc)
        else:
            flash(_("%(month)s is closed.", month=month), "success")
        return redirect(url_for("staff.close", month=month), code=303)
    if request.method == "POST":
        flash(_("The form is incomplete; please try again."), "error")
        return redirect(url_for("staff.close"), code=303)
    month = request.args.get("month") or last_finished_month(v)
    try:
        parse_month(month)
    except ValueError:
        flash(_("%(value)r is not a month (YYYY-MM).", value=month[:20]), "error")
        month = last_finished_month(v)
    view = psvc.close_view(db.session, v, user, month)
    form.month.data = view.month
    return render_template(
        "staff/close.html",
        view=view,
        form=form,
        months=months,
        review_url=url_for("staff.review", **{"from": view.review_from.isoformat(), "to": view.review_to.isoformat()}),
        notice_url=url_for("staff.notice", month=view.month),
    )
