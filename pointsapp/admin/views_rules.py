"""Rule book pages: the table by category, a rule's history, editing with a dry run, and the
YAML rule book upload (with a dry run) and download."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..points.periods import local_today
from ..points.rules import DEFAULT_MAX_QUANTITY, RuleBookError
from ..web.auth import permission_required
from ..web.transaction import discard, rollback_only
from . import uploads
from .common import actor, ip, village
from .forms import (
    CAP_LABELS,
    EVIDENCE_CHOICES,
    LOGGER_CHOICES,
    PER_CHOICES,
    SCOPE_CHOICES,
    RuleBookUploadForm,
    RuleForm,
)
from .blueprint import bp
from .services import rules as svc

KIND = "rulebook"
MAX_YAML = 1024 * 1024


def field_labels() -> dict[str, str]:
    return {
        "name": _("Rule name"),
        "category": _("Category"),
        "points": _("Points"),
        "per": _("Per"),
        "unit": _("Unit"),
        "scope": _("Scope"),
        "caps": _("Caps"),
        "evidence": _("Evidence"),
        "logged_by": _("Recorded by"),
        "effective_from": _("Takes effect on"),
        "effective_to": _("Ends on"),
        "max_quantity": _("Most units on one entry"),
    }


def show(field: str, value) -> str:
    """A rule field's value in words, in the user's language."""
    if value is None or value == {} or value == ():
        return "—"
    if field == "caps":
        return "、".join(f"{CAP_LABELS[p]} {n}" for p, n in value.items())
    if field == "logged_by":
        names = dict(LOGGER_CHOICES)
        return "、".join(str(names.get(r, r)) for r in value)
    choices = {"per": PER_CHOICES, "scope": SCOPE_CHOICES, "evidence": EVIDENCE_CHOICES}.get(field)
    if choices:
        return str(dict(choices).get(value, value))
    return str(value)


def _display(row: dict) -> dict:
    return {**row, **{k: show(k, row[k]) for k in ("per", "scope", "caps", "evidence", "logged_by") if k in row}}


@bp.get("/rules")
@permission_required("village.admin")
def rules():
    table = [
        {"category": c["category"], "rules": [_display(r) for r in c["rules"]]}
        for c in svc.rule_table(db.session, actor(), village())
    ]
    return render_template("admin/rules.html", village=village(), table=table)


def _rule_or_404(code: str):
    rule = svc.get_rule(db.session, village(), code)
    if rule is None:
        abort(404)
    return rule


@bp.get("/rules/<code>")
@permission_required("village.admin")
def rule(code: str):
    r = _rule_or_404(code)
    return render_template(
        "admin/rule.html", village=village(), rule=r, latest=r.latest, history=[_display(h) for h in svc.history(r)]
    )


def _fields(form: RuleForm, code: str) -> dict:
    caps = {
        p: getattr(form, f"cap_{p}").data
        for p in ("day", "month", "year")
        if getattr(form, f"cap_{p}").data is not None
    }
    return {
        "code": code,
        "name": form.name.data,
        "category": form.category.data,
        "points": form.points.data,
        "per": form.per.data,
        "unit": form.unit.data,
        "scope": form.scope.data,
        "caps": caps,
        "evidence": form.evidence.data,
        "logged_by": list(form.logged_by.data or []),
        "max_quantity": form.max_quantity.data if form.per.data == "unit" else None,
        "effective_from": form.effective_from.data,
        "version_note": (form.version_note.data or "").strip() or None,
    }


@bp.route("/rules/<code>/edit", methods=["GET", "POST"])
@permission_required("village.admin")
def rule_edit(code: str):
    v = village()
    r = _rule_or_404(code)
    latest = r.latest
    today = local_today(v.timezone)
    form = RuleForm()
    if request.method == "GET":
        spec = latest.spec()
        form.process(
            data={
                "name": spec.name,
                "category": spec.category,
                "points": spec.points,
                "per": spec.per,
                "unit": spec.unit,
                "scope": spec.scope,
                "cap_day": spec.caps.get("day"),
                "cap_month": spec.caps.get("month"),
                "cap_year": spec.caps.get("year"),
                "evidence": spec.evidence,
                "logged_by": list(spec.logged_by),
                "max_quantity": spec.max_quantity,
                "effective_from": max(today, latest.effective_from) + dt.timedelta(days=1),
            }
        )
    ctx = {
        "village": v,
        "rule": r,
        "latest": latest,
        "form": form,
        "diff": None,
        "impact": None,
        "book_errors": [],
        "nothing": False,
        "default_max_quantity": DEFAULT_MAX_QUANTITY,
    }
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("admin/rule_edit.html", **ctx), 400
        if form.effective_from.data <= latest.effective_from:
            form.effective_from.errors = [
                _(
                    "The new version must start after %(day)s, when version %(n)s started.",
                    day=latest.effective_from.isoformat(),
                    n=latest.version,
                )
            ]
            return render_template("admin/rule_edit.html", **ctx), 400
        try:
            book = svc.build_spec(_fields(form, r.code))
            diff = svc.spec_diff(latest.spec(), book.rules[0])
            if not any(d["field"] not in ("effective_from", "effective_to") for d in diff):
                ctx["nothing"] = True  # only a new date: no new version
                return render_template("admin/rule_edit.html", **ctx)
            confirm = bool(form.confirm.data)
            report = svc.change_rule(db.session, actor(), v, r, book, dry_run=not confirm, ip=ip())
        except RuleBookError as exc:
            rollback_only()
            ctx["book_errors"] = exc.errors
            return render_template("admin/rule_edit.html", **ctx), 400
        if confirm and (report.changed or report.retired):
            flash(
                _(
                    "Rule %(code)s: version %(n)s takes effect on %(day)s. Earlier entries keep their points.",
                    code=r.code,
                    n=r.latest.version,
                    day=form.effective_from.data.isoformat(),
                ),
                "success",
            )
            return redirect(url_for("admin.rule", code=r.code))
        discard()  # a preview: the change was tried, not kept
        labels = field_labels()
        ctx["diff"] = [
            {"field": labels[d["field"]], "old": show(d["field"], d["old"]), "new": show(d["field"], d["new"])}
            for d in diff
        ]
        ctx["impact"] = svc.impact(db.session, v, r, book.rules[0], today)
    return render_template("admin/rule_edit.html", **ctx)


@bp.get("/rules/export.yaml")
@permission_required("village.admin")
def rules_export():
    text = svc.export_book(db.session, actor(), village())
    return Response(
        text,
        mimetype="application/x-yaml; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=rules.yaml"},
    )


@bp.route("/rules/upload", methods=["GET", "POST"])
@permission_required("village.admin")
def rules_upload():
    form = RuleBookUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_YAML + 1)
        name = Path(upload.filename or "rules.yaml").name
        if len(data) > MAX_YAML:
            form.file.errors = [_("The file is larger than %(mb)s MB.", mb=1)]
        else:
            stored = uploads.save(
                current_app.instance_path,
                data,
                filename=name,
                ext=Path(name).suffix.lower(),
                village_id=village().id,
                user_id=actor().id,
                kind=KIND,
            )
            return redirect(url_for("admin.rules_upload_preview", token=stored.token))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/rules_upload.html", village=village(), form=form), status


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _stored(token: str):
    return uploads.load(current_app.instance_path, token, village_id=village().id, user_id=actor().id, kind=KIND)


@bp.get("/rules/upload/<token>")
@permission_required("village.admin")
def rules_upload_preview(token: str):
    stored = _stored(token)
    if stored is None:
        flash(_("That upload has expired or does not exist. Please upload the file again."), "error")
        return redirect(url_for("admin.rules_upload"))
    text = _decode(stored.read())
    errors, report = [], None
    if text is None:
        errors = [_("The file is not UTF-8 text. Save the rule book as UTF-8 and upload it again.")]
    else:
        try:
            report = svc.load_book(db.session, actor(), village(), text, dry_run=True)
        except RuleBookError as exc:
            errors = exc.errors
        discard()  # a preview
    return render_template(
        "admin/rules_upload_preview.html",
        village=village(),
        token=token,
        filename=stored.filename,
        errors=errors,
        report=report,
    )


@bp.post("/rules/upload/<token>")
@permission_required("village.admin")
def rules_upload_confirm(token: str):
    stored = _stored(token)
    if stored is None:
        flash(_("That upload has expired or does not exist. Please upload the file again."), "error")
        return redirect(url_for("admin.rules_upload"))
    text = _decode(stored.read())
    try:
        if text is None:
            raise RuleBookError(["not UTF-8"])
        report = svc.load_book(db.session, actor(), village(), text, dry_run=False, filename=stored.filename, ip=ip())
    except RuleBookError:
        rollback_only()
        flash(_("The rule book has errors; nothing was changed."), "error")
        return redirect(url_for("admin.rules_upload_preview", token=token))
    uploads.discard(stored)
    flash(
        _(
            "Rule book loaded: %(added)s added, %(changed)s changed, %(retired)s retired, %(unchanged)s unchanged.",
            added=len(report.added),
            changed=len(report.changed),
            retired=len(report.retired),
            unchanged=len(report.unchanged),
        ),
        "success",
    )
    return redirect(url_for("admin.rules"))
