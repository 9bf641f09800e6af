"""The table reader against the village sample files (generated, and the shared ones when present)
and CSVs written from them."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pointsapp.points.imports.reader import (
    Column,
    ReadError,
    SheetRow,
    Table,
    read_table,
)
from pointsapp.points.imports.values import (
    as_text,
    content_digest,
    normalize_phone,
    parse_date,
    parse_quantity,
    parse_year_month,
)
from tests.samples import SOURCES, sample_in

ROSTER = (
    Column("seq", ("序号",), required=False),
    Column("group", ("村民小组", "组别")),
    Column("household_no", ("户号",), required=False),
    Column("head_name", ("户主姓名", "户主")),
    Column("name", ("姓名",)),
    Column("relation", ("与户主关系",), required=False),
    Column("gender", ("性别",), required=False),
    Column("birth", ("出生年月",), required=False),
    Column("phone", ("联系电话", "电话", "手机号"), required=False),
    Column("door_no", ("门牌号",), required=False),
    Column("note", ("备注",), required=False),
)

SCORES = (
    Column("date", ("日期",)),
    Column("group", ("村民小组", "组别"), required=False),
    Column("name", ("姓名",)),
    Column("code", ("细则编号",)),
    Column("item", ("积分项目",), required=False),
    Column("quantity", ("数量",), required=False),
    Column("recorder", ("记录人",), required=False),
    Column("note", ("备注",), required=False),
)


@pytest.fixture(scope="module", params=SOURCES)
def roster_path(request) -> Path:
    return sample_in(request.param, "roster-longtianping.xlsx")


@pytest.fixture(scope="module", params=SOURCES)
def scores_path(request) -> Path:
    return sample_in(request.param, "scores-2026-11.xlsx")


@pytest.fixture(scope="module")
def roster(roster_path) -> Table:
    return read_table(roster_path, ROSTER)


@pytest.fixture(scope="module")
def scores(scores_path) -> Table:
    return read_table(scores_path, SCORES)


def excel_rows(path: Path) -> list[list[object]]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    width = max(len(r) for r in rows)
    return [r + [None] * (width - len(r)) for r in rows]


def excel_style_cell(value: object) -> str:
    """How Chinese Excel writes a cell to CSV: dates as yyyy/m/d, numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value.year}/{value.month}/{value.day}"
    return str(value)


def write_csv(path: Path, rows: list[list[object]], encoding: str) -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([[excel_style_cell(v) for v in r] for r in rows])
    return path


# ------------------------------------------------------------------------------------------
# The shared samples
# ------------------------------------------------------------------------------------------


def test_roster_sample(roster):
    assert roster.header_row == 2
    assert len(roster.rows) == 1582
    assert roster.encoding is None
    assert roster.rows[0].number == 3 and roster.rows[-1].number == 1584
    assert [(s.number, s.reason) for s in roster.skipped] == [(1, "title"), (1585, "empty"), (1586, "footer")]
    assert roster.skipped[0].text == "龙天坪村村民花名册（2026年）"
    assert roster.skipped[2].text.startswith("制表人：村委会")
    assert roster.columns["head_name"] == "户主姓名"
    assert roster.columns["phone"] == "联系电话"
    assert len({r.values["household_no"] for r in roster.rows}) == 529
    assert len({r.values["group"] for r in roster.rows}) == 10


def test_roster_values_are_plain_and_text_keeps_leading_zeros(roster):
    first = roster.rows[0].values
    assert first["door_no"] == "001"
    assert first["seq"] == 1 and type(first["seq"]) is int
    assert first["note"] is None
    phones = [r.values["phone"] for r in roster.rows]
    assert any(isinstance(p, int) for p in phones)  # typed as a number in Excel
    assert any(isinstance(p, str) and " " in p for p in phones)  # "138 0000 1234"
    assert any(p is None for p in phones)
    for row in roster.rows:
        for value in row.values.values():
            assert value is None or type(value) in (str, int, float, dt.date, dt.datetime)
    assert all(isinstance(r.values["door_no"], str) and len(r.values["door_no"]) == 3 for r in roster.rows)


def test_roster_rare_characters_survive(roster):
    names = {r.values["name"] for r in roster.rows}
    assert any("䶮" in n for n in names)
    assert any("𠮷" in n for n in names)  # outside the BMP


