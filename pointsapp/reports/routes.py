"""Routes of the reports feature: dashboards, cached chart images, the ceremony pack
download and the exports. Views are thin: parse → service (which checks authorization)
→ response."""

from __future__ import annotations

import io
import os
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..points.imports import roster_export
from ..points.periods import local_today, month_key, parse_month, parse_period, previous_month
from ..points.policy import allowed, require
from ..points.registry import Role, Village
from ..points.standings import board_month
from ..web.auth import current_village, permission_required
from . import dashboard as dash
from . import exports, services
from .cache import CHART_NAMES, ChartRequest, chart_png
from .liability import county_liabilities, village_liability

bp = Blueprint(
    "reports", __name__, template_folder="templates", static_folder="static", static_url_path="/reports/static"
)

FIELD_LABELS = {
    "period": _l("Period"),
    "group": _l("Group"),
    "board": _l("Leaderboard"),
    "month": _l("Month"),
    "rule": _l("Scoring rule"),
    "top": _l("Number of certificates"),
    "chart": _l("Chart"),
}


def _bad(field: str, value: str, reason: str):
    """A 400 page naming the field and the value (never a traceback)."""
    message = _(
        "%(field)s: %(value)s is not valid. %(reason)s",
        field=FIELD_LABELS.get(field, field),
        value=value,
        reason=reason,
    )
    return render_template("error.html", title=_("Bad request"), message=message, status=400), 400


def _reason(field: str) -> str:
    return {
        "period": _("Use a month (2026-10), a quarter (2026-Q4), a year (2026) or all."),
        "group": _("Choose a group of this village from the list."),
        "board": _("Choose households, villagers or groups."),
        "month": _("Use a month such as 2026-10."),
        "rule": _("Choose a rule of this village from the list."),
        "top": _("Use a whole number from 1 to 100."),
        "chart": _("Choose one of the charts on the dashboard."),
    }.get(field, "")


def _filters(village: Village | None):
    return dash.parse_filters(
        db.session,
        village,
        period=request.args.get("period") or request.args.get("month"),
        group=request.args.get("group"),
        board=request.args.get("board"),
        show_all=request.args.get("all") == "1",
    )


def _is_viewer() -> bool:
    return Role(current_user.role) == Role.viewer


def _is_county() -> bool:
    """A county account: one that may compare villages (a viewer bound to no village)."""
    return allowed(current_user, None, "reports.county")


@bp.get("/dashboard")
@permission_required("reports.read")
def dashboard():
    if _is_county() and not request.args.get("village"):
        return redirect(url_for("reports.county"))
    village = current_village()
    try:
        filters = _filters(village)
    except dash.BadFilter as exc:
        return _bad(exc.field, exc.value, _reason(exc.field))
    view = dash.staff_dashboard(db.session, current_user, village, filters)
    args = {"period": filters.period}
    if filters.group:
        args["group"] = filters.group.id
    if _is_county():
        args["village"] = village.id
    board_tabs = [
        (kind, label, url_for("reports.dashboard", board=kind, **args))
        for kind, label in (("household", _("By household")), ("villager", _("By villager")), ("group", _("By group")))
    ]
    return render_template(
        "reports/dashboard.html",
        d=view,
        args=args,
        viewer=_is_county(),
        liability=village_liability(db.session, current_user, village),
        can_pack=allowed(current_user, village, "reports.pack"),
        can_roster=allowed(current_user, village, "village.admin"),
        can_export=allowed(current_user, village, "reports.export"),
        labels={
            "points": _("Points"),
            "entries": _("Posted entries"),
            "households_with_entries": _("Households taking part"),
            "participation": _("Participation"),
            "per_head": _("Points per head"),
        },
        chart_titles={
            "top_households": _("Top 10 households"),
            "groups": _("Groups compared: total and per head"),
            "categories": _("Points by category"),
            "trend": _("12-month trend of points and participation"),
        },
        board_tabs=board_tabs,
        board_name_label={"household": _("Household head"), "villager": _("Villager"), "group": _("Group")}[
            filters.board
        ],
        show_all_url=url_for("reports.dashboard", board=filters.board, all=1, **args),
    )


