"""The ceremony PDF's 公示 and the A4 board print show a notice exactly as it was published:
its frozen list (notice_entries), its own check code; an entry approved after publication is
never mixed into it, but printed apart (and in the supplement once that is published)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text as sql

from pointsapp.points.notice import publish_notice
from pointsapp.reports.notice_print import month_notice_pdf
from pointsapp.reports.pack import build_monthly_pack
from pointsapp.reports.packdata import gather
from tests.pdftext import pdf_pages
from tests.reports.conftest import NOW, post
from tests.reports.test_web import as_user, seeded  # noqa: F401  (fixture)

OCT = dt.datetime(2026, 10, 20, 4, 0, tzinfo=dt.timezone.utc)
LATER = NOW + dt.timedelta(hours=2)


def listed(session, notice_id) -> list[int]:
    """The oracle: the notice's list as stored, by raw SQL."""
    return [
        r[0]
        for r in session.execute(
            sql("SELECT seq FROM notice_entries WHERE notice_id = :n ORDER BY seq"), {"n": notice_id}
        )
    ]


def notice_part(result) -> list[str]:
    pages = pdf_pages(result.pdf)
    return pages[len(pages) - result.sections["notice"] :]


def test_a_late_entry_is_not_printed_as_part_of_the_published_notice(session, world, tmp_path):
    p = world.people
    early = post(
        session,
        world.village,
        [(p[0][0], "DJ-01", dt.date(2026, 10, 10), 1), (p[2][0], "ZC-01", dt.date(2026, 10, 11), 1)],
        now=OCT,
    )
    main = publish_notice(session, world.village, "2026-10", world.reviewer, days=7, now=NOW)
    # approved after the 公示 was published, dated in its month
    (late,) = post(session, world.village, [(p[1][0], "DJ-01", dt.date(2026, 10, 15), 1)], now=LATER)
    session.commit()
    assert listed(session, main.id) == sorted(e.seq for e in early)

    data = gather(session, world.village, "2026-10", now=LATER)
    first, waiting = data.notice_sections
    assert first.notice is not None and first.notice.id == main.id
    assert [e.seq for e in first.entries] == listed(session, main.id)
    assert waiting.notice is None and [e.seq for e in waiting.entries] == [late.seq]

    result = build_monthly_pack(session, world.village, "2026-10", tmp_path / "a", progress=False, now=LATER)
    pages = notice_part(result)
    assert len(pages) == 2
    flat = pages[0].replace("\n", "")
    assert main.digest in flat and "共 2 条记录，合计 10 分" in flat
    assert f"账本截至第 {main.head_seq} 条" in flat
    rows_seqs = {int(line.split()[0]) for line in pages[0].splitlines() if line.split() and line.split()[0].isdigit()}
    assert late.seq not in rows_seqs and set(listed(session, main.id)) <= rows_seqs
    assert "尚未公示" in pages[1] and str(late.seq) in pages[1] and main.digest not in pages[1].replace("\n", "")

    # the board print of the published notice: its own entries and check code, not the late one
    sheet, _pages = month_notice_pdf(session, world.village, "2026-10", tmp_path / "board.pdf", now=LATER)
    assert (sheet.entries, sheet.total) == (2, 10)
    board = "".join(pdf_pages(tmp_path / "board.pdf")).replace("\n", "")
    assert main.digest in board and f"截至账本第 {main.head_seq} 条" in board

    # once the supplement is published: main unchanged, the supplement apart with its own code
    supplement = publish_notice(session, world.village, "2026-10", world.reviewer, days=7, now=LATER)
    session.commit()
    assert listed(session, supplement.id) == [late.seq] and listed(session, main.id) == sorted(e.seq for e in early)
    result = build_monthly_pack(session, world.village, "2026-10", tmp_path / "b", progress=False, now=LATER)
    pages = notice_part(result)
    assert len(pages) == 2
    assert main.digest in pages[0].replace("\n", "") and supplement.digest not in pages[0].replace("\n", "")
    assert "补充公示1" in pages[1] and supplement.digest in pages[1].replace("\n", "")
    assert "尚未公示" not in "".join(pages)

    sheet, _pages = month_notice_pdf(session, world.village, "2026-10", tmp_path / "sup.pdf", number=2, now=LATER)
    assert (sheet.entries, sheet.total) == (1, 5)
    board = "".join(pdf_pages(tmp_path / "sup.pdf")).replace("\n", "")
    assert supplement.digest in board and "补充公示" in board and main.digest not in board
    sheet, _pages = month_notice_pdf(session, world.village, "2026-10", tmp_path / "main.pdf", now=LATER)
    assert sheet.entries == 2


def test_board_print_route_picks_the_notice(client, seeded):  # noqa: F811
    as_user(client, seeded, "rev1")
    assert client.get("/reports/notice/2026-11.pdf?n=5").status_code == 404


def test_the_draft_notice_of_an_unpublished_month_leaves_shop_spending_out(session, world, tmp_path):
    from pointsapp.points.shop.redeem import Want, redeem
    from tests.shop.helpers import stocked

    p = world.people
    post(
        session,
        world.village,
        [(p[0][0], "DJ-01", dt.date(2026, 10, 10), 1), (p[0][1], "DJ-01", dt.date(2026, 10, 11), 1)],
        now=OCT,
    )
    stocked(session, world)
    clerk = world.user("clerk9", "clerk")
    red = redeem(
        session,
        actor=clerk,
        village=world.village,
        household=world.households[0],
        wants=[Want(1, code="SOAP")],
        key="oct",
        now=OCT,
    ).redemption
    session.commit()
    data = gather(session, world.village, "2026-10", now=NOW)
    (draft,) = data.notice_sections
    assert draft.notice is None and red.entry.seq in {e.seq for e in data.entries}
    assert [e.kind for e in draft.entries] == ["award", "award"]