def test_roster_cells_all_normalise(roster):
    shapes = set()
    for row in roster.rows:
        normalize_phone(row.values["phone"])
        year, month = parse_year_month(row.values["birth"])
        assert 1900 <= year <= 2100 and 1 <= month <= 12
        text = row.values["birth"]
        shapes.add("年" if "年" in text else "." if "." in text else "-")
    assert shapes == {"年", ".", "-"}  # three ways of writing 出生年月


def test_scores_sample(scores):
    assert scores.header_row == 2
    assert len(scores.rows) == 240
    assert [(s.number, s.reason) for s in scores.skipped] == [(1, "title"), (243, "empty"), (244, "footer")]
    assert "登记人：向明华" in scores.skipped[2].text and "审核人：彭德高" in scores.skipped[2].text
    dates = [r.values["date"] for r in scores.rows]
    assert all(type(d) is dt.date for d in dates)  # Excel dates at midnight become plain dates
    assert {parse_date(d).month for d in dates} == {11}
    quantities = [parse_quantity(r.values["quantity"]) for r in scores.rows]
    assert sum(1 for r in scores.rows if r.values["quantity"] is None) > 0
    assert all(q >= 1 for q in quantities)


def test_bytes_input_matches_path_input(roster, roster_path):
    data = roster_path.read_bytes()
    table = read_table(data, ROSTER, filename="花名册.xlsx")
    assert table.rows == roster.rows
    assert content_digest(table) == content_digest(roster)


# ------------------------------------------------------------------------------------------
# CSV: encodings, same data as the Excel files
# ------------------------------------------------------------------------------------------


def test_gbk_csv_reads_like_the_xlsx(tmp_path, scores, scores_path):
    path = write_csv(tmp_path / "scores.csv", excel_rows(scores_path), "gbk")
    table = read_table(path, SCORES)
    assert table.encoding == "gb18030"
    assert table.header_row == 2 and len(table.rows) == 240
    assert [(s.number, s.reason) for s in table.skipped] == [(1, "title"), (243, "empty"), (244, "footer")]
    assert parse_date(table.rows[0].values["date"]) == scores.rows[0].values["date"]
    assert content_digest(table) == content_digest(scores)


def test_gbk_roster_csv_without_rare_characters(tmp_path, roster, roster_path):
    # GBK cannot hold 䶮 or 𠮷: Excel's "CSV" export loses them. Leave those two people out.
    rows = [r for r in excel_rows(roster_path) if not any(isinstance(v, str) and ("䶮" in v or "𠮷" in v) for v in r)]
    table = read_table(write_csv(tmp_path / "roster.csv", rows, "gbk"), ROSTER)
    assert table.encoding == "gb18030"
    assert len(table.rows) == 1580
    assert table.rows[0].values["door_no"] == "001"
    assert table.rows[0].values["phone"] == "17218316233"  # CSV cells are text
    kept = [r for r in roster.rows if "䶮" not in r.values["name"] and "𠮷" not in r.values["name"]]
    expected = Table(rows=kept, header_row=2, columns={}, skipped=[], encoding=None)
    assert content_digest(table) == content_digest(expected)


def test_gb18030_and_utf8_bom_csv_read_like_the_xlsx(tmp_path, roster, roster_path):
    rows = excel_rows(roster_path)
    gb = read_table(write_csv(tmp_path / "gb.csv", rows, "gb18030"), ROSTER)
    assert gb.encoding == "gb18030"
    # UTF-8 with BOM written by pandas (its own number and date formatting)
    df = pd.read_excel(roster_path, header=None, dtype=object, engine="openpyxl")
    df.to_csv(tmp_path / "bom.csv", header=False, index=False, encoding="utf-8-sig")
    bom = read_table(tmp_path / "bom.csv", ROSTER)
    assert bom.encoding == "utf-8-sig"
    for table in (gb, bom):
        assert table.header_row == 2 and len(table.rows) == 1582
        assert [(s.number, s.reason) for s in table.skipped] == [(1, "title"), (1585, "empty"), (1586, "footer")]
        assert [r.number for r in table.rows] == [r.number for r in roster.rows]
        names = {r.values["name"] for r in table.rows}
        assert any("䶮" in n for n in names) and any("𠮷" in n for n in names)
        assert all(r.values["door_no"] == x.values["door_no"] for r, x in zip(table.rows, roster.rows))
        assert content_digest(table) == content_digest(roster)


