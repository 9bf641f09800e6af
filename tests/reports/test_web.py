"""Dashboards, cached chart images, the pack download and the exports, through the test client."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pointsapp.extensions import db
from pointsapp.points.registry import Group, Household, Role, StaffUser, Village, Villager
from pointsapp.reports import cache
from tests.conftest import login
from tests.reports.conftest import post

CHARTS = ("top_households", "groups", "categories", "trend")


@pytest.fixture
def seeded(app, app_world):
    """The small village with a few November and October entries, and a county viewer."""
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        p = app_world["people"]
        h = app_world["households"]
        post(
            db.session,
            v,
            [
                (p[0][0], "DJ-01", dt.date(2026, 11, 3), 1),
                (p[1][0], "ZY-01", dt.date(2026, 11, 4), 1),
                (("h", h[2]), "WM-02", dt.date(2026, 11, 5), 1),
                (p[3][1], "LJ-01", dt.date(2026, 11, 6), 1),
            ],
        )
        post(db.session, v, [(p[0][1], "DJ-01", dt.date(2026, 10, 3), 1), (p[3][0], "ZC-01", dt.date(2026, 10, 9), 1)])
        viewer = StaffUser(username="county1", role=Role.viewer, village_id=None)
        viewer.set_password("correct horse 1")
        other = Village(name="青山村")
        db.session.add_all([viewer, other])
        db.session.flush()
        g = Group(village_id=other.id, name="第一组", sort_key=1)
        db.session.add(g)
        db.session.flush()
        hh = Household(village_id=other.id, group_id=g.id, number="1", house_number="001")
        db.session.add(hh)
        db.session.flush()
        db.session.add(Villager(village_id=other.id, household_id=hh.id, name="田青山", relation="户主"))
        db.session.commit()
        ids = dict(
            app_world,
            viewer=viewer.id,
            other=other.id,
            groups=[g.id for g in db.session.get(Village, app_world["village"]).groups],
        )
    return ids


def as_user(client, ids, username):
    """Sign in through the staff feature's /login (the shared ``login`` helper)."""
    resp = login(client, username)
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"], resp.get_data(as_text=True)[:500]
    return client


# --- charts and their cache -------------------------------------------------------------


def test_chart_is_rendered_once_per_data_and_again_after_a_posting(app, client, seeded):
    as_user(client, seeded, "admin1")
    before = sum(cache.RENDERS.values())
    first = client.get("/reports/chart/top_households.png?period=2026-11")
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert first.data[:8] == b"\x89PNG\r\n\x1a\n"
    second = client.get("/reports/chart/top_households.png?period=2026-11")
    assert second.data == first.data
    assert sum(cache.RENDERS.values()) == before + 1, "the same data was rendered twice"
    files = list((Path(app.instance_path) / "cache" / "charts").rglob("*.png"))
    assert len(files) == 1

    with app.app_context():  # an entry for another period leaves November's chart alone
        v = db.session.get(Village, seeded["village"])
        post(db.session, v, [(seeded["people"][2][0], "DJ-01", dt.date(2026, 10, 20), 1)])
        db.session.commit()
    client.get("/reports/chart/top_households.png?period=2026-11")
    assert sum(cache.RENDERS.values()) == before + 1

    with app.app_context():  # an entry for November renders it again, replacing the old file
        v = db.session.get(Village, seeded["village"])
        post(db.session, v, [(seeded["people"][2][0], "ZY-01", dt.date(2026, 11, 18), 1)])
        db.session.commit()
    third = client.get("/reports/chart/top_households.png?period=2026-11")
    assert sum(cache.RENDERS.values()) == before + 2
    assert third.data != first.data
    files = list((Path(app.instance_path) / "cache" / "charts").rglob("*.png"))
    assert len(files) == 1