@bp.get("/county")
@permission_required("reports.county")
def county():
    period = request.args.get("period")
    tz = current_app.config["POINTSAPP_TIMEZONE"]
    try:  # by default the last finished month until some village has posted points in this one
        key = parse_period(period).key if period else board_month(db.session, None, local_today(tz))
    except ValueError:
        return _bad("period", period, _reason("period"))
    view = dash.county_dashboard(db.session, current_user, key, tz=tz)
    return render_template("reports/county.html", c=view, liabilities=county_liabilities(db.session, current_user, tz))


@bp.get("/reports/county/villages.png")
@permission_required("reports.county")
def county_chart():
    period = request.args.get("period") or month_key(local_today(current_app.config["POINTSAPP_TIMEZONE"]))
    try:
        key = parse_period(period).key
    except ValueError:
        return _bad("period", period, _reason("period"))
    require(current_user, None, "reports.read")
    size = request.args.get("size") or "web"
    if size not in ("web", "phone"):
        return _bad("chart", size, _reason("chart"))
    path, _rendered = dash.county_chart_png(db.session, key, Path(current_app.instance_path) / "cache" / "charts", size)
    resp = send_file(path, mimetype="image/png", max_age=0, conditional=True, etag=True)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


@bp.get("/reports/chart/<name>.png")
@permission_required("reports.read")
def chart(name: str):
    village = current_village()
    if name not in CHART_NAMES:
        return _bad("chart", name, _reason("chart"))
    try:
        filters = _filters(village)
    except dash.BadFilter as exc:
        return _bad(exc.field, exc.value, _reason(exc.field))
    services.require_chart(current_user, village, name)
    # the groups chart always compares every group: one cache entry whatever the group filter
    size = request.args.get("size") or "web"
    if size not in ("web", "phone"):
        return _bad("chart", size, _reason("chart"))
    req = ChartRequest(village, name, filters.period, None if name == "groups" else filters.group, size)
    path, _rendered = chart_png(db.session, req, Path(current_app.instance_path) / "cache" / "charts")
    resp = send_file(path, mimetype="image/png", max_age=0, conditional=True, etag=True)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


@bp.get("/reports/monthly")
@permission_required("reports.pack")
def monthly_pack():
    village = current_village()
    month = request.args.get("month") or previous_month(services.this_month(village))
    try:
        key = parse_month(month).key
    except ValueError:
        return _bad("month", month, _reason("month"))
    top = request.args.get("top") or None
    if top is not None and (not top.isdigit() or not 1 <= int(top) <= 100):
        return _bad("top", top, _reason("top"))
    require(current_user, village, "reports.pack")
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="pack-") as tmp:
        files = _pack_in_child_process(village, key, top, Path(tmp))
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, arcname=f"{village.name}-{key}/{path.name}")
    buf.seek(0)
    return send_file(
        buf, mimetype="application/zip", as_attachment=True, download_name=f"{village.name}-{key}-ceremony-pack.zip"
    )


def _pack_in_child_process(village: Village, month: str, top: str | None, out_dir: Path) -> list[Path]:
    """Build the pack with ``pointsapp report monthly`` in a child process. Its charts, PDF and workbook
    (matplotlib, pandas, fpdf and the CJK font: about 130 MB at their peak) then never stay in this
    long-lived web worker's memory. The child reads the same database; the pack only reads."""
    import subprocess
    import sys

    env = dict(
        os.environ,
        POINTSAPP_INSTANCE_PATH=current_app.instance_path,
        POINTSAPP_DATABASE_URL=current_app.config["SQLALCHEMY_DATABASE_URI"],
    )
    cmd = [
        sys.executable,
        "-m",
        "pointsapp",
        "report",
        "monthly",
        month,
        "--village",
        village.name,
        "--out",
        str(out_dir),
    ] + (["--top", top] if top else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"the ceremony pack failed: {done.stderr[-2000:]}")
    return sorted(p for p in out_dir.iterdir() if p.is_file())


