"""Grid worker capture: pick or create an activity, mark who was there, see the result."""

from __future__ import annotations

import uuid

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _

from ..extensions import db
from ..points.errors import Refused
from ..points.registry import Role
from ..web.auth import permission_required
from ..web.refusals import message as refusal_message
from . import services as svc
from .common import flash_refusal, me, refuse_to_http, village
from .forms import ActivityForm, CaptureForm
from .offline import csrf_without_time_limit
from ..web.photos import PhotoError, capture_photo_rel, photo_path, prepare_photo, save_photo, store_photo
from .blueprint import bp


@bp.get("/capture")
@permission_required("capture")
def capture_start():
    v, user = village(), me()
    rows = svc.recent_activities(db.session, v, user)
    # Today's capture pages (each with its roster) are kept on the phone for use without signal.
    keep = [url_for("staff.capture", activity_id=a.id) for a in rows if a.is_today]
    resp = make_response(
        render_template(
            "staff/capture_start.html",
            activities=rows,
            today=svc.today_of(v),
            new_url=url_for("staff.new_activity"),
            mine_url=url_for("staff.my_captures"),
            keep=keep,
            user_id=user.id,
            sw_url=url_for("staff.service_worker"),
        )
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _activity_choices(form: ActivityForm, v, user, day) -> None:
    versions = svc.loggable_rules(db.session, v, user, day)
    form.rule.choices = [(ver.rule_id, svc.rule_label(ver)) for ver in versions]
    groups = svc.visible_groups(db.session, v, user)
    choices = [(g.id, g.name) for g in groups]
    if Role(user.role) != Role.grid_worker:
        choices = [(0, _("Whole village"))] + choices
    form.group.choices = choices


@bp.route("/activities/new", methods=["GET", "POST"])
@permission_required("capture")
def new_activity():
    v, user = village(), me()
    form = ActivityForm()
    today = svc.today_of(v)
    _activity_choices(form, v, user, today)
    if request.method == "GET":
        form.held_on.data = today
    status = 200
    if form.validate_on_submit():
        try:
            photo = save_photo(form.photo.data, current_app.instance_path, today=today)
        except PhotoError as exc:
            form.photo.errors.append(str(exc))
        else:
            try:
                activity = svc.create_activity(
                    db.session,
                    v,
                    user,
                    rule_id=form.rule.data,
                    title=form.title.data,
                    held_on=form.held_on.data,
                    place=form.place.data,
                    group_id=form.group.data or None,
                    photo=photo,
                    ip=request.remote_addr,
                )
            except Refused as exc:
                flash_refusal(exc)
            else:
                return redirect(url_for("staff.capture", activity_id=activity.id), code=303)
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("staff/activity_new.html", form=form), status


def _activity_or_404(activity_id: int):
    try:
        return svc.get_activity(db.session, village(), me(), activity_id)
    except Refused as exc:
        refuse_to_http(exc)
        abort(404)


def _render_capture(
    activity, form, *, errors=(), people=frozenset(), households=frozenset(), quantities=None, status=200
):
    v, user = village(), me()
    version = svc.activity_version(activity)
    groups = svc.roster(
        db.session, v, user, activity, checked_people=people, checked_households=households, quantities=quantities
    )
    total = sum(g.people for g in groups)
    top = svc.split_regulars(groups, svc.regulars(db.session, v, activity), household_rule=version.is_household)
    resp = make_response(
        render_template(
            "staff/capture.html",
            activity=activity,
            form=form,
            groups=groups,
            errors=errors,
            top=top,
            user_id=user.id,
            sw_url=url_for("staff.service_worker"),
            rule=svc.rule_label(version),
            per_unit=version.per == "unit",
            unit=version.unit,
            max_quantity=version.quantity_limit,
            household_rule=version.is_household,
            place=activity.place or "",
            group_name=activity.group.name if activity.group else _("Whole village"),
            sheet_url=url_for("staff.sign_in_sheet", activity_id=activity.id),
            photo_url=url_for("staff.activity_photo", activity_id=activity.id) if activity.photo else None,
            total=total,
        ),
        status,
    )
    # Always fetched afresh when online (Back shows who is recorded now); the service worker keeps
    # its own copy for offline use, and the page keeps unsent ticks in localStorage.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _wants_json() -> bool:
    """The capture script submits with fetch and reads a JSON answer (queued replays too)."""
    return request.headers.get("X-Capture") == "1"


def _json_errors(errors, status: int):
    return jsonify(ok=False, errors=[str(e) for e in errors]), status


@bp.route("/activities/<int:activity_id>/capture", methods=["GET", "POST"])
@csrf_without_time_limit
@permission_required("capture")
def capture(activity_id: int):
    v, user = village(), me()
    activity = _activity_or_404(activity_id)
    form = CaptureForm()
    as_json = _wants_json()
    if request.method == "GET":
        form.key.data = uuid.uuid4().hex
        return _render_capture(activity, form)
    if not form.validate_on_submit():
        if as_json:
            return _json_errors([_("The form is incomplete; please try again.")], 400)
        form.key.data = form.key.data or uuid.uuid4().hex
        return _render_capture(activity, form, errors=[_("The form is incomplete; please try again.")], status=400)
    key = form.key.data
    earlier = svc.already_captured(db.session, v, key)
    if earlier is not None:
        if as_json:
            return jsonify(
                ok=True, replayed=True, batch=earlier.id, url=url_for("staff.capture_result", batch_id=earlier.id)
            )
        flash(
            _(
                "This capture was already saved at %(when)s; nothing was recorded twice.",
                when=format_datetime(earlier.created_at, "HH:mm"),
            ),
            "success",
        )
        return redirect(url_for("staff.capture_result", batch_id=earlier.id), code=303)
    version = svc.activity_version(activity)
    people, households, quantities, errors = svc.parse_marks(request.form, version)
    names = svc.roster_names(svc.roster(db.session, v, user, activity))
    lines, more = svc.build_lines(version, people, households, quantities, names)
    errors += more
    photo = None
    if not errors:
        try:
            photo = prepare_photo(form.photo.data)
        except PhotoError as exc:
            errors.append(str(exc))
    if errors:
        if as_json:
            return _json_errors(errors, 400)
        return _render_capture(
            activity, form, errors=errors, people=people, households=households, quantities=quantities, status=400
        )
    try:
        result = svc.run_capture(
            db.session,
            v,
            user,
            lines=lines,
            key=key,
            rule_code=activity.rule.code,
            occurred_on=activity.held_on,
            activity_id=activity.id,
            note=form.note.data,
            label=activity.title,
            ip=request.remote_addr,
        )
    except Refused as exc:
        if as_json:
            return _json_errors([refusal_message(exc)], 409)
        flash_refusal(exc)
        return _render_capture(activity, form, people=people, households=households, quantities=quantities, status=409)
    if photo is not None and not result.replayed:
        store_photo(photo, current_app.instance_path, capture_photo_rel(v.id, result.batch_id))
    if as_json:
        return jsonify(
            ok=True,
            replayed=result.replayed,
            batch=result.batch_id,
            url=url_for("staff.capture_result", batch_id=result.batch_id),
        )
    if result.replayed:
        flash(_("This capture was already saved; nothing was recorded twice."), "success")
    return redirect(url_for("staff.capture_result", batch_id=result.batch_id), code=303)


@bp.get("/activities/<int:activity_id>/sheet")
@permission_required("capture")
def sign_in_sheet(activity_id: int):
    v, user = village(), me()
    activity = _activity_or_404(activity_id)
    version = svc.activity_version(activity)
    groups = svc.roster(db.session, v, user, activity)
    return render_template(
        "staff/sheet.html",
        activity=activity,
        groups=groups,
        rule=svc.rule_label(version),
        village_name=v.name,
        household_rule=version.is_household,
        per_unit=version.per == "unit",
        unit=version.unit,
        max_quantity=version.quantity_limit,
        group_name=activity.group.name if activity.group else _("Whole village"),
        capture_url=url_for("staff.capture", activity_id=activity.id),
    )


@bp.get("/activities/<int:activity_id>/photo")
@permission_required("capture")
def activity_photo(activity_id: int):
    activity = _activity_or_404(activity_id)
    path = photo_path(current_app.instance_path, activity.photo) if activity.photo else None
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=3600)