def test_filters_are_separate_cache_entries(client, seeded):
    as_user(client, seeded, "rev1")
    before = sum(cache.RENDERS.values())
    g1 = seeded["groups"][0]
    for name in CHARTS:
        assert client.get(f"/reports/chart/{name}.png?period=2026-11").status_code == 200
        assert client.get(f"/reports/chart/{name}.png?period=2026-11&group={g1}").status_code == 200
        assert client.get(f"/reports/chart/{name}.png?period=2026-Q4").status_code == 200
    # the groups chart ignores the group filter (it compares every group): 4 x 3 - 1
    assert sum(cache.RENDERS.values()) == before + 11
    for name in CHARTS:
        client.get(f"/reports/chart/{name}.png?period=2026-11&group={g1}")
    assert sum(cache.RENDERS.values()) == before + 11


@pytest.mark.parametrize(
    "query,field", [("period=2026-13", "2026-13"), ("period=soon", "soon"), ("group=abc", "abc"), ("group=999", "999")]
)
def test_bad_filters_get_a_clear_400(client, seeded, query, field):
    as_user(client, seeded, "admin1")
    for url in (f"/reports/chart/trend.png?{query}", f"/dashboard?{query}"):
        resp = client.get(url)
        assert resp.status_code == 400, url
        assert field in resp.get_data(as_text=True)


def test_unknown_chart_is_a_400_and_month_is_an_alias_of_period(client, seeded):
    as_user(client, seeded, "admin1")
    assert client.get("/reports/chart/pie.png").status_code == 400
    assert client.get("/reports/chart/trend.png?month=2026-11").status_code == 200


# --- dashboards --------------------------------------------------------------------------


def test_staff_dashboard_shows_the_month_groups_and_board(client, seeded):
    as_user(client, seeded, "admin1")
    page = client.get("/dashboard?period=2026-11").get_data(as_text=True)
    for text in (
        "第一组",
        "第二组",
        "向明华",
        'data-testid="pending"',
        'data-testid="objections"',
        "/reports/chart/trend.png?period=2026-11",
        "/reports/monthly",
    ):
        assert text in page, text
    villagers = client.get("/dashboard?period=2026-11&board=villager").get_data(as_text=True)
    assert "贾德䶮" in villagers  # rare characters as given
    groups = client.get("/dashboard?period=all&board=group").get_data(as_text=True)
    assert "第二组" in groups


@pytest.mark.parametrize("username", ["rev1", "grid1"])
def test_reviewers_and_grid_workers_see_the_dashboard_without_downloads(client, seeded, username):
    as_user(client, seeded, username)
    resp = client.get("/dashboard")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "/reports/monthly" not in page and "/reports/export/" not in page


def test_board_is_capped_with_a_show_all_link(app, client, seeded, monkeypatch):
    from pointsapp.reports import dashboard

    monkeypatch.setattr(dashboard, "BOARD_CAP", 2)
    as_user(client, seeded, "admin1")
    page = client.get("/dashboard?period=2026-11&board=villager").get_data(as_text=True)
    assert "all=1" in page
    full = client.get("/dashboard?period=2026-11&board=villager&all=1").get_data(as_text=True)
    assert "all=1" not in full and full.count('<tr><td class="num">') > page.count('<tr><td class="num">')


def test_county_viewer_compares_villages_and_opens_each(client, seeded):
    as_user(client, seeded, "county1")
    assert client.get("/dashboard").status_code == 302  # a viewer without ?village goes to /county
    page = client.get("/county?period=2026-11").get_data(as_text=True)
    assert "龙天坪村" in page and "青山村" in page
    assert f"/dashboard?village={seeded['village']}" in page
    other = client.get(f"/dashboard?village={seeded['other']}")
    assert other.status_code == 200 and "青山村" in other.get_data(as_text=True)
    assert client.get("/reports/monthly").status_code == 403  # read-only


