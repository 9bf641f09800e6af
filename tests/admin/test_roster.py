"""Roster import in the browser (upload → dry-run preview → confirm) and the export round trip."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from pointsapp.extensions import db
from pointsapp.points.audit import AuditEvent
from pointsapp.points.imports.reader import read_table
from pointsapp.points.imports.roster import ROSTER_COLUMNS, import_roster
from pointsapp.points.registry import Household, Role, StaffUser, Village, Villager
from tests.conftest import login
from tests.samples import sample

HEADER = [
    "序号",
    "村民小组",
    "户号",
    "户主姓名",
    "姓名",
    "与户主关系",
    "性别",
    "出生年月",
    "联系电话",
    "门牌号",
    "备注",
]


def text(resp):
    return resp.get_data(as_text=True)


def xlsx(rows, title="测试村村民花名册") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([title])
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


GOOD = [
    [1, "第一组", "1", "张三", "张三", "户主", "男", "1960-05", "13800001234", "001", None],
    [2, "第一组", "1", "张三", "李四", "配偶", "女", "1962年3月", None, "001", None],
    [3, "第二组", "2", "王五", "王五", "户主", "男", "1970.01", "139 0000 5678", "002", None],
]


@pytest.fixture
def fresh(app):
    """An empty village and its admin (the roster fills it)."""
    with app.app_context():
        v = Village(name="新村")
        db.session.add(v)
        db.session.flush()
        u = StaffUser(username="fresh-admin", role=Role.admin, village_id=v.id)
        u.set_password("correct horse 1")
        db.session.add(u)
        db.session.commit()
        return {"village": v.id, "user": u.id}


@pytest.fixture
def fresh_admin(client, fresh):
    login(client, fresh["user"])
    return client


def upload(client, data: bytes, name="roster.xlsx"):
    return client.post("/admin/roster", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def counts(app, village_id):
    with app.app_context():
        return (
            db.session.execute(select(func.count(Household.id)).where(Household.village_id == village_id)).scalar(),
            db.session.execute(select(func.count(Villager.id)).where(Villager.village_id == village_id)).scalar(),
        )


def test_roster_page(admin):
    page = text(admin.get("/admin/roster"))
    assert "花名册" in page and "/admin/roster/export.xlsx" in page


def test_upload_preview_confirm(fresh_admin, fresh, app):
    resp = upload(fresh_admin, xlsx(GOOD))
    assert resp.status_code == 302 and "/admin/roster/preview/" in resp.location
    page = text(fresh_admin.get(resp.location))
    assert "新增农户" in page and "张三" in page and 'id="confirm"' in page
    assert counts(app, fresh["village"]) == (0, 0)  # the dry run wrote nothing
    token = resp.location.rsplit("/", 1)[1]
    stored = list(
        (app.instance_path and __import__("pathlib").Path(app.instance_path) / "uploads" / "imports").glob(f"{token}.*")
    )
    assert {p.suffix for p in stored} == {".xlsx", ".json"}
    done = fresh_admin.post(f"/admin/roster/confirm/{token}")
    assert done.status_code == 302
    assert counts(app, fresh["village"]) == (2, 3)
    assert not list((__import__("pathlib").Path(app.instance_path) / "uploads" / "imports").glob(f"{token}.*"))
    with app.app_context():
        ev = db.session.execute(select(AuditEvent).where(AuditEvent.action == "import.roster")).scalar_one()
        assert ev.ip == "127.0.0.1" and ev.actor_id == fresh["user"]
        h = db.session.execute(select(Household).where(Household.number == "1")).scalar_one()
        assert h.head.name == "张三" and h.house_number == "001"
    # The token is single-use.
    again = fresh_admin.post(f"/admin/roster/confirm/{token}", follow_redirects=True)
    assert "过期" in text(again)
    # The same file again: every row unchanged.
    resp = upload(fresh_admin, xlsx(GOOD))
    page = text(fresh_admin.get(resp.location))
    assert page.count("无变化") >= 3


def test_bad_row_is_listed_and_nothing_is_written(fresh_admin, fresh, app):
    rows = [list(r) for r in GOOD]
    rows[1][6] = "X"  # row 4 in Excel: bad sex
    rows[2][4] = None  # row 5: empty name
    resp = upload(fresh_admin, xlsx(rows))
    page = text(fresh_admin.get(resp.location))
    assert 'id="errors"' in page and 'id="confirm"' not in page
    assert '<td class="num">4</td><td>性别</td><td>X</td><td>须为“男”或“女”</td>' in page
    assert '<td class="num">5</td><td>姓名</td>' in page
    token = resp.location.rsplit("/", 1)[1]
    done = fresh_admin.post(f"/admin/roster/confirm/{token}", follow_redirects=True)
    assert "未导入任何内容" in text(done)
    assert counts(app, fresh["village"]) == (0, 0)


def test_non_spreadsheet_uploads_get_a_clear_message(admin):
    resp = upload(admin, b"hello", "roster.txt")
    assert resp.status_code == 400 and "只能导入" in text(resp)


@pytest.mark.parametrize(
    "data,name",
    [
        (b"not a zip file at all", "roster.xlsx"),
        (b"\xd0\xcf\x11\xe0 old excel", "roster.xls"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "roster.xls"),
        (b"PK\x03\x04 broken", "roster.ods"),
    ],
)
def test_broken_workbooks_are_named_in_the_preview(admin, data, name):
    """.xls and .ods are accepted uploads; a damaged one is reported in Chinese, nothing to confirm."""
    resp = upload(admin, data, name)
    assert resp.status_code == 302
    page = text(admin.get(resp.location))
    assert f"{name}：不是有效的 Excel 或 OpenDocument 表格文件" in page and 'id="confirm"' not in page


def test_missing_file_and_oversized_file(admin):
    resp = admin.post("/admin/roster", data={}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "请选择文件" in text(resp)
    big = b"PK" + b"0" * (5 * 1024 * 1024 + 10)
    resp = upload(admin, big)
    assert resp.status_code == 400 and "MB" in text(resp)
    huge = b"PK" + b"0" * (9 * 1024 * 1024)  # beyond the app's request limit
    resp = upload(admin, huge)
    assert resp.status_code == 413 and "文件" in text(resp)


def test_unreadable_csv_and_missing_columns_show_the_reason(admin, app_world, app):
    resp = upload(admin, "姓名,电话\n张三,1\n".encode(), "roster.csv")
    page = text(admin.get(resp.location))
    assert "无法读取文件" in page and "缺少列 村民小组" in page
    resp = upload(admin, b"\xff\xfe\x00garbage\x81\x82", "roster.csv")
    assert admin.get(resp.location).status_code == 200


def test_tokens_are_checked(admin, app_world, client, fresh):
    assert "过期" in text(admin.get("/admin/roster/preview/not-a-token", follow_redirects=True))
    assert "过期" in text(admin.get("/admin/roster/preview/" + "A" * 32, follow_redirects=True))
    resp = upload(admin, xlsx(GOOD))
    token = resp.location.rsplit("/", 1)[1]
    # Another admin (of another village) cannot use it.
    other = admin.application.test_client()
    login(other, fresh["user"])
    assert "过期" in text(other.get(f"/admin/roster/preview/{token}", follow_redirects=True))
    assert admin.post(f"/admin/roster/cancel/{token}").status_code == 302
    assert "过期" in text(admin.get(f"/admin/roster/preview/{token}", follow_redirects=True))


def test_export_reimport_changes_nothing(fresh_admin, fresh, app):
    """Import the shared sample, export it, re-import the export with dry_run: zero changes."""
    resp = upload(fresh_admin, sample("roster-longtianping.xlsx").read_bytes(), "roster-longtianping.xlsx")
    page = text(fresh_admin.get(resp.location))
    assert 'id="confirm"' in page, page[:3000]
    token = resp.location.rsplit("/", 1)[1]
    assert fresh_admin.post(f"/admin/roster/confirm/{token}").status_code == 302
    assert counts(app, fresh["village"]) == (529, 1582)
    # A move (of a household head) and a death, so the export has a moved person and a 备注 mark.
    with app.app_context():
        h1 = db.session.execute(
            select(Household).where(Household.village_id == fresh["village"], Household.number == "1")
        ).scalar_one()
        head_id, other_id = h1.head_id, [m.id for m in h1.members if m.id != h1.head_id][0]
    assert (
        fresh_admin.post(
            f"/admin/villagers/{head_id}/move", data={"to_number": "2", "moved_on": "2026-11-20", "relation": "兄弟"}
        ).status_code
        == 302
    )
    assert fresh_admin.post(f"/admin/villagers/{other_id}/status", data={"status": "deceased"}).status_code == 302
    exported = fresh_admin.get("/admin/roster/export.xlsx")
    assert exported.status_code == 200
    assert exported.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(exported.data))
    sheet = book.active
    assert [c.value for c in sheet[2]] == HEADER
    assert sheet.cell(row=3, column=10).value == "001" and sheet.cell(row=3, column=10).data_type == "s"
    with app.app_context():
        village = db.session.get(Village, fresh["village"])
        table = read_table(exported.data, ROSTER_COLUMNS, filename="export.xlsx")
        report = import_roster(db.session, village, table, dry_run=True)
        db.session.rollback()
    assert report.changes == 0 and not report.unmatched and not report.not_in_file
    assert report.unchanged == 1582
    assert [r[10] for r in sheet.iter_rows(min_row=3, values_only=True)].count("已故") == 1
    # The same through the browser preview.
    resp = upload(fresh_admin, exported.data, "export.xlsx")
    page = text(fresh_admin.get(resp.location))
    assert "新增" not in page.split('id="rows"')[1] and "更新" not in page.split('id="rows"')[1]


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_an_xls_or_ods_roster_imports_through_the_preview(fresh_admin, fresh, app, tmp_path, fmt):
    from tests.samples import as_ods, as_xls

    convert = as_xls if fmt == "xls" else as_ods
    path = convert(sample("roster-longtianping.xlsx"), tmp_path / f"花名册.{fmt}")
    resp = upload(fresh_admin, path.read_bytes(), path.name)
    assert resp.status_code == 302
    assert 'id="confirm"' in text(fresh_admin.get(resp.location))
    token = resp.location.rsplit("/", 1)[1]
    assert fresh_admin.post(f"/admin/roster/confirm/{token}").status_code == 302
    assert counts(app, fresh["village"]) == (529, 1582)