@bp.get("/capture/result/<int:batch_id>")
@permission_required("capture")
def capture_result(batch_id: int):
    v, user = village(), me()
    try:
        batch = svc.get_batch(db.session, v, user, batch_id)
    except Refused as exc:
        refuse_to_http(exc)
        abort(404)
    rows, counts = svc.result_rows(batch)
    has_photo = photo_path(current_app.instance_path, capture_photo_rel(v.id, batch.id)) is not None
    summary = {k: counts.get(k, 0) for k in ("pending", "capped", "duplicate", "refused", "posted", "rejected")}
    return render_template(
        "staff/result.html",
        rows=rows,
        summary=summary,
        label=batch.label or "",
        when=format_datetime(batch.created_at, "yyyy-MM-dd HH:mm"),
        again_url=url_for("staff.capture", activity_id=batch.activity_id) if batch.activity_id else None,
        start_url=url_for("staff.capture_start"),
        mine_url=url_for("staff.my_captures"),
        photo_urls=[url_for("staff.capture_photo", batch_id=batch.id)] if has_photo else [],
    )


@bp.get("/capture/result/<int:batch_id>/photo")
@permission_required("capture")
def capture_photo(batch_id: int):
    v, user = village(), me()
    try:
        svc.get_batch(db.session, v, user, batch_id)
    except Refused:
        abort(404)
    path = photo_path(current_app.instance_path, capture_photo_rel(v.id, batch_id))
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=3600)


@bp.get("/capture/mine")
@permission_required("capture")
def my_captures():
    v, user = village(), me()
    rows = svc.my_captures(db.session, v, user)
    return render_template("staff/mine.html", rows=rows, start_url=url_for("staff.capture_start"))
