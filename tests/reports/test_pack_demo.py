"""The ceremony pack for the seed-scale demo village (529 households, ~30k entries a year).

SLOW: builds the demo once for the module (about 5-10 s) on its own SQLite file, then
builds packs from it. Prints the pack's build time (wall and CPU); asserts only a loose
sanity bound, as the machine may be shared.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import struct
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pointsapp.points.db import Base
from pointsapp.points.engine import make_engine
from pointsapp.points.registry import Village
from pointsapp.reports import pdf as pdfmod
from pointsapp.points.periods import month_range, previous_month
from pointsapp.reports import services
from pointsapp.reports.pack import build_monthly_pack
from pointsapp.reports.packdata import RANKING_ROWS, gather
from tests.pdftext import pdf_pages

pytestmark = pytest.mark.slow
PNG_SIZE = (1920, 1080)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(engine, village id, db url): the demo village, built once for this module."""
    import pointsapp
    from pointsapp.points.demo import build_demo

    pointsapp.import_models()
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        build_demo(s, villages=1, months=12, seed=1)
        s.commit()
        vid = s.execute(select(Village.id)).scalar_one()
    yield engine, vid, url
    engine.dispose()


@pytest.fixture(scope="module")
def last_month(demo):
    engine, vid, _url = demo
    with Session(engine) as s:
        return previous_month(services.this_month(s.get(Village, vid)))