def test_county_chart_is_cached_and_for_viewers(app, client, seeded):
    as_user(client, seeded, "county1")
    before = cache.RENDERS["villages"]
    first = client.get("/reports/county/villages.png?period=2026-11")
    assert first.status_code == 200 and first.data[:4] == b"\x89PNG"
    assert client.get("/reports/county/villages.png?period=2026-11").data == first.data
    assert cache.RENDERS["villages"] == before + 1
    with app.app_context():
        v = db.session.get(Village, seeded["village"])
        post(db.session, v, [(seeded["people"][2][0], "ZY-01", dt.date(2026, 11, 18), 1)])
        db.session.commit()
    client.get("/reports/county/villages.png?period=2026-11")
    assert cache.RENDERS["villages"] == before + 2
    assert client.get("/reports/county/villages.png?period=bad").status_code == 400
    assert "/reports/county/villages.png?period=2026-11" in client.get("/county?period=2026-11").get_data(as_text=True)


def test_county_page_is_for_viewers_only(client, seeded):
    as_user(client, seeded, "admin1")
    assert client.get("/county").status_code == 403
    assert client.get("/reports/county/villages.png").status_code == 403


def test_signed_out_users_are_sent_to_sign_in(client, seeded):
    for url in (
        "/dashboard",
        "/county",
        "/reports/chart/trend.png",
        "/reports/monthly",
        "/reports/export/ledger.csv",
        "/reports/export/roster.xlsx",
    ):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


# --- the pack download -------------------------------------------------------------------


def test_admin_downloads_the_pack_as_a_zip(client, seeded):
    as_user(client, seeded, "admin1")
    resp = client.get("/reports/monthly?month=2026-11")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(resp.data)).namelist()
    assert any(n.endswith("2026-11-ceremony.pdf") for n in names)
    assert any(n.endswith("2026-11-workbook.xlsx") for n in names)
    assert sum(n.endswith(".png") for n in names) == 6
    assert client.get("/reports/monthly?month=2026-13").status_code == 400


@pytest.mark.parametrize("username", ["rev1", "grid1"])
def test_only_admins_download_the_pack(client, seeded, username):
    as_user(client, seeded, username)
    assert client.get("/reports/monthly?month=2026-11").status_code == 403


# --- exports -----------------------------------------------------------------------------