def test_pandas_scores_csv_utf8(tmp_path, scores, scores_path):
    df = pd.read_excel(scores_path, header=None, dtype=object, engine="openpyxl")
    df.to_csv(tmp_path / "s.csv", header=False, index=False)  # dates as "2026-11-17 00:00:00"
    table = read_table((tmp_path / "s.csv").read_bytes(), SCORES, filename="s.csv")
    assert table.encoding == "utf-8"
    assert [parse_date(r.values["date"]) for r in table.rows] == [r.values["date"] for r in scores.rows]
    assert content_digest(table) == content_digest(scores)


def test_digest_changes_with_the_data(tmp_path, scores, scores_path):
    rows = excel_rows(scores_path)
    rows[2][2] = "某某某"
    changed = read_table(write_csv(tmp_path / "x.csv", rows, "utf-8"), SCORES)
    assert content_digest(changed) != content_digest(scores)
    assert len(content_digest(scores)) == 64


def test_csv_line_numbers_with_a_multiline_cell(tmp_path):
    text = '日期,姓名,细则编号,备注\n2026-11-05,张三,ZY-01,"两行\n备注"\n2026-11-06,李四,ZY-02,\n'
    (tmp_path / "m.csv").write_text(text, encoding="utf-8")
    table = read_table(tmp_path / "m.csv", SCORES)
    assert [r.number for r in table.rows] == [2, 4]
    assert table.rows[0].values["note"] == "两行\n备注"


def test_csv_excel_text_trick_and_padding(tmp_path):
    (tmp_path / "t.csv").write_text('组别,户主,姓名,门牌号\n第一组,张三,张三,="001"\n第一组,张三\n', encoding="utf-8")
    table = read_table(tmp_path / "t.csv", ROSTER)
    assert table.rows[0].values["door_no"] == "001"
    assert table.rows[1].values["name"] is None  # short line: the caller reports the missing name


# ------------------------------------------------------------------------------------------
# Header spellings, missing columns, file types
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "group,head,phone",
    [
        ("组别", "户主", "电话"),
        ("村民小组", "户主姓名", "手机号"),
        ("组　别", " 户主：", "联系电话:"),  # full-width space, trailing colons
    ],
)
def test_header_spellings(tmp_path, group, head, phone):
    path = tmp_path / "h.csv"
    path.write_text(f"花名册\n\n{group},{head},姓名,{phone}\n第一组,张三,张三,138-0000-1234\n", encoding="utf-8")
    table = read_table(path, ROSTER)
    assert table.header_row == 3
    assert table.columns == {"group": group.strip(), "head_name": head.strip(), "name": "姓名", "phone": phone.strip()}
    assert [(s.number, s.reason) for s in table.skipped] == [(1, "title"), (2, "empty")]
    row = table.rows[0]
    assert row.number == 4
    assert row.values["group"] == "第一组" and row.values["head_name"] == "张三"
    assert row.values["door_no"] is None  # optional column absent -> None
    assert normalize_phone(row.values["phone"]) == "13800001234"


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "花名册.csv"
    path.write_text("组别,户主,电话\n第一组,张三,13800001234\n", encoding="utf-8")
    with pytest.raises(ReadError) as err:
        read_table(path, ROSTER)
    assert "花名册.csv" in str(err.value)
    assert "姓名" in str(err.value)
    assert "户主姓名" not in str(err.value)


def test_missing_columns_in_the_real_scores_file(scores_path):
    with pytest.raises(ReadError) as err:
        read_table(scores_path, ROSTER)
    message = str(err.value)
    assert "scores-2026-11.xlsx" in message and "户主姓名" in message


