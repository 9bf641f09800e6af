"""Roster import (upload → dry-run preview → confirm) and export, in the browser."""

from __future__ import annotations

import io
from pathlib import Path

from flask import current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..points.imports.errors import ImportErrors
from ..points.imports.reader import ReadError
from ..points.imports.roster_export import export_roster as export_roster_xlsx
from ..points.periods import local_today
from ..web.auth import permission_required
from ..web.refusals import coded_text
from ..web.transaction import discard, rollback_only
from . import uploads
from .common import actor, ip, village
from .forms import RosterUploadForm
from .blueprint import bp
from .services import roster

KIND = "roster"


def outcome_labels() -> dict[str, str]:
    return {
        "new_household": _("New household"),
        "new_villager": _("New villager"),
        "moved": _("Moved from another household"),
        "updated": _("Updated"),
        "unchanged": _("Unchanged"),
        "unmatched": _("Cannot match"),
        "error": _("Error"),
        "ok": _("Readable"),
    }


def _page(form, status=200):
    return render_template(
        "admin/roster.html", village=village(), form=form, max_mb=roster.MAX_BYTES // (1024 * 1024)
    ), status


@bp.get("/roster")
@permission_required("village.admin")
def roster_page():
    return _page(RosterUploadForm())


@bp.post("/roster")
@permission_required("village.admin")
def roster_upload():
    form = RosterUploadForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    upload = form.file.data
    data = upload.read(roster.MAX_BYTES + 1)
    if len(data) > roster.MAX_BYTES:
        form.file.errors = [
            _(
                "The file is larger than %(mb)s MB. Please upload the roster sheet only.",
                mb=roster.MAX_BYTES // (1024 * 1024),
            )
        ]
        return _page(form, 400)
    name = Path(upload.filename or "roster.xlsx").name
    ext = Path(name).suffix.lower()  # the reader tells the workbook kinds apart by their content
    stored = uploads.save(
        current_app.instance_path, data, filename=name, ext=ext, village_id=village().id, user_id=actor().id, kind=KIND
    )
    return redirect(url_for("admin.roster_preview", token=stored.token))


def _stored(token: str):
    return uploads.load(current_app.instance_path, token, village_id=village().id, user_id=actor().id, kind=KIND)


def _gone():
    flash(_("That upload has expired or does not exist. Please upload the file again."), "error")
    return redirect(url_for("admin.roster_page"))


def _error_rows(errors) -> list[dict]:
    return [{"row": e.row, "column": e.column, "value": e.value, "reason": coded_text(e, e.reason)} for e in errors]


@bp.get("/roster/preview/<token>")
@permission_required("village.admin")
def roster_preview(token: str):
    stored = _stored(token)
    if stored is None:
        return _gone()
    result = roster.preview(db.session, actor(), village(), stored.read(), stored.filename)
    discard()  # a dry run: nothing of it is kept
    labels = outcome_labels()
    counts = [(labels[k], n) for k, n in sorted(result.counts.items(), key=lambda kv: list(labels).index(kv[0]))]
    rows = [
        {
            "row": r.row,
            "group": r.group,
            "household_no": r.household_no,
            "head_name": r.head_name,
            "name": r.name,
            "outcome": r.outcome,
            "errors": _error_rows(r.errors),
        }
        for r in result.rows
    ]
    return render_template(
        "admin/roster_preview.html",
        village=village(),
        result=result,
        token=token,
        labels=labels,
        counts=counts,
        errors=_error_rows(result.errors),
        rows=rows,
        read_error=coded_text(result.read_error) if result.read_error else None,
    )


@bp.post("/roster/confirm/<token>")
@permission_required("village.admin")
def roster_confirm(token: str):
    stored = _stored(token)
    if stored is None:
        return _gone()
    try:
        report = roster.confirm(db.session, actor(), village(), stored.read(), stored.filename, ip=ip())
    except (ReadError, ImportErrors):
        rollback_only()
        flash(_("The file has errors; nothing was imported."), "error")
        return redirect(url_for("admin.roster_preview", token=token))
    uploads.discard(stored)
    flash(
        _(
            "Roster imported: %(households)s new households, %(villagers)s new villagers, %(updated)s updated, "
            "%(moved)s moved, %(unchanged)s unchanged.",
            households=report.households_added,
            villagers=report.villagers_added,
            updated=len(report.updated),
            moved=len(report.moved),
            unchanged=report.unchanged,
        ),
        "success",
    )
    return redirect(url_for("admin.roster_page"))


@bp.post("/roster/cancel/<token>")
@permission_required("village.admin")
def roster_cancel(token: str):
    stored = _stored(token)
    if stored is not None:
        uploads.discard(stored)
    flash(_("Import cancelled; nothing was changed."), "success")
    return redirect(url_for("admin.roster_page"))


@bp.get("/roster/export.xlsx")
@permission_required("village.admin")
def roster_export():
    v = village()
    today = local_today(v.timezone)
    data = export_roster_xlsx(db.session, actor(), v, today=today, ip=ip())
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"roster-{today.isoformat()}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
