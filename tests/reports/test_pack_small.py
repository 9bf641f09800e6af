"""The ceremony pack on the small test village: a correction, ties, pending work (masking: tests/villagers/test_masking.py)."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook
from sqlalchemy import text as sql

from pointsapp.points.capture import correct
from pointsapp.points.notice import publish_notice
from pointsapp.reports.pack import build_monthly_pack
from tests.pdftext import pdf_text
from tests.reports.conftest import NOW, post

OCT = dt.datetime(2026, 10, 20, 4, 0, tzinfo=dt.timezone.utc)


def rows(path, sheet):
    wb = load_workbook(path, read_only=True)
    data = list(wb[sheet].iter_rows(values_only=True))
    return [dict(zip(data[0], r)) for r in data[1:] if r[0] != "合计"]


def test_a_correction_counts_in_the_month_it_was_posted_and_links_to_the_original(session, world, tmp_path):
    p = world.people
    (original, _other) = post(
        session,
        world.village,
        [(p[0][0], "DJ-01", dt.date(2026, 10, 10), 1), (p[2][0], "ZC-01", dt.date(2026, 10, 11), 1)],
        now=OCT,
    )
    fix = correct(session, original, world.reviewer, "记错了人", now=NOW)  # posted 2026-11-20
    session.commit()
    assert fix.occurred_on == dt.date(2026, 11, 20)

    october = build_monthly_pack(session, world.village, "2026-10", tmp_path / "oct", progress=False)
    november = build_monthly_pack(session, world.village, "2026-11", tmp_path / "nov", progress=False)

    oct_rows = rows(october.xlsx, "本月明细")
    assert [(r["序号"], r["积分"], r["更正原记录"]) for r in oct_rows] == [(original.seq, 5, None), (2, 5, None)]
    nov_rows = rows(november.xlsx, "本月明细")
    assert len(nov_rows) == 1
    (row,) = nov_rows
    assert row["类型"] == "更正" and row["积分"] == -5
    assert row["更正原记录"] == original.seq and row["原记录日期"] == dt.datetime(2026, 10, 10)
    assert row["备注"] == "记错了人"
    # totals follow the ledger in each month (summed by SQL, by the head's name)
    for result, first, after in ((october, "2026-10-01", "2026-11-01"), (november, "2026-11-01", "2026-12-01")):
        ledger = dict(
            session.execute(
                sql(
                    "SELECT v.name, COALESCE(SUM(e.points), 0) FROM households h JOIN villagers v ON v.id = h.head_id "
                    "LEFT JOIN ledger_entries e ON e.household_id = h.id AND e.occurred_on >= :first "
                    "AND e.occurred_on < :after WHERE h.village_id = :v GROUP BY h.id, v.name"
                ),
                {"v": world.village.id, "first": dt.date.fromisoformat(first), "after": dt.date.fromisoformat(after)},
            ).all()
        )
        sheet = {r["户主"]: r["积分"] for r in rows(result.xlsx, "户积分")}
        assert sheet == ledger
    assert {r["户主"]: r["积分"] for r in rows(november.xlsx, "户积分")}["向明华"] == -5
    text = pdf_text(november.pdf)
    assert f"更正 #{original.seq}" in text
    assert november.certificates == 0  # nobody has points above zero in November


def test_ties_share_a_rank_and_each_gets_a_certificate(session, world, tmp_path):
    p = world.people
    post(
        session,
        world.village,
        [
            (p[0][0], "DJ-01", dt.date(2026, 11, 2), 1),
            (p[1][0], "DJ-01", dt.date(2026, 11, 2), 1),
            (p[2][0], "DJ-01", dt.date(2026, 11, 2), 1),
        ],
    )
    session.commit()
    result = build_monthly_pack(session, world.village, "2026-11", tmp_path, top_n=1, progress=False)
    assert result.certificates == 3  # three households tie for first place
    assert result.sections["certificates"] == 3
    sheet = rows(result.xlsx, "户积分")
    assert [r["名次"] for r in sheet] == [1, 1, 1, None]  # no points: not ranked (empty cell)


def test_pending_and_notice_are_reported(session, world, tmp_path):
    from pointsapp.points.capture import Line, capture

    p = world.people
    post(session, world.village, [(p[0][0], "DJ-01", dt.date(2026, 10, 2), 1)], now=OCT)
    capture(
        session,
        actor=world.grid,
        village=world.village,
        key="pending-1",
        rule_code="ZY-01",
        occurred_on=dt.date(2026, 10, 3),
        lines=[Line(villager_id=p[1][0].id)],
        now=OCT,
    )
    notice = publish_notice(session, world.village, "2026-10", world.reviewer, days=7, now=NOW)
    session.commit()
    result = build_monthly_pack(session, world.village, "2026-10", tmp_path, progress=False)
    pending = rows(result.xlsx, "待审核")
    assert pending[0]["项目"] == "本月待审核" and pending[0]["数量"] == 1 and pending[0]["积分"] == 5
    notes = " ".join(r["说明"] for r in pending)
    assert "2026年11月20日" in notes and f"{notice.closes_on.day}日" in notes
    text = pdf_text(result.pdf)
    assert "公示期：2026年11月20日 至 2026年11月26日" in text


def test_unpublished_month_says_not_published(session, world, tmp_path):
    result = build_monthly_pack(session, world.village, "2026-09", tmp_path, progress=False)
    text = pdf_text(result.pdf)
    assert "本月尚未发布公示" in text and result.empty
