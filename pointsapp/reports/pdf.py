"""The ceremony pack's PDF for print, written with fpdf2.

fpdf2 embeds a subset of the shipped Noto Sans CJK font (CID-keyed CFF) and places text
without laying out each glyph through FreeType, so the 公示 list of a few thousand entries
takes a fraction of a second; matplotlib's PDF backend needs about a millisecond per text.
Charts are the projector PNGs (1920×1080) placed on landscape pages.

Pages, in order: cover (1); charts (4, landscape); rankings (top households, top villagers,
groups: each at least one page); one 奖状 per top-N household (landscape); the 公示: one
table per published notice of the month, then one for entries no notice lists yet (each
at least one page).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import TextMode
from PIL import Image

from ..points.awards import chinese_month
from ..web.labels import PRINT_LOCALE, period_label

from .fonts import font_paths
from .packdata import RANKING_ROWS, PackData, date_label

# fpdf2 subsets the font with fontTools, which logs every step at INFO level.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

FONT = "cjk"
RED = (179, 38, 30)
GOLD = (201, 162, 39)
INK = (27, 27, 27)
MUTED = (102, 102, 102)
RULE = (200, 200, 200)

PORTRAIT_W, PORTRAIT_H = 210.0, 297.0
MARGIN = 14.0
ROW_H = 4.9
TABLE_ROWS = 50  # rows per ranking page
NOTICE_ROWS_FIRST = 44  # 公示 rows on its first page (below the digest and window)
NOTICE_ROWS = 52  # 公示 rows on the following pages


def _ranked_households(data: PackData):
    return [r for r in data.households[:RANKING_ROWS] if r.points != 0]


def _characters(data: PackData) -> set[int]:
    """Every character the PDF can draw: this module's labels (its source text), printable
    ASCII, and every name, rule and note in the data. fpdf2 then reads only these glyphs'
    metrics from the 33,000-glyph font (a third of the time of reading them all)."""
    try:
        chars = set(Path(__file__).read_text(encoding="utf-8"))
    except OSError:  # installed without sources: read every glyph's metrics instead
        return set()
    chars.update(chr(c) for c in range(0x20, 0x7F))
    chars.update("0123456789年月日第页名户分条−—…·（）：，。；、％%〇一二三四五六七八九十")
    texts = [data.village, data.month, *(t.name for t in data.tiers), *data.seal_lines()]
    texts += [f"{sec.title}{sec.subtitle}{''.join(sec.lead)}" for sec in data.notice_sections]
    texts += [r.name + r.group for r in data.households[:RANKING_ROWS]] + [r.name + r.group for r in data.top]
    texts += [r.name + r.group for r in data.villagers] + [r.name for r in data.groups]
    texts += [r.name + r.group + "★" for r in data.stars]
    for e in [*data.entries, *(e for sec in data.notice_sections for e in sec.entries)]:
        texts.append(f"{e.group}{e.head}{e.villager or ''}{e.rule_name or ''}{e.kind_label}")
    for number, house, _m in data.household_details.values():
        texts.append(f"{number}{house or ''}")
    for text in texts:
        chars.update(text)
    return {ord(c) for c in chars if c.isprintable() and not c.isspace()} | {0x20, 0x3000}


class _Doc(FPDF):
    def __init__(self, footer_text: str, characters: set[int] | None = None):
        super().__init__(format="A4", unit="mm")
        self.footer_text = footer_text
        self.plain = False  # True on certificate pages: no footer (read as each page closes)
        self.set_auto_page_break(False)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.add_font(FONT, "", str(font_paths()[0]), unicode_range=sorted(characters) if characters else None)
        self.set_font(FONT, size=10)

    def footer(self):
        if self.plain:
            return
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        text = f"{self.footer_text} · 第 {self.page_no()} 页"
        self.text(self.w - MARGIN - self.get_string_width(text), self.h - 7, text)
        self.set_text_color(*INK)

    # small drawing helpers -------------------------------------------------------------
    def centred(self, y: float, text: str, size: float, color=INK) -> None:
        self.set_font(FONT, size=size)
        self.set_text_color(*color)
        self.text((self.w - self.get_string_width(text)) / 2, y, text)
        self.set_text_color(*INK)

    def fit(self, text: str, width: float) -> str:
        """Cut text to fit ``width`` mm at the current font size, ending with …."""
        if self.get_string_width(text) <= width:
            return text
        while text and self.get_string_width(text + "…") > width:
            text = text[:-1]
        return text + "…"


def _fmt(v: int) -> str:
    return f"{v:,}".replace("-", "−")


def _rate(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


# --- cover ------------------------------------------------------------------------------


def _cover(doc: _Doc, data: PackData) -> None:
    doc.add_page(orientation="P")
    doc.set_fill_color(*RED)
    doc.rect(0, 0, doc.w, 12, style="F")
    doc.centred(62, data.village, 32, RED)
    doc.centred(80, f"{data.label} 乡村治理积分月报", 22)
    doc.centred(92, "积分评比颁奖材料", 14, MUTED)
    s, prev = data.summary, data.previous
    if data.empty:
        doc.centred(130, "本月暂无积分记录", 24, MUTED)
        doc.centred(142, "本月没有审核通过的积分条目，各图表与名单为空。", 12, MUTED)
        y = 160
    else:
        delta = s.points - prev.points
        lines = [
            (
                "本月总积分",
                f"{_fmt(s.points)} 分",
                f"上月 {_fmt(prev.points)} 分（{'+' if delta >= 0 else '−'}{_fmt(abs(delta))}）",
            ),
            ("积分条目", f"{_fmt(s.entries)} 条", f"上月 {_fmt(prev.entries)} 条"),
            (
                "参与农户",
                f"{s.households_with_entries} / {s.active_households} 户",
                f"参与率 {_rate(s.participation)}（上月 {_rate(prev.participation)}）",
            ),
            ("人均积分", f"{s.per_head:.1f} 分", f"按 {s.active_villagers} 名在册村民计"),
            (
                "获奖农户",
                f"{len(data.top)} 户",
                "；".join(
                    f"{t.name}：第{lo}至{t.up_to}名" if lo < t.up_to else f"{t.name}：第{t.up_to}名"
                    for lo, t in data.tier_ranges
                )
                + "（并列同奖）",
            ),
        ]
        y = 118
        for label, value, note in lines:
            doc.set_font(FONT, size=14)
            doc.set_text_color(*MUTED)
            doc.text(40, y, label)
            doc.set_text_color(*INK)
            doc.set_font(FONT, size=18)
            doc.text(78, y, value)
            doc.set_font(FONT, size=10)
            doc.set_text_color(*MUTED)
            doc.text(78, y + 6, note)
            doc.set_text_color(*INK)
            y += 17
    doc.set_draw_color(*RULE)
    doc.line(30, y + 4, doc.w - 30, y + 4)
    doc.set_font(FONT, size=10)
    p = data.pending
    notes = [
        f"待审核：本月 {p.in_month} 条（{_fmt(p.in_month_points)} 分）尚未审核，不计入本材料。",
        *data.seal_lines(),
        _window_line(data),
        f"生成日期：{date_label(data.issued_on)}",
    ]
    for i, note in enumerate(notes):
        doc.text(30, y + 14 + i * 7, doc.fit(note, doc.w - 60))


def _window_line(data: PackData) -> str:
    n = data.notice
    if n is None:
        return "公示：本月尚未发布公示"
    return f"公示期：{date_label(n.opens_on)} 至 {date_label(n.closes_on)}，期间村民可对本户记录提出异议"


# --- charts -----------------------------------------------------------------------------


def _as_jpeg(png: bytes) -> io.BytesIO:
    """Charts go in as JPEG (copied into the PDF as is): re-compressing an RGBA PNG costs
    ten times more, and at 1920 px over 27 cm the text stays crisp."""
    out = io.BytesIO()
    with Image.open(io.BytesIO(png)) as im:
        im.convert("RGB").save(out, "JPEG", quality=92, subsampling=0)
    out.seek(0)
    return out


def _chart_pages(doc: _Doc, pngs: Sequence[bytes]) -> None:
    for png in pngs:
        doc.add_page(orientation="L")
        width = doc.w - 2 * MARGIN
        height = width * 1080 / 1920
        doc.image(_as_jpeg(png), x=MARGIN, y=(doc.h - height) / 2 - 3, w=width, h=height)


# --- tables -----------------------------------------------------------------------------


def _table(
    doc: _Doc,
    title: str,
    subtitle: str,
    headers: Sequence[str],
    widths: Sequence[float],
    right: set[int],
    rows: list[Sequence[str]],
    *,
    first: int,
    rest: int,
    lead: Sequence[str] = (),
) -> None:
    """Rows on as many portrait pages as needed; an empty list gives one page saying so."""
    chunks = [rows[:first]] + [rows[i : i + rest] for i in range(first, len(rows), rest)]
    for page_no, chunk in enumerate(chunks):
        doc.add_page(orientation="P")
        doc.plain = False
        doc.set_font(FONT, size=16)
        doc.set_text_color(*RED)
        doc.text(MARGIN, MARGIN + 6, title + ("" if page_no == 0 else "（续）"))
        doc.set_text_color(*MUTED)
        doc.set_font(FONT, size=9)
        doc.text(MARGIN, MARGIN + 12, subtitle)
        y = MARGIN + 18
        if page_no == 0:
            for line in lead:
                doc.text(MARGIN, y + 1, doc.fit(line, doc.w - 2 * MARGIN))
                y += 5.5
            y += 1 if lead else 0
        doc.set_text_color(*INK)
        doc.set_fill_color(243, 236, 226)
        doc.rect(MARGIN, y, sum(widths), ROW_H + 1, style="F")
        doc.set_font(FONT, size=9)
        x = MARGIN
        for i, (h, w) in enumerate(zip(headers, widths)):
            doc.text(x + (w - 1.5 - doc.get_string_width(h) if i in right else 1), y + ROW_H - 0.9, h)
            x += w
        y += ROW_H + 1
        doc.set_font(FONT, size=8.5)
        if not chunk:
            doc.set_text_color(*MUTED)
            doc.text(MARGIN + 1, y + ROW_H, "暂无数据（本月无记录）")
            doc.set_text_color(*INK)
        doc.set_draw_color(*RULE)
        for row in chunk:
            x = MARGIN
            for i, (cell, w) in enumerate(zip(row, widths)):
                if cell:
                    if i in right:
                        doc.text(x + w - 1.5 - doc.get_string_width(cell), y + ROW_H - 1.2, cell)
                    else:
                        doc.text(x + 1, y + ROW_H - 1.2, cell)
                x += w
            y += ROW_H
            doc.line(MARGIN, y, MARGIN + sum(widths), y)


def _sub(data: PackData) -> str:
    return f"{data.village} · {data.label} · 并列同分同名次"


def _rank(rank: int | None) -> str:
    """A rank, or "—" for no points in the month (未参与: not ranked)."""
    return "—" if rank is None else str(rank)


def _household_ranking(doc: _Doc, data: PackData) -> None:
    sub = _sub(data)
    rows = []
    for r in _ranked_households(data):
        number, _house, members = data.household_details.get(r.id, ("", None, 0))
        rows.append(
            (
                _rank(r.rank),
                number,
                r.name,
                r.group,
                str(members),
                _fmt(r.points),
                f"{r.per_head or 0:.1f}",
                str(data.household_entries.get(r.id, 0)),
            )
        )
    _table(
        doc,
        f"农户积分排行（前 {RANKING_ROWS} 户）",
        sub,
        ("名次", "户号", "户主", "村民小组", "人数", "积分", "人均", "条目"),
        (14, 18, 34, 34, 16, 24, 22, 20),
        {0, 4, 5, 6, 7},
        rows,
        first=TABLE_ROWS,
        rest=TABLE_ROWS,
    )


def _villager_ranking(doc: _Doc, data: PackData) -> None:
    sub = _sub(data)
    rows = [(_rank(r.rank), r.name, r.group, _fmt(r.points)) for r in data.villagers]
    _table(
        doc,
        f"村民个人积分排行（前 {RANKING_ROWS} 名）",
        sub,
        ("名次", "姓名", "村民小组", "积分"),
        (16, 60, 60, 30),
        {0, 3},
        rows,
        first=TABLE_ROWS,
        rest=TABLE_ROWS,
    )


def _group_ranking(doc: _Doc, data: PackData) -> None:
    sub = _sub(data)
    part = {g.group_id: g for g in data.group_participation}
    rows = []
    for r in data.groups:
        g = part.get(r.id)
        rows.append(
            (
                _rank(r.rank),
                r.name,
                _fmt(r.points),
                f"{r.per_head or 0:.2f}",
                f"{g.took_part}/{g.households}" if g else "",
                _rate(g.rate) if g else "",
            )
        )
    _table(
        doc,
        "村民小组积分汇总",
        sub,
        ("名次", "村民小组", "总积分", "人均积分", "参与户", "参与率"),
        (16, 50, 30, 30, 30, 26),
        {0, 2, 3, 4, 5},
        rows,
        first=TABLE_ROWS,
        rest=TABLE_ROWS,
    )


# --- certificates -----------------------------------------------------------------------

#: Characters a line must not start with (they go with the text before them).
NO_LINE_START = set("，。、；：？！）》」』”’%％")
CERT_BODY_PT = 24
CERT_MARGIN_X = 46.0  # text block inset from the page edge (mm)
SEAL_BOX = (62.0, 52.0)  # width × height (mm) kept clear for the seal around the signature


def certificate_atoms(parts: Sequence[tuple[str, bool]]) -> list[str]:
    """Pieces a certificate line may break between: ``(text, keep)`` parts, where a kept
    part (a name, a number with its unit, a month, a tier) never breaks and other text
    breaks between characters; closing punctuation sticks to the piece before it."""
    atoms: list[str] = []
    for text, keep in parts:
        pieces = [text] if keep else list(text)
        for piece in pieces:
            if atoms and piece[0] in NO_LINE_START:
                atoms[-1] += piece
            else:
                atoms.append(piece)
    return atoms


def break_lines(atoms: Sequence[str], width: float, measure) -> list[str]:
    """Greedy line filling: as many atoms as fit in ``width`` (by ``measure``) per line."""
    lines: list[str] = []
    line = ""
    for atom in atoms:
        if line and measure(line + atom) > width:
            lines.append(line)
            line = atom
        else:
            line += atom
    if line:
        lines.append(line)
    return lines


@dataclass
class CertificateText:
    salutation: str
    body: list[str]  # the paragraph, broken into lines
    tier: str
    closing: str
    committee: str
    date: str
    kept: list[str]  # the parts that must not break (tests check them)


def certificate_text(doc: _Doc, data: PackData, name: str, points: int, tier: str, width: float) -> CertificateText:
    """The words of one 奖状, broken into lines ``width`` mm wide at CERT_BODY_PT."""
    month, pts = data.label, f"{_fmt(points)}分"
    parts = [
        ("\u3000\u3000", True),
        ("贵户在", False),
        (month, True),
        ("乡村治理积分评比中，以月度积分", False),
        (pts, True),
        ("荣获", False),
    ]
    doc.set_font(FONT, size=CERT_BODY_PT)
    body = break_lines(certificate_atoms(parts), width, doc.get_string_width)
    return CertificateText(
        salutation=f"{name}户：",
        body=body,
        tier=tier,
        closing="\u3000\u3000特发此状，以资鼓励。",
        committee=f"{data.village}村民委员会",
        date=chinese_month(data.certificate_day),
        kept=[name, month, pts, tier],
    )


def _bold_text(doc: _Doc, x: float, y: float, text: str, size: float, color=INK) -> None:
    """Bold by stroking the glyph outlines in the text colour (the shipped face is Regular)."""
    doc.set_font(FONT, size=size)
    doc.set_text_color(*color)
    doc.set_draw_color(*color)
    doc.set_line_width(size * 0.012)
    doc.text_mode = TextMode.FILL_STROKE
    doc.text(x, y, text)
    doc.text_mode = TextMode.FILL
    doc.set_line_width(0.2)
    doc.set_text_color(*INK)


def _certificates(doc: _Doc, data: PackData) -> None:
    for r in data.top:
        tier = data.tier_of(r.rank) or ""
        doc.add_page(orientation="L")
        doc.plain = True  # read when this page is closed
        w, h = doc.w, doc.h
        doc.set_draw_color(*RED)
        doc.set_line_width(2.2)
        doc.rect(10, 10, w - 20, h - 20)
        doc.set_draw_color(*GOLD)
        doc.set_line_width(0.8)
        doc.rect(15, 15, w - 30, h - 30)
        doc.set_line_width(0.2)
        title = "奖\u3000状"
        doc.set_font(FONT, size=56)
        _bold_text(doc, (w - doc.get_string_width(title)) / 2, 50, title, 56, RED)
        text = certificate_text(doc, data, r.name, r.points, tier, w - 2 * CERT_MARGIN_X)
        _bold_text(doc, CERT_MARGIN_X - 10, 72, text.salutation, 26)
        doc.set_font(FONT, size=CERT_BODY_PT)
        y = 86.0
        for line in text.body:
            doc.text(CERT_MARGIN_X, y, line)
            y += 12
        doc.set_font(FONT, size=44)
        _bold_text(doc, (w - doc.get_string_width(text.tier)) / 2, y + 8, text.tier, 44, RED)
        doc.set_font(FONT, size=CERT_BODY_PT)
        doc.text(CERT_MARGIN_X, y + 26, text.closing)
        # signature and date at the bottom right; the seal is stamped over them, so the box
        # around them (SEAL_BOX) holds nothing else
        doc.set_font(FONT, size=20)
        right = w - CERT_MARGIN_X
        doc.text(right - doc.get_string_width(text.committee), h - 46, text.committee)
        doc.text(right - doc.get_string_width(text.date), h - 34, text.date)
        doc.set_font(FONT, size=9)
        doc.set_text_color(*MUTED)
        doc.text(24, h - 20, f"{r.group} · {data.month}")
        doc.set_text_color(*INK)


# --- 星级文明户 ---------------------------------------------------------------------------


def _star_list(doc: _Doc, data: PackData) -> None:
    period = data.star_period
    label = period_label(period, PRINT_LOCALE)
    rows = [("★" * r.stars, r.name, r.group, _fmt(r.points)) for r in data.stars]
    _table(
        doc,
        f"{data.village} {label} 星级文明户名单",
        f"按{label}积分评定，积分来自已审核记录",
        ("星级", "户主", "村民小组", "积分"),
        (36, 60, 60, 30),
        {3},
        rows,
        first=TABLE_ROWS,
        rest=TABLE_ROWS,
    )


# --- 公示 -------------------------------------------------------------------------------


def _notice(doc: _Doc, data: PackData) -> None:
    """Each notice of the month as it was published (its own list, check code and window), then
    the entries no notice lists yet under their own title: never one list mixing them."""
    widths = (15, 13, 18, 20, 20, 64, 14, 18)
    doc.set_font(FONT, size=8.5)  # cut long rule names once, at the table's font size
    for sec in data.notice_sections:
        rows = []
        for e in sec.entries:
            note = f"更正 #{e.corrects_seq}" if e.corrects_seq else ("封顶" if e.capped else "")
            rows.append(
                (
                    str(e.seq),
                    f"{e.occurred_on:%m-%d}",
                    e.group,
                    e.head,
                    e.villager or "（全户）",
                    doc.fit(e.rule_name or e.kind_label, widths[5] - 2),
                    _fmt(e.points),
                    note,
                )
            )
        total = sum(e.points for e in sec.entries)
        lead = [*sec.lead, f"共 {len(rows)} 条记录，合计 {_fmt(total)} 分；更正记录注明原记录序号。"]
        _table(
            doc,
            f"{data.village} {sec.title}",
            sec.subtitle,
            ("序号", "日期", "小组", "户主", "姓名", "事项", "积分", "备注"),
            widths,
            {0, 6},
            rows,
            first=NOTICE_ROWS_FIRST,
            rest=NOTICE_ROWS,
            lead=lead,
        )
        doc.set_font(FONT, size=8.5)


def build_pdf(data: PackData, chart_pngs: Sequence[bytes], path: Path) -> dict[str, int]:
    """Draw the PDF; returns the pages per section."""
    doc = _Doc(f"{data.village} {data.label} 积分月报", _characters(data))
    doc.set_title(f"{data.village} {data.label} 乡村治理积分月报")
    doc.set_creator("pointsapp")
    counts: dict[str, int] = {}

    def section(name: str, draw) -> None:
        before = doc.page_no()
        draw()
        counts[name] = doc.page_no() - before

    section("cover", lambda: _cover(doc, data))
    section("charts", lambda: _chart_pages(doc, chart_pngs))
    section("households", lambda: _household_ranking(doc, data))
    section("villagers", lambda: _villager_ranking(doc, data))
    section("groups", lambda: _group_ranking(doc, data))
    section("certificates", lambda: _certificates(doc, data))
    section("stars", lambda: _star_list(doc, data))
    section("notice", lambda: _notice(doc, data))
    doc.output(str(path))
    return counts