def test_header_must_be_in_the_first_20_rows(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("\n" * 20 + "日期,姓名,细则编号\n2026-11-05,张三,ZY-01\n", encoding="utf-8")
    with pytest.raises(ReadError, match="日期"):
        read_table(path, SCORES)


@pytest.mark.parametrize(
    "data,filename,match",
    [
        (b"x", "scores.txt", "unsupported file type"),
        (b"x", "scores", "unsupported file type"),
        (b"\xd0\xcf\x11\xe0rest", "scores.xls", r"\.xls"),
        (b"\xd0\xcf\x11\xe0rest", "scores.xlsx", r"\.xls"),
        (b"not a zip", "scores.xlsx", "not a valid .xlsx"),
        (b"", "scores.csv", "no data"),
        (b"x", None, "file name"),
    ],
)
def test_bad_files(data, filename, match):
    with pytest.raises(ReadError, match=match) as err:
        read_table(data, SCORES, filename=filename)
    if filename:
        assert filename in str(err.value)


def test_missing_path(tmp_path):
    with pytest.raises(ReadError, match="not found"):
        read_table(tmp_path / "nope.xlsx", SCORES)


# ------------------------------------------------------------------------------------------
# Footers and empty rows
# ------------------------------------------------------------------------------------------


def test_footer_only_at_the_end(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["日期", "姓名", "细则编号", "数量", "备注"])
    ws.append([dt.datetime(2026, 11, 5), "张三", "ZY-01", 2, "审核人：李四"])  # data, though it has a colon
    ws.append([None, None, None, None, None])
    ws.append([dt.datetime(2026, 11, 6, 14, 30), "王五", "ZY-01", None, None])
    ws.append(["合计", None, None, 3, None])
    ws.append([])
    ws.append(["制表人 村委会"])
    ws.append(["登记人：向明华", None, "审核人：彭德高", None, "2026年11月30日"])
    ws.append([None])
    path = tmp_path / "f.xlsx"
    wb.save(path)
    table = read_table(path, SCORES)
    assert [r.number for r in table.rows] == [2, 4]
    assert table.rows[1].values["date"] == dt.datetime(2026, 11, 6, 14, 30)
    assert [(s.number, s.reason) for s in table.skipped] == [
        (3, "empty"),
        (5, "footer"),
        (6, "empty"),
        (7, "footer"),
        (8, "footer"),
    ]


def test_row_with_errors_is_still_a_data_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["日期", "姓名", "细则编号"])
    ws.append(["明天", None, "??"])
    ws.append([None, "张三", None])
    path = tmp_path / "e.xlsx"
    wb.save(path)
    table = read_table(path, SCORES)
    assert [r.number for r in table.rows] == [2, 3]
    assert table.rows[0].values["date"] == "明天"


def test_row_with_only_unrecognised_columns_is_empty(tmp_path):
    (tmp_path / "s.csv").write_text("序号,日期,姓名,细则编号\n1,2026-11-05,张三,ZY-01\n2,,,\n3,,,\n", encoding="utf-8")
    table = read_table(tmp_path / "s.csv", [c for c in SCORES if c.key != "seq"])
    assert len(table.rows) == 1
    assert [(s.number, s.reason, s.text) for s in table.skipped] == [(3, "empty", "2"), (4, "empty", "3")]


# ------------------------------------------------------------------------------------------
# Normalisers
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, None),
        ("", None),
        ("　 ", None),
        (123, "123"),
        (123.0, "123"),
        ("001", "001"),
        ("　张三 ", "张三"),
        (1958.05, "1958.05"),
        (dt.date(2026, 11, 5), "2026-11-05"),
        (dt.datetime(2026, 11, 5, 0, 0), "2026-11-05"),
        (dt.datetime(2026, 11, 5, 8, 30), "2026-11-05 08:30:00"),
    ],
)
def test_as_text(value, expected):
    assert as_text(value) == expected