@pytest.fixture(scope="module")
def pack(demo, last_month, tmp_path_factory):
    engine, vid, _url = demo
    out = tmp_path_factory.mktemp("pack")
    with Session(engine) as s:
        village = s.get(Village, vid)
        wall, cpu = time.perf_counter(), time.process_time()
        result = build_monthly_pack(s, village, last_month, out, progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        data = gather(s, village, last_month)
    print(
        f"\nceremony pack {result.village} {result.month}: {result.entries} entries, "
        f"{result.pdf_pages} PDF pages, {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"(load average {os.getloadavg()[0]:.1f}); steps {result.timings}"
    )
    return result, data


def test_pack_time_is_printed_and_sane(pack):
    result, _data = pack
    assert result.seconds < 30, f"the pack took {result.seconds:.1f} s"
    assert result.entries > 1500  # seed scale: ~2.5k entries a month


def test_files_are_all_there_and_pngs_are_projector_size(pack):
    result, _data = pack
    assert [p.name for p in result.pngs] == [
        f"{result.month}-{s}.png"
        for s in ("1-top10", "2-top10-public", "3-groups", "4-categories", "5-trend", "6-redeemed")
    ]
    for path in result.pngs:
        assert png_size(path) == PNG_SIZE, path
    assert result.pdf.read_bytes().startswith(b"%PDF")
    assert result.xlsx.stat().st_size > 10_000


def test_pdf_page_count_is_computed_from_the_parts(pack):
    result, data = pack
    ranked = [r for r in data.households[:RANKING_ROWS] if r.points != 0]
    top = [r for r in data.households if r.rank is not None and r.rank <= 10 and r.points > 0]
    notice = sum(
        1 + max(0, math.ceil((len(sec.entries) - pdfmod.NOTICE_ROWS_FIRST) / pdfmod.NOTICE_ROWS))
        for sec in data.notice_sections
    )
    stars = max(1, math.ceil(len(data.stars) / pdfmod.TABLE_ROWS))
    expected = 1 + 5 + math.ceil(len(ranked) / pdfmod.TABLE_ROWS) + 1 + 1 + len(top) + stars + notice
    assert len(PdfReader(result.pdf).pages) == expected == result.pdf_pages
    assert result.certificates == len(top) >= 10  # ties at rank 10 share the award
    assert sum(result.sections.values()) == expected and result.sections["certificates"] == len(top)


def test_pdf_embeds_the_cjk_font(pack):
    result, _data = pack
    reader = PdfReader(result.pdf)
    names = set()
    for page in reader.pages[:6]:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            names.add(str(font["/BaseFont"]))
            for desc in font.get("/DescendantFonts", []):
                d = desc.get_object()["/FontDescriptor"].get_object()
                assert any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")), "font not embedded"
    assert any("CJK" in n or "Noto" in n for n in names), names


def test_pdf_text_has_the_ceremony_content(pack):
    result, data = pack
    pages = pdf_pages(result.pdf)  # pypdf misreads fpdf2's CMap-stream encoding: see tests/pdftext.py
    assert len(pages) == result.pdf_pages
    cover = pages[0]
    year, month = data.month.split("-")
    assert "龙天坪村" in cover and f"{int(year)}年{int(month)}月" in cover
    first_cert = pages[1 + 5 + 3]
    assert "奖" in first_cert and data.top[0].name in first_cert
    notice_first = pages[result.pdf_pages - result.sections["notice"]]
    flat = notice_first.replace("\n", "")
    assert "积分公示" in notice_first and data.digest.published
    assert all(n.digest in flat for n in data.digest.notices)  # each notice's check code, as published
    everything = "".join(pages)
    assert "䶮" in everything and "𠮷" in everything  # rare name characters survive in the 公示 list


def test_workbook_totals_equal_the_leaderboard(pack, demo):
    result, data = pack
    engine, vid, _url = demo
    wb = load_workbook(result.xlsx, read_only=True)
    assert wb.sheetnames == ["本月明细", "户积分", "小组汇总", "分类统计", "待审核", "兑换明细", "库存台账"]
    rows = list(wb["户积分"].iter_rows(values_only=True))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header[:7] == ("名次", "户号", "门牌号", "户主", "村民小组", "在册人数", "积分")
    assert total[0] == "合计" and total[6] == sum(r[6] for r in body) and total[8] == sum(r[8] for r in body)
    # Oracle: the month's honour points per household and per group, summed by SQL from the ledger.
    year, month = map(int, result.month.split("-"))
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    spend = "('redemption', 'expiry')"
    with engine.connect() as conn:
        households = dict(
            conn.execute(
                text(
                    "SELECT h.number, COALESCE(SUM(e.points), 0) FROM households h LEFT JOIN ledger_entries e "
                    f"ON e.household_id = h.id AND e.occurred_on >= :first AND e.occurred_on < :after AND e.kind NOT IN {spend} "
                    "WHERE h.village_id = :v GROUP BY h.id, h.number"
                ),
                {"v": vid, "first": first, "after": after},
            ).all()
        )
        group_points = dict(
            conn.execute(
                text(
                    "SELECT g.name, COALESCE(SUM(e.points), 0) FROM groups g LEFT JOIN ledger_entries e "
                    f"ON e.group_id = g.id AND e.occurred_on >= :first AND e.occurred_on < :after AND e.kind NOT IN {spend} "
                    "WHERE g.village_id = :v GROUP BY g.id, g.name"
                ),
                {"v": vid, "first": first, "after": after},
            ).all()
        )
    assert {r[1]: r[6] for r in body} == households and len(body) == len(households)
    # competition ranking (1, 2, 2, 4) over the households with points: one more than the number of scored
    # households with more points; a household with zero points is not ranked and comes last
    scored = [p for p in households.values() if p != 0]
    assert [r[0] for r in body] == [None if r[6] == 0 else 1 + sum(1 for p in scored if p > r[6]) for r in body]
    assert [r[6] for r in body] == sorted(scored, reverse=True) + [0] * (len(households) - len(scored))
    grows = list(wb["小组汇总"].iter_rows(values_only=True))[1:]
    assert grows[-1][0] == "合计" and grows[-1][4] == result.total_points
    assert grows[-1][6] == sum(r[6] for r in grows[:-1]) and grows[-1][2] == sum(r[2] for r in grows[:-1])
    grows = grows[:-1]
    assert {r[1]: r[4] for r in grows} == group_points
    detail = list(wb["本月明细"].iter_rows(values_only=True))
    assert len(detail) - 2 == result.entries and detail[-1][0] == "合计"
    points_col = detail[0].index("积分")
    assert sum(r[points_col] for r in detail[1:-1]) == sum(group_points.values()) == result.total_points
    assert detail[-1][points_col] == result.total_points
    day = detail[1][detail[0].index("日期")]
    assert isinstance(day, dt.datetime) and day.strftime("%Y-%m") == result.month  # a real date
    cats = list(wb["分类统计"].iter_rows(values_only=True))[1:]
    assert cats[-1][0] == "合计" and cats[-1][2] == result.total_points
    assert sum(r[2] for r in cats[:-1]) == result.total_points
    full = load_workbook(result.xlsx)
    for name in ("本月明细", "户积分", "小组汇总", "分类统计"):
        ws = full[name]
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert ws.print_title_rows == "$1:$1" and ws.page_setup.fitToWidth == 1
    assert full["本月明细"].page_setup.orientation == "landscape"
    assert isinstance(body[0][1], str)  # 户号 as text


def test_workbook_totals_equal_the_cli_leaderboard(pack, demo, tmp_path, monkeypatch):
    result, _data = pack
    _engine, _vid, url = demo
    monkeypatch.setenv("POINTSAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    from pointsapp import create_app
    from pointsapp.cli import cli

    app = create_app({"TESTING": True, "POINTSAPP_DATABASE_URL": url, "POINTSAPP_SECRET_KEY": "x"}, for_cli=True)
    out = app.test_cli_runner().invoke(cli, ["leaderboard", "--by", "household", "--period", result.month, "--json"])
    assert out.exit_code == 0, out.output
    cli_rows = json.loads(out.output)
    wb = load_workbook(result.xlsx, read_only=True)
    body = list(wb["户积分"].iter_rows(values_only=True))[1:-1]
    assert sum(r[6] for r in body) == sum(r["points"] for r in cli_rows)
    assert [(r[0], r[6]) for r in body] == [(r["rank"], r["points"]) for r in cli_rows]
    from pointsapp.extensions import db

    with app.app_context():
        db.engine.dispose()


def test_empty_month_gives_a_valid_pack_that_says_so(demo, tmp_path):
    engine, vid, _url = demo
    with Session(engine) as s:
        village = s.get(Village, vid)
        before_demo = month_range(services.this_month(village), 14)[0]
        result = build_monthly_pack(s, village, before_demo, tmp_path, progress=False)
    assert result.empty and result.entries == 0 and result.certificates == 0
    for path in result.pngs:
        assert png_size(path) == PNG_SIZE
    reader = PdfReader(result.pdf)
    assert result.sections["stars"] >= 1
    assert len(reader.pages) == result.pdf_pages == 1 + 5 + 3 + 0 + result.sections["stars"] + 1
    assert "本月暂无积分记录" in pdf_pages(result.pdf)[0]
    wb = load_workbook(result.xlsx, read_only=True)
    for name in ("本月明细", "户积分", "小组汇总", "分类统计", "待审核", "兑换明细", "库存台账"):
        assert next(wb[name].iter_rows(values_only=True))[0], f"{name} has no header"
    detail = list(wb["本月明细"].iter_rows(values_only=True))
    assert len(detail) == 2 and detail[0][0] == "序号" and detail[1][0] == "合计"


def test_bad_month_is_refused_clearly(demo, tmp_path):
    engine, vid, _url = demo
    with Session(engine) as s, pytest.raises(ValueError, match="2026-13"):
        build_monthly_pack(s, s.get(Village, vid), "2026-13", tmp_path)


def test_progress_factory_is_called(demo, tmp_path):
    engine, vid, _url = demo
    calls = []

    class Bar:
        def update(self, n=1):
            calls.append(n)

        def close(self):
            calls.append("closed")

    with Session(engine) as s:
        village = s.get(Village, vid)
        before_demo = month_range(services.this_month(village), 14)[0]
        build_monthly_pack(s, village, before_demo, tmp_path, progress=lambda total, desc: Bar())
    assert calls == [1, 1, 1, 1, "closed"]
