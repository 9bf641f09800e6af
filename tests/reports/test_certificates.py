"""奖状 a family would frame: tiers set by the village (ties share a tier), a Chinese-numeral
date the admin sets, bold title, and no name, number or month broken across lines."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from pypdf import PdfReader

from pointsapp.points import awards
from pointsapp.points.errors import Refused
from pointsapp.reports import pdf as pdfmod
from pointsapp.reports.pack import build_monthly_pack
from pointsapp.reports.packdata import gather
from tests.reports.conftest import post


def test_chinese_numeral_dates():
    assert awards.chinese_month(dt.date(2026, 12, 1)) == "二〇二六年十二月"
    assert awards.chinese_date(dt.date(2030, 10, 31)) == "二〇三〇年十月三十一日"
    assert awards.chinese_date(dt.date(2027, 1, 20)) == "二〇二七年一月二十日"
    assert [awards.chinese_number(n) for n in (1, 10, 11, 19, 20, 21, 30)] == [
        "一",
        "十",
        "十一",
        "十九",
        "二十",
        "二十一",
        "三十",
    ]


def test_award_tiers_parse_and_refuse_bad_text():
    assert awards.parse_tiers(None) == awards.parse_tiers(awards.DEFAULT_TIERS)
    assert awards.parse_tiers("积分示范户：前10名") == [awards.Tier("积分示范户", 10)]
    tiers = awards.parse_tiers("一等奖:1\n二等奖 3；三等奖:6")
    assert [(t.name, t.up_to) for t in tiers] == [("一等奖", 1), ("二等奖", 3), ("三等奖", 6)]
    assert [awards.tier_for(r, tiers).name if awards.tier_for(r, tiers) else None for r in (1, 2, 3, 4, 6, 7)] == [
        "一等奖",
        "二等奖",
        "二等奖",
        "三等奖",
        "三等奖",
        None,
    ]
    for bad in ("一等奖", "一等奖:3;二等奖:2", "一等奖:0", "一等奖:500"):
        with pytest.raises(Refused) as exc:
            awards.parse_tiers(bad)
        assert exc.value.code == "bad_award_tiers"


@pytest.fixture
def doc(world, session):
    return pdfmod._Doc("test")


LONG_NAMES = ["欧阳兰宏宏", "贾德䶮", "杨明𠮷", "司马长风长风"]


@pytest.mark.parametrize("width", [60, 95, 120, 150, 170, 205])
@pytest.mark.parametrize("points", [7, 67, 1234, 98765])
def test_no_kept_part_breaks_across_lines(session, world, doc, width, points):
    data = gather(session, world.village, "2026-11")
    for name in LONG_NAMES:
        text = pdfmod.certificate_text(doc, data, name, points, "积分示范户", width)
        joined = "".join(text.body)
        for part in text.kept[1:3]:  # the month and the points are in the paragraph
            assert part in joined
            assert any(part in line for line in text.body), (part, text.body)
        for line in text.body[1:]:
            assert line[0] not in pdfmod.NO_LINE_START, text.body
        doc.set_font(pdfmod.FONT, size=pdfmod.CERT_BODY_PT)
        # lines fill the width: only an unbreakable part may overflow a line on its own
        for line in text.body:
            assert doc.get_string_width(line) <= width or line.strip("\u3000") in text.kept, line
        assert text.salutation == f"{name}户：" and " " not in text.salutation


def ranked_world(session, world):
    """Four households: 10, 10, 5, 5 points in November 2026 (two ties)."""
    p = world.people
    post(
        session,
        world.village,
        [
            (p[0][0], "DJ-01", dt.date(2026, 11, 2), 1),
            (p[0][1], "DJ-01", dt.date(2026, 11, 2), 1),
            (p[1][0], "DJ-01", dt.date(2026, 11, 3), 1),
            (p[1][1], "DJ-01", dt.date(2026, 11, 3), 1),
            (p[2][0], "DJ-01", dt.date(2026, 11, 4), 1),
            (p[3][0], "DJ-01", dt.date(2026, 11, 4), 1),
        ],
    )
    session.commit()


def page_text(reader, i):
    return reader.pages[i].extract_text().replace("\x00", "")


def test_certificates_follow_the_village_tiers_and_date(session, world, tmp_path):
    ranked_world(session, world)
    world.village.award_tiers = "一等奖:1;二等奖:3"
    world.village.certificate_date = dt.date(2026, 12, 1)
    session.commit()
    result = build_monthly_pack(session, world.village, "2026-11", tmp_path, progress=False)
    # ranks 1, 1, 3, 3: two 一等奖 (tied at 1) and two 二等奖 (tied at 3)
    assert result.certificates == 4
    reader = PdfReader(result.pdf)
    first = (
        1
        + result.sections["charts"]
        + result.sections["households"]
        + result.sections["villagers"]
        + result.sections["groups"]
    )
    pages = [page_text(reader, first + i) for i in range(4)]
    tiers = sorted("一等奖" if "一等奖" in t else "二等奖" for t in pages)
    assert tiers == ["一等奖", "一等奖", "二等奖", "二等奖"]
    for text in pages:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        flat = "".join(lines)
        assert (
            "贵户在2026年11月乡村治理积分评比中，以月度积分10分荣获" in flat
            or "贵户在2026年11月乡村治理积分评比中，以月度积分5分荣获" in flat
        ), text
        # the points and the month each sit whole on one line
        assert any("10分" in ln or "5分" in ln for ln in lines) and any("2026年11月" in ln for ln in lines)
        assert "二〇二六年十二月" in lines
        assert "龙天坪村村民委员会" in lines
        assert "第" not in text.replace("第一组", "").replace("第二组", "")  # no "第9名"
        assert not any(ln.endswith(" 户：") for ln in lines)
        salutation = next(ln for ln in lines if ln.endswith("户："))
        assert salutation[:-2] in {"向明华", "唐海娟", "贾生国", "杨明𠮷"}
    # the title is drawn bold (glyph outlines stroked: text render mode 2)
    content = reader.pages[first].get_contents().get_data()
    assert b"2 Tr" in content


def test_certificate_page_keeps_the_seal_area_clear(session, world, tmp_path):
    """Nothing but the committee name and date is printed in the seal box at the bottom right."""
    ranked_world(session, world)
    world.village.award_tiers = "积分示范户:1"
    session.commit()
    result = build_monthly_pack(session, world.village, "2026-11", tmp_path, progress=False)
    assert result.certificates == 2
    first = (
        1
        + result.sections["charts"]
        + result.sections["households"]
        + result.sections["villagers"]
        + result.sections["groups"]
    )
    out = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(first + 1), "-l", str(first + 1), str(result.pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    import re

    words = [
        (float(a), float(b), float(c), float(d), w)
        for a, b, c, d, w in re.findall(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', out
        )
    ]
    page_w, page_h = 297 * 72 / 25.4, 210 * 72 / 25.4
    box_w, box_h = (v * 72 / 25.4 for v in pdfmod.SEAL_BOX)
    right = page_w - pdfmod.CERT_MARGIN_X * 72 / 25.4
    x0, y0 = right - box_w, page_h - 25 * 72 / 25.4 - box_h
    inside = [w for a, b, c, d, w in words if c > x0 and a < right + 1 and d > y0 and b < page_h - 25 * 72 / 25.4]
    assert inside and set(inside) <= {
        "龙天坪村村民委员会",
        "二〇二六年十二月",
        awards.chinese_month(dt.date.today()),
    } | {awards.chinese_month(dt.date(2026, m, 1)) for m in range(1, 13)}, inside
    assert any("积分示范户" in w for _a, _b, _c, _d, w in words)
