"""The same sheets as .xls (Excel 97-2003, the default of WPS templates) and .ods read and import exactly
like the .xlsx; formulas without a saved value are refused with row and column; formulas with one give it.

The .xls and .ods files are converted in the test from the .xlsx (tests/samples.py: xlwt and odfpy),
for the generated samples and, when present, the shared ones.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, text

from pointsapp.points.errors import Refused
from pointsapp.points.imports.errors import ImportErrors
from pointsapp.points.imports.reader import ReadError, UnreadableCells, read_table
from pointsapp.points.imports.roster import ROSTER_COLUMNS, import_roster
from pointsapp.points.imports.scores import SCORE_COLUMNS, import_scores
from pointsapp.points.imports.values import content_digest
from pointsapp.points.registry import Group, Role, StaffUser, Village
from pointsapp.points.rules import load_rulebook_text
from tests.samples import SOURCES, as_ods, as_xls, sample, sample_in

FORMATS = ("xls", "ods")


def convert(xlsx: Path, fmt: str, folder: Path) -> Path:
    out = folder / f"{xlsx.stem}.{fmt}"
    return as_xls(xlsx, out) if fmt == "xls" else as_ods(xlsx, out)


@pytest.fixture(scope="module", params=SOURCES)
def source(request) -> str:
    return request.param


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "name,columns", [("roster-longtianping.xlsx", ROSTER_COLUMNS), ("scores-2026-11.xlsx", SCORE_COLUMNS)]
)
def test_xls_and_ods_read_like_the_xlsx(source, fmt, name, columns, tmp_path):
    xlsx = sample_in(source, name)
    other = convert(xlsx, fmt, tmp_path)
    want, got = read_table(xlsx, columns), read_table(other, columns)
    assert got.header_row == want.header_row == 2
    assert got.rows == want.rows
    assert [(s.number, s.reason, s.text) for s in got.skipped] == [(s.number, s.reason, s.text) for s in want.skipped]
    assert got.columns == want.columns
    assert content_digest(got) == content_digest(want)
    # the quirks survive the conversion: text "001", Excel dates as dates, empty 数量
    first = got.rows[0].values
    if "house_number" in first:
        assert first["house_number"] == "001"
    else:
        assert type(first["date"]) is dt.date
        assert any(r.values["quantity"] is None for r in got.rows)
    # bytes and an upload name work the same
    assert read_table(other.read_bytes(), columns, filename=other.name).rows == want.rows


def _village(session) -> Village:
    v = Village(name="龙天坪村")
    session.add(v)
    session.flush()
    load_rulebook_text(session, v, sample("rules-example.yaml").read_text(encoding="utf-8"))
    return v


def _staff(session, v):
    users = []
    for name, role in (("xmh", Role.grid_worker), ("pdg", Role.reviewer)):
        u = StaffUser(username=name, role=role, village_id=v.id)
        u.set_password("correct horse 1")
        if role == Role.grid_worker:
            u.groups = list(session.execute(select(Group)).scalars())
        session.add(u)
        users.append(u)
    session.flush()
    return users


@pytest.mark.parametrize("fmt", FORMATS)
def test_xls_and_ods_import_like_the_xlsx(session, source, fmt, tmp_path):
    """Roster and score sheet from .xls/.ods: the same village, the same points (raw SQL), and the
    sheet counts as the one already imported from the .xlsx."""
    roster, scores = sample_in(source, "roster-longtianping.xlsx"), sample_in(source, "scores-2026-11.xlsx")
    v = _village(session)
    report = import_roster(session, v, read_table(convert(roster, fmt, tmp_path), ROSTER_COLUMNS))
    assert report.villagers_added == 1582
    # the .xlsx roster afterwards changes nothing: the .xls/.ods held the same people
    again = import_roster(session, v, read_table(roster, ROSTER_COLUMNS))
    assert again.changes == 0 and again.unchanged == 1582
    xmh, pdg = _staff(session, v)
    other = read_table(convert(scores, fmt, tmp_path), SCORE_COLUMNS)
    result = import_scores(session, v, other, by=xmh, approve_as=pdg)
    assert result.rows == 240 and result.posted == 240 and result.capped
    points = session.execute(text("SELECT COALESCE(SUM(points), 0), COUNT(*) FROM ledger_entries")).one()
    assert tuple(points) == (result.points, 240)
    with pytest.raises(Refused) as info:
        import_scores(session, v, read_table(scores, SCORE_COLUMNS), by=xmh)
    assert info.value.code == "already_imported"


# ------------------------------------------------------------------------------------------
# Formulas
# ------------------------------------------------------------------------------------------

HEADER = ["日期", "村民小组", "姓名", "细则编号", "数量"]


def _scores_with_formula(path: Path, formula: str = "=1+2") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["积分登记表"])
    ws.append(HEADER)
    ws.append([dt.datetime(2026, 11, 3), "第一组", "唐海娟", "ZY-02", 2])
    ws.append([dt.datetime(2026, 11, 4), "第一组", "唐海娟", "ZY-02", formula])  # row 4: a formula
    ws.append([dt.datetime(2026, 11, 5), "第一组", "唐海娟", "ZY-02", None])
    ws.append(["登记人：向明华", None, None, "=2+2"])  # formula in the footer
    wb.save(path)
    return path


def _set_cached(xlsx: Path, ref: str, value: str) -> Path:
    """Give the formula in ``ref`` a saved value, as Excel does on save (openpyxl saves none)."""
    src = zipfile.ZipFile(xlsx)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                xml, n = re.subn(
                    rf'(<c r="{ref}"[^>]*>)<f>([^<]*)</f><v\s*/?>(</v>)?', rf"\1<f>\2</f><v>{value}</v>", xml
                )
                assert n == 1, xml[:2000]
                data = xml.encode()
            out.writestr(item, data)
    xlsx.write_bytes(buf.getvalue())
    return xlsx


def test_formula_without_a_saved_value_is_refused_naming_row_and_column(tmp_path):
    path = _scores_with_formula(tmp_path / "s.xlsx")
    with pytest.raises(UnreadableCells) as info:
        read_table(path, SCORE_COLUMNS)
    (error,) = info.value.errors  # only the data row: the footer's formula is not data
    assert (error.row, error.column, error.value) == (4, "数量", "=1+2")
    assert "formula" in error.reason and "row 4, column 数量" in str(info.value)
    # callers that handle either kind of error get it
    assert isinstance(info.value, ImportErrors) and isinstance(info.value, ReadError)
    assert info.value.code == "file.unreadable_cells"


def test_formula_with_a_saved_value_gives_the_value(tmp_path):
    path = _set_cached(_scores_with_formula(tmp_path / "s.xlsx"), "E4", "3")
    table = read_table(path, SCORE_COLUMNS)
    assert [r.values["quantity"] for r in table.rows] == [2, 3, None]


def test_formula_saved_as_an_empty_string_is_an_empty_cell(tmp_path):
    path = _scores_with_formula(tmp_path / "s.xlsx", '=IF(1>2,"x","")')
    xml_fix = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" in xml_fix
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(r'<c r="E4"([^>]*)>', r'<c r="E4" t="str">', data.decode()).encode()
            out.writestr(item, data)
    path.write_bytes(buf.getvalue())
    assert [r.values["quantity"] for r in read_table(path, SCORE_COLUMNS).rows] == [2, None, None]


def test_xls_formula_without_a_value_is_refused(tmp_path):
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("11月")
    for c, h in enumerate(HEADER):
        ws.write(0, c, h)
    ws.write(1, 0, "2026-11-03")
    ws.write(1, 2, "唐海娟")
    ws.write(1, 3, "ZY-02")
    ws.write(1, 4, xlwt.Formula("1+2"))
    path = tmp_path / "s.xls"
    book.save(str(path))
    with pytest.raises(UnreadableCells) as info:
        read_table(path, SCORE_COLUMNS)
    assert [(e.row, e.column) for e in info.value.errors] == [(2, "数量")]


@pytest.mark.parametrize("cached", [False, True])
def test_ods_formula(tmp_path, cached):
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="11月")
    for cells in (HEADER, ["2026-11-03", "第一组", "唐海娟", "ZY-02", None]):
        row = TableRow()
        for value in cells:
            if value is None:
                attrs = {"formula": "of:=1+2"}
                if cached:
                    attrs |= {"valuetype": "float", "value": 3}
                cell = TableCell(**attrs)
                if cached:
                    cell.addElement(P(text="3"))
            else:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    path = tmp_path / "s.ods"
    doc.save(str(path))
    if cached:
        assert read_table(path, SCORE_COLUMNS).rows[0].values["quantity"] == 3
    else:
        with pytest.raises(UnreadableCells) as info:
            read_table(path, SCORE_COLUMNS)
        assert [(e.row, e.column, e.value) for e in info.value.errors] == [(2, "数量", "=1+2")]


def test_formula_rows_write_nothing(session, tmp_path):
    """Through the importer: the refusal comes before anything is written."""
    v = _village(session)
    import_roster(session, v, read_table(sample("roster-longtianping.xlsx"), ROSTER_COLUMNS))
    xmh, _pdg = _staff(session, v)
    before = session.execute(select(func.count()).select_from(text("submissions"))).scalar_one()
    with pytest.raises(ImportErrors):
        import_scores(session, v, read_table(_scores_with_formula(tmp_path / "s.xlsx"), SCORE_COLUMNS), by=xmh)
    assert session.execute(select(func.count()).select_from(text("submissions"))).scalar_one() == before == 0


# ------------------------------------------------------------------------------------------
# Renamed files and odd workbooks
# ------------------------------------------------------------------------------------------


def test_an_xls_renamed_to_xlsx_is_read_by_its_content(tmp_path):
    xls = convert(sample("scores-2026-11.xlsx"), "xls", tmp_path)
    renamed = tmp_path / "scores.xlsx"
    renamed.write_bytes(xls.read_bytes())
    assert read_table(renamed, SCORE_COLUMNS).rows == read_table(sample("scores-2026-11.xlsx"), SCORE_COLUMNS).rows


def test_a_text_na_is_a_name_not_a_missing_value(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["村民小组", "户号", "户主", "姓名", "备注"])
    ws.append(["第一组", 1, "NA", "NA", "None"])
    ws.append(["第一组", 1, "NA", "#N/A", "null"])
    ws["D3"].data_type = "s"  # typed as text, not Excel's error value
    wb.save(tmp_path / "r.xlsx")
    table = read_table(tmp_path / "r.xlsx", ROSTER_COLUMNS)
    assert [(r.values["name"], r.values["note"]) for r in table.rows] == [("NA", "None"), ("#N/A", "null")]


def test_an_error_value_in_a_data_cell_is_refused(tmp_path):
    path = _scores_with_formula(tmp_path / "s.xlsx", "#DIV/0!")  # openpyxl stores it as an error value
    with pytest.raises(UnreadableCells) as info:
        read_table(path, SCORE_COLUMNS)
    assert [(e.row, e.column, e.value) for e in info.value.errors] == [(4, "数量", "#DIV/0!")]
    assert "error value" in info.value.errors[0].reason


def test_a_zip_that_is_not_a_workbook(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ReadError, match=r"r\.ods: not a valid \.ods file") as info:
        read_table(buf.getvalue(), ROSTER_COLUMNS, filename="r.ods")
    assert info.value.code == "file.bad_xlsx"


# ------------------------------------------------------------------------------------------
# Signature footers under a roster
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "footer",
    [
        [["制表人：张三", None, "审核：李四", None, "2026年1月5日"]],
        [["制表：张三", "审核：李四"]],
        [["制表人 张三", None, "审核人 李四"]],
        [["制表人：村委会"], ["2026年1月5日"]],
        [["制表人：村委会", None, None, None, dt.datetime(2026, 1, 5)]],
        [["村委会（盖章）", None, None, "2026-01-05"]],
    ],
)
def test_roster_signature_footers_are_skipped(session, tmp_path, footer):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["村民小组", "户号", "户主姓名", "姓名", "备注"])
    ws.append(["第一组", 1, "张三", "张三", None])
    ws.append(["第一组", 1, "张三", "王 五", "审核人：李四"])  # data, though a cell looks like a signature
    ws.append([])
    for row in footer:
        ws.append(row)
    wb.save(tmp_path / "r.xlsx")
    table = read_table(tmp_path / "r.xlsx", ROSTER_COLUMNS)
    assert [r.number for r in table.rows] == [2, 3]
    assert [(s.number, s.reason) for s in table.skipped] == [(4, "empty")] + [
        (5 + i, "footer") for i in range(len(footer))
    ]
    v = Village(name="新村")
    session.add(v)
    session.flush()
    report = import_roster(session, v, table)
    assert report.villagers_added == 2
