"""Spreadsheet size limits are checked before any reader builds the sheet (issue: a 4.9 KB .xlsx with cells
XFD1 and A2000 took the roster preview from 133 MB to 657 MB, and A200000 ended in MemoryError).

Each refusal names the far cells, happens without pandas/calamine being called, and (measured in a child
process) costs no more memory than reading a normal roster.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pointsapp.points.imports import reader
from pointsapp.points.imports.reader import MAX_CELLS, MAX_COLUMNS, MAX_ROWS, ReadError, read_table
from pointsapp.points.imports.roster import ROSTER_COLUMNS
from pointsapp.points.imports.sheetscan import MAX_PART_BYTES
from tests.samples import sample

REPO = Path(__file__).resolve().parents[2]


def far_xlsx(path: Path, last_row: int, far_column: str = "XFD") -> Path:
    """The attack file: a roster header, one cell far right and one far down."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["村民小组", "户号", "户主姓名", "姓名"])
    ws[f"{far_column}1"] = "x"
    ws[f"A{last_row}"] = "y"
    wb.save(path)
    return path


@pytest.fixture
def no_reader(monkeypatch):
    """Fail the test if the file reaches pandas (and so calamine)."""
    import pandas

    def refuse(*args, **kwargs):
        raise AssertionError("pandas.read_excel was called for a file over the limits")

    monkeypatch.setattr(pandas, "read_excel", refuse)


@pytest.mark.parametrize("last_row", [2000, 200_000])
def test_far_cells_in_an_xlsx_are_refused_before_reading(tmp_path, no_reader, last_row):
    path = far_xlsx(tmp_path / "roster.xlsx", last_row)
    assert path.stat().st_size < 6000  # a few KB on disk
    with pytest.raises(ReadError) as info:
        read_table(path, ROSTER_COLUMNS)
    err = info.value
    assert err.code == "file.too_large"
    assert err.params["rows"] == last_row and err.params["columns"] == 16384
    assert "cell XFD1" in str(err) and f"cell A{last_row}" in str(err) and "roster.xlsx" in str(err)


def test_declared_dimension_is_not_trusted(tmp_path, no_reader):
    """A file may declare A1:B2 and hold XFD1; the cells themselves are measured."""
    path = far_xlsx(tmp_path / "r.xlsx", 3)
    raw = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(raw, "w") as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:XFD3"/>', b'<dimension ref="A1:B2"/>')
            out.writestr(item, data)
    with pytest.raises(ReadError, match="cell XFD1"):
        read_table(raw.getvalue(), ROSTER_COLUMNS, filename="r.xlsx")


def test_far_cells_in_an_xls_are_refused(tmp_path, no_reader):
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("花名册")
    for c, h in enumerate(["村民小组", "户号", "户主姓名", "姓名"]):
        ws.write(0, c, h)
    ws.write(0, 255, "x")  # IV1, the last .xls column
    ws.write(65535, 0, "y")  # A65536, the last .xls row
    path = tmp_path / "roster.xls"
    book.save(str(path))
    with pytest.raises(ReadError, match=r"cell IV1.*cell A65536|cell A65536.*cell IV1") as info:
        read_table(path, ROSTER_COLUMNS)
    assert info.value.params["rows"] * info.value.params["columns"] > MAX_CELLS


def test_repeated_rows_in_an_ods_are_counted(tmp_path, no_reader):
    """ODS can say "this row, 200,000 times" in a few bytes; a value after it makes them real rows."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="花名册">'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>村民小组</text:p></table:table-cell>'
        '<table:table-cell table:number-columns-repeated="300" office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row>"
        '<table:table-row table:number-rows-repeated="200000"><table:table-cell/></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>y</text:p></table:table-cell>'
        "</table:table-row>"
        # what LibreOffice writes after every sheet: empty rows and cells to the end; never counted
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
    with pytest.raises(ReadError) as info:
        read_table(buf.getvalue(), ROSTER_COLUMNS, filename="roster.ods")
    assert info.value.params["rows"] == 200_002 and info.value.params["columns"] == 301


def test_a_wide_csv_line_is_refused_before_padding(tmp_path):
    path = tmp_path / "roster.csv"
    lines = ["村民小组,户号,户主姓名,姓名", "," * (MAX_COLUMNS + 10)] + ["第一组,1,张三,张三"] * 5000
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ReadError) as info:
        read_table(path, ROSTER_COLUMNS)
    assert info.value.code == "file.too_large" and info.value.params["columns"] == MAX_COLUMNS + 11


def test_too_many_csv_lines_are_refused(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("村民小组,户号,户主姓名,姓名\n" + "第一组,1,张三,张三\n" * (MAX_ROWS + 1), encoding="utf-8")
    with pytest.raises(ReadError) as info:
        read_table(path, ROSTER_COLUMNS)
    assert info.value.code == "file.too_large" and info.value.params["rows"] > MAX_ROWS


def test_a_sheet_that_unpacks_to_too_much_is_refused(tmp_path, no_reader):
    """A zip bomb: the sheet part's unpacked size is checked before it is parsed."""
    path = far_xlsx(tmp_path / "r.xlsx", 2, far_column="D")
    out = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                with dst.open(item.filename, "w", force_zip64=True) as part:
                    part.write(data.replace(b"</worksheet>", b""))
                    chunk = b" " * (1 << 20)
                    for _ in range(MAX_PART_BYTES // len(chunk) + 1):
                        part.write(chunk)
                    part.write(b"</worksheet>")
                continue
            dst.writestr(item, data)
    assert out.stat().st_size < MAX_PART_BYTES // 100
    with pytest.raises(ReadError, match="unpacks to"):
        read_table(out, ROSTER_COLUMNS)


def test_limits_leave_a_real_roster_alone():
    table = read_table(sample("roster-longtianping.xlsx"), ROSTER_COLUMNS)
    assert len(table.rows) == 1582
    assert reader.MAX_ROWS >= 50 * 1586 and reader.MAX_COLUMNS >= 11


CHILD = """
import json, resource, sys
import pandas, python_calamine  # imported up front: measure the read, not the imports
from pointsapp.points.imports.reader import ReadError, read_table
from pointsapp.points.imports.roster import ROSTER_COLUMNS
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_table(sys.argv[1], ROSTER_COLUMNS)
    outcome = "read"
except ReadError as exc:
    outcome = exc.code
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "grew_mb": (after - before) / 1024, "peak_mb": after / 1024}))
"""


def test_refusal_costs_no_memory(tmp_path):
    """In a child process (the parent's memory high-water mark would hide it): refusing the 200,000-row
    attack file grows the peak by less than 20 MB (calamine would have built a 200,000 x 16,384 grid:
    about 100 GB); the real roster still reads."""

    def run(path: Path) -> dict:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], cwd=REPO, capture_output=True, text=True, timeout=300, check=True
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])

    attack = run(far_xlsx(tmp_path / "roster.xlsx", 200_000))
    normal = run(sample("roster-longtianping.xlsx"))
    print(f"\nattack file: {attack}; real roster: {normal}")
    assert attack["outcome"] == "file.too_large" and normal["outcome"] == "read"
    assert attack["grew_mb"] < 20


def test_the_roster_preview_says_the_sheet_is_too_large(app, client, app_world, tmp_path):
    from tests.conftest import login

    assert login(client, "admin1").status_code == 302
    data = far_xlsx(tmp_path / "roster.xlsx", 200_000).read_bytes()
    resp = client.post(
        "/admin/roster", data={"file": (io.BytesIO(data), "roster.xlsx")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = client.get(resp.location)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "XFD1" in body and "A200000" in body and 'id="confirm"' not in body
