"""Reviewer: the review queue (approve / reject) and two-person special awards."""

from __future__ import annotations

import uuid

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from ..extensions import db
from ..points.errors import Refused
from ..points.rules import special_award_rule
from ..web.auth import permission_required
from . import review as rsvc
from . import services as svc
from .common import flash_refusal, int_list, me, village
from .evidence import evidence_for
from .forms import AwardForm, DecisionForm
from ..web.photos import PhotoError, capture_photo_rel, prepare_photo, store_photo
from .blueprint import bp


@bp.get("/review")
@permission_required("review")
def review():
    v, user = village(), me()
    filters, errors = rsvc.QueueFilters.from_args(request.args)
    for e in errors:
        flash(e, "error")
    rows = rsvc.queue(db.session, v, user, filters)
    total = rsvc.backlog(db.session, v, user, filters)
    evidence = evidence_for(db.session, v, {(r.activity_id, r.batch_id) for r in rows})
    return render_template(
        "staff/review.html",
        rows=rows,
        choices=rsvc.filter_choices(db.session, v),
        filters=filters,
        form=DecisionForm(),
        decidable=sum(1 for r in rows if r.can_decide),
        total=total,
        evidence=evidence,
        limit_reached=total > len(rows),
        here=request.full_path,
        bulk_confirm=rsvc.BULK_CONFIRM,
    )


def _back():
    target = request.form.get("back") or ""
    if target.startswith("/review") and not target.startswith("//"):
        return redirect(target, code=303)
    return redirect(url_for("staff.review"), code=303)


def _decide(approve_them: bool):
    v, user = village(), me()
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("The form is incomplete; please try again."), "error")
        return _back()
    ids, bad = int_list(request.form.getlist("sub"))
    for raw in bad:
        flash(_("Unknown capture %(value)r.", value=raw), "error")
    if not ids:
        flash(_("Tick at least one capture first."), "error")
        return _back()
    if not approve_them and not (form.reason.data or "").strip():
        flash(_("A rejection needs a reason; the person who recorded it will see it."), "error")
        return _back()
    ids = list(dict.fromkeys(ids))
    if approve_them and len(ids) > rsvc.BULK_CONFIRM and request.form.get("confirm") != str(len(ids)):
        # Many rows at once: show what they are (by capture batch) and ask once more.
        return render_template(
            "staff/review_confirm.html",
            ids=ids,
            form=form,
            back=request.form.get("back") or "",
            shares=rsvc.bulk_summary(db.session, v, user, ids),
            limit=rsvc.BULK_CONFIRM,
        )
    try:
        decision = rsvc.decide(
            db.session, v, user, ids, approve_them=approve_them, reason=form.reason.data, ip=request.remote_addr
        )
    except Refused as exc:
        flash_refusal(exc)
        return _back()
    if decision.done:
        msg = (
            ngettext("Approved %(num)s capture.", "Approved %(num)s captures.", decision.done)
            if approve_them
            else ngettext("Rejected %(num)s capture.", "Rejected %(num)s captures.", decision.done)
        )
        flash(msg, "success")
    for problem in decision.refused:
        flash(problem, "error")
    return _back()


@bp.post("/review/approve")
@permission_required("review")
def approve():
    return _decide(True)


@bp.post("/review/reject")
@permission_required("review")
def reject():
    return _decide(False)


OUTSIDE_RULE_BOOK = 0  # the form's choice for a special award outside the rule book


@bp.route("/awards/new", methods=["GET", "POST"])
@permission_required("award.propose")
def award():
    v, user = village(), me()
    today = svc.today_of(v)
    form = AwardForm()
    versions = rsvc.award_rules(db.session, v, user, today)
    form.rule.choices = [(ver.rule_id, svc.rule_label(ver)) for ver in versions] + [
        (OUTSIDE_RULE_BOOK, _("Outside the rule book: the quantity is the number of points"))
    ]
    form.subject.choices = rsvc.award_subjects(db.session, v)
    if request.method == "GET":
        form.key.data = uuid.uuid4().hex
        form.occurred_on.data = today
        return render_template("staff/award.html", form=form)
    if form.validate_on_submit():
        earlier = svc.already_captured(db.session, v, form.key.data)
        if earlier is not None:
            return redirect(url_for("staff.capture_result", batch_id=earlier.id), code=303)
        if form.rule.data == OUTSIDE_RULE_BOOK:
            version = special_award_rule(db.session, v, by_id=user.id).version_on(form.occurred_on.data)
        else:
            version = next(ver for ver in versions if ver.rule_id == form.rule.data)
        villager_id, household_id = rsvc.parse_subject(form.subject.data)
        error = None
        if form.occurred_on.data > today:
            error = _("The date is in the future.")
        photo = None
        if error is None:
            try:
                photo = prepare_photo(form.photo.data)
            except PhotoError as exc:
                error = str(exc)
        if error is None:
            from ..points.capture import Line

            line = Line(villager_id=villager_id, household_id=household_id, quantity=form.quantity.data)
            try:
                result = svc.run_capture(
                    db.session,
                    v,
                    user,
                    lines=[line],
                    key=form.key.data,
                    rule_code=version.rule.code,
                    occurred_on=form.occurred_on.data,
                    activity_id=None,
                    note=form.note.data,
                    label=_("Special award"),
                    ip=request.remote_addr,
                )
            except Refused as exc:
                flash_refusal(exc)
            else:
                if photo is not None and not result.replayed:
                    store_photo(photo, current_app.instance_path, capture_photo_rel(v.id, result.batch_id))
                flash(_("Proposed. Another reviewer or admin must approve it in the review queue."), "success")
                return redirect(url_for("staff.capture_result", batch_id=result.batch_id), code=303)
        if error:
            flash(error, "error")
    return render_template("staff/award.html", form=form), 400