def test_as_text_rejects_nan():
    with pytest.raises(ValueError, match="inf"):
        as_text(float("inf"))


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, None),
        ("", None),
        (" ", None),
        (13800001234, "13800001234"),
        (13800001234.0, "13800001234"),
        ("13800001234.0", "13800001234"),
        ("138 0000 1234", "13800001234"),
        ("138-0000-1234", "13800001234"),
        ("+86 138 0000 1234", "13800001234"),
        ("86-138-0000-1234", "13800001234"),
        ("+8613800001234", "13800001234"),
        ("008613800001234", "13800001234"),
        ("１３８００００１２３４", "13800001234"),
        ("(138)0000-1234", "13800001234"),
        ("0743-1234567", "0743-1234567"),
        ("0743 1234567", "0743-1234567"),
        ("07431234567", "0743-1234567"),
        ("(0743)1234567", "0743-1234567"),
        ("010-12345678", "010-12345678"),
        ("+86 10 1234 5678", "010-12345678"),
    ],
)
def test_normalize_phone_accepts(value, expected):
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "138abc01234",
        "1380000123",
        "138000012345",
        "1.38000012E+10",
        1.5e10 + 0.5,
        "+1 415 555 0100",
        "0743-123",
        "0743-01234567",
        "12345",
        "138 0000 1234 / 139 0000 1234",
        "电话",
        True,
        -13800001234,
    ],
)
def test_normalize_phone_rejects(value):
    with pytest.raises(ValueError) as err:
        normalize_phone(value)
    assert str(value) in str(err.value) or repr(value) in str(err.value)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("1958.05", (1958, 5)),
        ("1958.5", (1958, 5)),
        ("1958.10", (1958, 10)),
        ("1958.1", (1958, 1)),
        (1958.05, (1958, 5)),
        (1958.1, (1958, 10)),
        (1958.12, (1958, 12)),
        (1958.5, (1958, 5)),
        ("1958年5月", (1958, 5)),
        ("1958年05月", (1958, 5)),
        ("1958 年 5 月", (1958, 5)),
        ("1958-05", (1958, 5)),
        ("1958/5", (1958, 5)),
        ("195805", (1958, 5)),
        (195805, (1958, 5)),
        ("1958-05-12", (1958, 5)),
        ("1958年5月12日", (1958, 5)),
        (dt.date(1958, 5, 12), (1958, 5)),
        (dt.datetime(1958, 5, 1), (1958, 5)),
        ("１９５８．０５", (1958, 5)),
        (None, None),
        ("", None),
    ],
)
def test_parse_year_month_accepts(value, expected):
    assert parse_year_month(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "1958",
        1958,
        1958.0,
        "1958.13",
        "1958-00",
        "1958年13月",
        "195813",
        "1858.05",
        "2158.05",
        "五八年五月",
        "1958.05.32",
        "May 1958",
        1958.13,
        True,
    ],
)
def test_parse_year_month_rejects(value):
    with pytest.raises(ValueError) as err:
        parse_year_month(value)
    assert repr(value) in str(err.value)


@pytest.mark.parametrize(
    "value,expected",
    [
        (dt.date(2026, 11, 5), dt.date(2026, 11, 5)),
        (dt.datetime(2026, 11, 5, 9, 30), dt.date(2026, 11, 5)),
        ("2026-11-05", dt.date(2026, 11, 5)),
        ("2026/11/5", dt.date(2026, 11, 5)),
        ("2026.11.5", dt.date(2026, 11, 5)),
        ("2026年11月5日", dt.date(2026, 11, 5)),
        ("2026年11月5号", dt.date(2026, 11, 5)),
        ("2026-11-05 00:00:00", dt.date(2026, 11, 5)),
        ("20261105", dt.date(2026, 11, 5)),
        (46331, dt.date(2026, 11, 5)),
        (46331.75, dt.date(2026, 11, 5)),
        ("46331", dt.date(2026, 11, 5)),
        (pd.Timestamp("2026-11-05"), dt.date(2026, 11, 5)),
    ],
)
def test_parse_date_accepts(value, expected):
    result = parse_date(value)
    assert result == expected and type(result) is dt.date


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "明天",
        "2026-13-01",
        "2026-02-30",
        "2026/11",
        "11/05/2026",
        19999,
        80001,
        "1850-01-01",
        True,
    ],
)
def test_parse_date_rejects(value):
    with pytest.raises(ValueError) as err:
        parse_date(value)
    if value not in (None, ""):
        assert repr(value) in str(err.value)


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, 1),
        ("", 1),
        (" ", 1),
        (1, 1),
        (3, 3),
        ("3", 3),
        (" 3 ", 3),
        (3.0, 3),
        ("3.0", 3),
        ("３", 3),
    ],
)
def test_parse_quantity_accepts(value, expected):
    assert parse_quantity(value) == expected


@pytest.mark.parametrize("value", [0, -1, "0", "-2", 1.5, "1.5", "三", "3小时", "abc", True])
def test_parse_quantity_rejects(value):
    with pytest.raises(ValueError) as err:
        parse_quantity(value)
    assert repr(value) in str(err.value)


def test_sheet_row_is_frozen():
    row = SheetRow(number=3, values={"name": "张三"})
    with pytest.raises(AttributeError):
        row.number = 4  # type: ignore[misc]