def read_csv(resp) -> list[dict]:
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_ledger_csv_has_every_entry_and_filters_work(client, seeded):
    as_user(client, seeded, "admin1")
    resp = client.get("/reports/export/ledger.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.is_streamed  # a generator, not one string in memory
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = read_csv(resp)
    assert len(rows) == 6
    assert [int(r["序号"]) for r in rows] == list(range(1, 7))
    assert sum(int(r["积分"]) for r in rows) == 5 + 5 + 10 + 3 + 5 + 5
    nov = read_csv(client.get("/reports/export/ledger.csv?period=2026-11"))
    assert len(nov) == 4 and all(r["日期"].startswith("2026-11") for r in nov)
    g2 = seeded["groups"][1]
    second = read_csv(client.get(f"/reports/export/ledger.csv?group={g2}"))
    assert {r["村民小组"] for r in second} == {"第二组"} and len(second) == 3
    dj = read_csv(client.get("/reports/export/ledger.csv?rule=DJ-01&period=2026"))
    assert {r["规则编号"] for r in dj} == {"DJ-01"} and len(dj) == 2
    assert client.get("/reports/export/ledger.csv?rule=NOPE").status_code == 400
    assert client.get("/reports/export/ledger.csv?period=2026-13").status_code == 400


def test_ledger_xlsx_matches_the_csv(client, seeded):
    as_user(client, seeded, "admin1")
    resp = client.get("/reports/export/ledger.xlsx?period=2026-11")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("村", "序号", "记录ID") and len(rows) == 1 + 4 + 1
    assert isinstance(rows[1][5], str)  # 户号 as text
    assert isinstance(rows[1][3], dt.datetime) and rows[1][3].month == 11  # a real date
    points = rows[0].index("积分")
    assert rows[-1][0] == "合计" and rows[-1][points] == sum(r[points] for r in rows[1:-1])
    recorded = rows[0].index("登记时间")
    # local time (Asia/Shanghai): the test postings were made at 04:00 UTC = 12:00 local
    assert all(r[recorded].hour == 12 for r in rows[1:-1])


def test_viewer_exports_read_only_county_wide_or_one_village(client, seeded):
    as_user(client, seeded, "county1")
    rows = read_csv(client.get("/reports/export/ledger.csv"))
    assert len(rows) == 6 and {r["村"] for r in rows} == {"龙天坪村"}
    one = read_csv(client.get(f"/reports/export/ledger.csv?village={seeded['other']}"))
    assert one == []
    assert client.get("/reports/export/roster.xlsx").status_code == 403  # phones stay in the village


def test_a_village_viewer_never_reads_the_county(app, client, seeded):
    """County-wide reads are for county accounts (village_id NULL) only, whatever the role."""
    with app.app_context():
        local = StaffUser(username="view-ltp", role=Role.viewer, village_id=seeded["village"])
        local.set_password("correct horse 1")
        db.session.add(local)
        db.session.commit()
    as_user(client, seeded, "view-ltp")
    assert client.get("/county?period=2026-11").status_code == 403
    assert client.get("/reports/county/villages.png?period=2026-11").status_code == 403
    assert client.get("/reports/export/ledger.csv").status_code == 403  # county-wide export
    own = client.get(f"/reports/export/ledger.csv?village={seeded['village']}")
    assert own.status_code == 200 and len(read_csv(own)) == 6
    # asking for another village still gives only their own
    rows = read_csv(client.get(f"/reports/export/ledger.csv?village={seeded['other']}"))
    assert len(rows) == 6 and {r["村"] for r in rows} == {"龙天坪村"}


@pytest.mark.parametrize("username", ["rev1", "grid1"])
def test_other_roles_cannot_export(client, seeded, username):
    as_user(client, seeded, username)
    assert client.get("/reports/export/ledger.csv").status_code == 403


def test_roster_export_uses_the_import_template(client, seeded):
    as_user(client, seeded, "admin1")
    resp = client.get("/reports/export/roster.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0].startswith("龙天坪村村民花名册（") and rows[0][0].endswith(
        "导出）"
    )  # title row, as villages keep it
    assert rows[1] == (
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
    )
    assert len(rows) == 2 + 8
    assert rows[2][1:5] == ("第一组", "1", "向明华", "向明华")
    assert ws.cell(row=3, column=10).value == "001" and ws.cell(row=3, column=10).number_format == "@"
    names = [r[4] for r in rows[2:]]
    assert "杨明𠮷" in names and "贾德䶮" in names


def test_roster_export_reimports_cleanly(app, client, seeded, tmp_path):
    """The exported roster read back by the core importer changes nothing."""
    from pointsapp.points.imports.reader import read_table
    from pointsapp.points.imports.roster import ROSTER_COLUMNS, import_roster

    as_user(client, seeded, "admin1")
    data = client.get("/reports/export/roster.xlsx").data
    with app.app_context():
        table = read_table(data, ROSTER_COLUMNS, filename="roster.xlsx")
        report = import_roster(db.session, db.session.get(Village, seeded["village"]), table, dry_run=True)
        db.session.rollback()
    assert report.households_added == 0 and report.villagers_added == 0 and not report.moved


def test_csv_stream_yields_in_pieces(app, seeded):
    """The ledger is paged by seq and the CSV is yielded in pieces, never built whole."""
    from pointsapp.reports import exports

    with app.app_context():
        v = db.session.get(Village, seeded["village"])
        rows = exports.ledger_rows(db.session, [v], exports.LedgerFilter())
        pieces = list(exports.csv_stream(rows, exports.LEDGER_HEADERS, flush_every=2))
        assert len(pieces) == 4  # header + 2 rows, 2 rows, 2 rows, then the (empty) rest
        assert exports.entry_count(db.session, v, exports.LedgerFilter("2026-11")) == 4