@bp.get("/reports/notice/<month>.pdf")
@permission_required("notice.read")
def notice_pdf(month: str):
    """The printed 公示 of a month, grouped by group and household, for the notice board."""
    village = current_village()
    try:
        key = parse_month(month).key
    except ValueError:
        return _bad("month", month, _reason("month"))
    require(current_user, village, "notice.read")
    from .notice_print import month_notice_pdf

    number = request.args.get("n", type=int)
    with tempfile.TemporaryDirectory(prefix="notice-") as tmp:
        path = Path(tmp) / "notice.pdf"
        try:
            month_notice_pdf(db.session, village, key, path, number=number)
        except LookupError:
            abort(404)
        body = path.read_bytes()
    suffix = f"补充公示{number - 1}" if number and number > 1 else "公示"
    return send_file(
        io.BytesIO(body),
        mimetype="application/pdf",
        as_attachment=False,
        download_name=f"{village.name}-{key}-{suffix}.pdf",
    )


def _export_villages() -> tuple[list[Village], str]:
    """The villages an export covers: the user's own, or for viewers one (?village=ID) or all."""
    if _is_viewer() and not request.args.get("village"):  # a county-wide export: county accounts only
        require(current_user, None, "reports.export")
        villages = list(db.session.execute(select(Village).order_by(Village.name)).scalars())
        return villages, _("county")
    village = current_village()
    require(current_user, village, "reports.export")
    return [village], village.name


def _ledger_filter(villages: list[Village]):
    period = request.args.get("period") or "all"
    try:
        period = parse_period(period).key
    except ValueError:
        return None, _bad("period", period, _reason("period"))
    group_id = None
    if group := request.args.get("group"):
        try:
            group_id = int(group)
        except ValueError:
            return None, _bad("group", group, _reason("group"))
        if not any(g.id == group_id for v in villages for g in v.groups):
            return None, _bad("group", group, _reason("group"))
    rule = (request.args.get("rule") or "").strip() or None
    if rule and len(villages) == 1 and rule not in {c for c, _n in services.rules_of(db.session, villages[0])}:
        return None, _bad("rule", rule, _reason("rule"))
    return exports.LedgerFilter(period, group_id, rule), None


@bp.get("/reports/export/ledger.<fmt>")
@permission_required("reports.export")
def export_ledger(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    villages, label = _export_villages()
    flt, error = _ledger_filter(villages)
    if error:
        return error
    name = f"{label}-ledger-{flt.slug()}.{fmt}"
    rows = exports.ledger_rows(db.session, villages, flt)
    if fmt == "csv":
        body = stream_with_context(exports.csv_stream(rows, exports.LEDGER_HEADERS))
        resp = Response(body, mimetype="text/csv; charset=utf-8")
        _attachment(resp.headers, name)
        return resp
    fh = exports.ledger_xlsx(db.session, villages, flt)
    return send_file(
        fh,
        as_attachment=True,
        download_name=name,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _attachment(headers, name: str) -> None:
    """Content-Disposition as Flask's send_file writes it (an ASCII name plus filename*)."""
    simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii") or "export.csv"
    headers.set(
        "Content-Disposition", "attachment", filename=simple, **{"filename*": f"UTF-8''{quote(name, safe='!#$&+^`|~')}"}
    )


@bp.get("/reports/export/roster.xlsx")
@permission_required("village.admin")
def export_roster():
    village = current_village()
    require(current_user, village, "reports.export")
    today = local_today(village.timezone)
    data = roster_export.export_roster(db.session, current_user, village, today=today, ip=request.remote_addr)
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"{village.name}-roster-{today}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
