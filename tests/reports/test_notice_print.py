"""The printed 公示: grouped by group and household with totals, 11 pt or larger, and the demo
village's month on at most 14 A4 pages (the entry-by-entry list ran to about 100)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pointsapp.points.db import Base
from pointsapp.points.engine import make_engine
from pointsapp.points.registry import Village
from pointsapp.points.periods import previous_month
from pointsapp.reports import services
from pointsapp.reports.notice_print import (
    DEDUCTIONS,
    MAX_CATEGORY_COLUMNS,
    NoticeLine,
    build_sheet,
    month_notice_pdf,
)
from tests.reports.test_web import as_user, seeded  # noqa: F401  (fixture)

MAX_PAGES = 14


def font_sizes(reader: PdfReader) -> set[float]:
    """Every font size set in the pages' content streams (the Tf operator)."""
    sizes = set()
    for page in reader.pages:
        data = page.get_contents().get_data().decode("latin-1")
        sizes.update(float(m) for m in re.findall(r"/F\d+\s+([\d.]+)\s+Tf", data))
    return sizes


def line(hid, no, head, cat, kind, pts, group="第一组", order=1):
    return NoticeLine(order, group, hid, no, head, cat, kind, pts)


def test_sheet_groups_households_and_totals():
    lines = [
        line(1, "2", "向明华", "党建引领", "award", 5),
        line(1, "2", "向明华", "党建引领", "award", 5),
        line(1, "2", "向明华", "文明创建", "deduction", -10),
        line(2, "10", "唐海娟", "志愿服务", "award", 8),
        line(2, "10", "唐海娟", "志愿服务", "correction", -8),
        line(3, "1", None, "志愿服务", "award", 4, group="第二组", order=2),
        line(3, "1", None, None, "redemption", -30, group="第二组", order=2),
    ]  # spending: not on a 公示
    sheet = build_sheet(lines)
    assert sheet.columns == ["志愿服务", "党建引领", DEDUCTIONS, "更正"]
    assert [g.name for g in sheet.groups] == ["第一组", "第二组"]
    first = sheet.groups[0]
    assert [h.number for h in first.households] == ["2", "10"]  # 户号 in numeric order
    assert first.households[0].head == "向*华" and first.households[0].cells == {"党建引领": 10, DEDUCTIONS: -10}
    assert first.households[0].total == 0 and first.households[1].total == 0
    assert sheet.groups[1].households[0].head == "1号户" and sheet.groups[1].total == 4
    assert (sheet.total, sheet.entries, sheet.households) == (4, 6, 3)


def test_many_categories_fold_into_other():
    lines = [line(1, "1", "甲", f"类{i}", "award", 100 - i) for i in range(15)]
    sheet = build_sheet(lines)
    assert len(sheet.columns) == MAX_CATEGORY_COLUMNS and sheet.columns[-1] == "其他"
    h = sheet.groups[0].households[0]
    assert h.total == sum(100 - i for i in range(15)) and sum(h.cells.values()) == h.total


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import pointsapp
    from pointsapp.points.demo import build_demo

    pointsapp.import_models()
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        build_demo(s, villages=1, months=12, seed=1)
        s.commit()
    yield engine
    engine.dispose()


@pytest.mark.slow
def test_demo_month_fits_on_the_board(demo, tmp_path):
    with Session(demo) as s:
        village = s.execute(select(Village)).scalar_one()
        village.committee_phone = "0743-5551234"
        month = previous_month(services.this_month(village))
        path = tmp_path / "notice.pdf"
        sheet, pages = month_notice_pdf(s, village, month, path)
        start, end = dt.date.fromisoformat(month + "-01"), dt.date.fromisoformat(month + "-28")
        # the oracle: raw SQL over the ledger and the published notice's frozen list (the main notice)
        listed = (
            "AND e.seq IN (SELECT ne.seq FROM notice_entries ne JOIN notices n ON n.id = ne.notice_id "
            "WHERE n.village_id = :v AND n.month = :m AND n.number = 1) "
        )
        raw = s.execute(
            text(
                "SELECT h.number, SUM(e.points), COUNT(*) FROM ledger_entries e JOIN households h ON h.id = e.household_id "
                "WHERE e.village_id = :v AND substr(CAST(e.occurred_on AS TEXT), 1, 7) = :m "
                "AND e.kind NOT IN ('redemption', 'expiry') " + listed + "GROUP BY h.number"
            ),
            {"v": village.id, "m": month},
        ).all()
        groups = dict(
            s.execute(
                text(
                    "SELECT g.name, SUM(e.points) FROM ledger_entries e JOIN households h ON h.id = e.household_id "
                    "JOIN groups g ON g.id = h.group_id WHERE e.village_id = :v AND substr(CAST(e.occurred_on AS TEXT), 1, 7) = :m "
                    "AND e.kind NOT IN ('redemption', 'expiry') " + listed + "GROUP BY g.name"
                ),
                {"v": village.id, "m": month},
            ).all()
        )
    assert start <= end
    reader = PdfReader(path)
    print(f"\n公示 {month}: {sheet.entries} entries, {sheet.households} households, {pages} A4 pages")
    assert len(reader.pages) == pages <= MAX_PAGES
    assert sheet.entries > 1000 and sheet.households > 400  # a real month, not an empty one
    assert min(font_sizes(reader)) >= 11
    assert {h.number: (h.total, h.entries) for g in sheet.groups for h in g.households} == {
        n: (int(p), c) for n, p, c in raw
    }
    assert {g.name: g.total for g in sheet.groups} == {k: int(v) for k, v in groups.items()}
    assert sheet.total == sum(int(p) for _n, p, _c in raw)
    body = "".join(p.extract_text() for p in reader.pages).replace("\x00", "")
    assert "0743-5551234" in body and f"全村合计：{sheet.households} 户" in body
    some = sheet.groups[3].households[7]
    assert re.search(rf"(?m)^{some.number}\s*{re.escape(some.head)}.*\b{some.total}$", body), some


def test_notice_pdf_route(client, seeded):  # noqa: F811
    as_user(client, seeded, "rev1")
    resp = client.get("/reports/notice/2026-11.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    assert client.get("/reports/notice/2026-13.pdf").status_code == 400
    client.post("/logout")
    as_user(client, seeded, "grid1")
    assert client.get("/reports/notice/2026-11.pdf").status_code == 403
