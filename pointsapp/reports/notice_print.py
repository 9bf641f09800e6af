"""The printed 公示 a village posts on its notice board: the entries of a notice, grouped by
村民小组 and household, one line per household with its points by category, deductions,
corrections and the household total; a subtotal per group and the village total.

Everything is 11 pt or larger, so it reads on a board; for the demo village (529
households, a few thousand entries a month) a month fits in about a dozen A4 pages, where
the entry-by-entry list in ledger order ran to 100.

The print is a function of *the entries of a notice* (``NoticeLine`` rows), so it works
whatever decides which entries a notice holds (a month's entries, a frozen list, a
supplement): ``build_sheet`` pivots them with pandas, ``build_notice_pdf`` draws the sheet.
Households with no entry in the notice are not listed (a note says so). Names are masked
(向*明) as on every public page; the 户号 lets a household find its line.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Sequence

import pandas as pd
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..points.ledger import EntryKind, LedgerEntry
from ..points.names import mask_name
from ..points.registry import Group, Household, Village, Villager
from ..points.rules import RuleVersion
from ..web.labels import PRINT_LOCALE, kind_label
from .fonts import font_paths
from .services import OTHER_CATEGORY

logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

DEDUCTIONS = kind_label(EntryKind.deduction, PRINT_LOCALE)  # 扣分
CORRECTIONS = kind_label(EntryKind.correction, PRINT_LOCALE)  # 更正
MAX_CATEGORY_COLUMNS = 9  # more categories fold into 其他
FONT = "cjk"
PT = 11.0  # every text on the sheet is at least this size
TITLE_PT = 18.0
ROW_H = 5.3  # mm per table row at 11 pt
MARGIN = 12.0
INK, MUTED, RED, RULE = (27, 27, 27), (90, 90, 90), (179, 38, 30), (190, 190, 190)
SHADE = (243, 236, 226)


@dataclass(frozen=True)
class NoticeLine:
    """One entry of a notice, as the print needs it."""

    group_order: int
    group: str
    household_id: int
    household_no: str
    head: str | None
    category: str | None
    kind: str
    points: int


@dataclass
class HouseholdLine:
    number: str
    head: str
    cells: dict[str, int]  # column → points (absent: none)
    total: int
    entries: int


@dataclass
class GroupBlock:
    name: str
    households: list[HouseholdLine]
    total: int
    entries: int


@dataclass
class NoticeSheet:
    columns: list[str]  # categories, then 扣分 / 更正 when present
    groups: list[GroupBlock]
    total: int
    entries: int

    @property
    def households(self) -> int:
        return sum(len(g.households) for g in self.groups)


def _column(line: NoticeLine) -> str:
    kind = EntryKind(line.kind)
    if kind == EntryKind.correction:
        return CORRECTIONS
    if kind == EntryKind.deduction or line.points < 0:
        return DEDUCTIONS
    return line.category or OTHER_CATEGORY


def _number_key(number: str) -> tuple:
    return (0, int(number), "") if number.isdigit() else (1, 0, number)


def build_sheet(lines: Iterable[NoticeLine], *, mask: bool = True) -> NoticeSheet:
    """Pivot the entries: households × columns, with totals (spending entries are left out)."""
    rows = [ln for ln in lines if not EntryKind(ln.kind).spends]
    if not rows:
        return NoticeSheet([], [], 0, 0)
    df = pd.DataFrame(
        [
            {
                "go": ln.group_order,
                "group": ln.group,
                "hid": ln.household_id,
                "no": ln.household_no,
                "head": ln.head or "",
                "col": _column(ln),
                "points": ln.points,
            }
            for ln in rows
        ]
    )
    by_col = df.groupby("col")["points"].sum()
    cats = [c for c in by_col.sort_values(ascending=False).index if c not in (DEDUCTIONS, CORRECTIONS)]
    if len(cats) > MAX_CATEGORY_COLUMNS:
        keep = set(cats[: MAX_CATEGORY_COLUMNS - 1])
        df.loc[~df["col"].isin(keep | {DEDUCTIONS, CORRECTIONS}), "col"] = OTHER_CATEGORY
        cats = cats[: MAX_CATEGORY_COLUMNS - 1] + [OTHER_CATEGORY]
    columns = cats + [c for c in (DEDUCTIONS, CORRECTIONS) if c in by_col.index]
    pivot = df.pivot_table(index=["go", "group", "hid", "no", "head"], columns="col", values="points", aggfunc="sum")
    counts = df.groupby("hid").size()
    groups: dict[tuple[int, str], list[HouseholdLine]] = {}
    for (go, group, hid, no, head), values in pivot.iterrows():
        cells = {c: int(values[c]) for c in columns if c in values.index and not pd.isna(values[c])}
        name = (mask_name(head) if mask else head) if head else f"{no}号户"
        groups.setdefault((go, group), []).append(
            HouseholdLine(str(no), name, cells, sum(cells.values()), int(counts[hid]))
        )
    blocks = []
    for (_go, group), households in sorted(groups.items(), key=lambda kv: kv[0]):
        households.sort(key=lambda h: _number_key(h.number))
        blocks.append(
            GroupBlock(group, households, sum(h.total for h in households), sum(h.entries for h in households))
        )
    return NoticeSheet(columns, blocks, sum(b.total for b in blocks), len(rows))


def notice_lines(
    session: Session,
    village: Village,
    entry_ids: Sequence[int] | None = None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[NoticeLine]:
    """The print's rows for the given entries (or the village's entries dated start..end)."""
    head = aliased(Villager)
    q = (
        select(
            Group.sort_key,
            Group.name,
            Household.id,
            Household.number,
            head.name,
            RuleVersion.category,
            LedgerEntry.kind,
            LedgerEntry.points,
        )
        .select_from(LedgerEntry)
        .join(Household, Household.id == LedgerEntry.household_id)
        .join(Group, Group.id == Household.group_id)
        .outerjoin(head, head.id == Household.head_id)
        .outerjoin(RuleVersion, RuleVersion.id == LedgerEntry.rule_version_id)
        .where(LedgerEntry.village_id == village.id)
    )
    if entry_ids is not None:
        ids = list(entry_ids)
        out = []
        for i in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            out += [NoticeLine(*r) for r in session.execute(q.where(LedgerEntry.id.in_(ids[i : i + 900])))]
        return out
    if start is not None and end is not None:
        q = q.where(LedgerEntry.occurred_on.between(start, end))
    return [NoticeLine(*r) for r in session.execute(q)]


# --- the PDF -----------------------------------------------------------------------------


@dataclass
class NoticeHeader:
    village: str
    title: str  # e.g. "2026年11月积分公示"
    window: str  # the objection window, in words
    digest: str  # "截至第 N 条" and the hash
    phone: str | None
    issued: str  # the date printed at the bottom
    notes: list[str] = field(default_factory=list)


def _fmt(v: int) -> str:
    return f"{v:,}".replace("-", "−")


def _header_lines(name: str, width_chars: int = 2) -> list[str]:
    """A column title over at most two lines of a few characters each."""
    if len(name) <= width_chars + 1:
        return [name]
    half = math.ceil(len(name) / 2)
    return [name[:half], name[half:]]


def _characters(header: NoticeHeader, sheet: NoticeSheet) -> list[int] | None:
    """The characters the sheet can draw (this module's own text, ASCII, the data): fpdf2
    then reads only their metrics from the 33,000-glyph font, several times faster."""
    try:
        chars = set(Path(__file__).read_text(encoding="utf-8"))
    except OSError:
        return None
    chars.update(chr(c) for c in range(0x20, 0x7F))
    chars.update(
        "".join(
            [
                header.village,
                header.title,
                header.window,
                header.digest,
                header.phone or "",
                header.issued,
                *header.notes,
                *sheet.columns,
            ]
        )
    )
    for g in sheet.groups:
        chars.update(g.name)
        for h in g.households:
            chars.update(h.head + h.number)
    return sorted(ord(c) for c in chars if c.isprintable())


class _Sheet(FPDF):
    def __init__(self, footer: str, characters: list[int] | None = None):
        super().__init__(format="A4", unit="mm")
        self.footer_text = footer
        self.set_auto_page_break(False)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.add_font(FONT, "", str(font_paths()[0]), unicode_range=characters)
        self.set_font(FONT, size=PT)

    def footer(self):
        self.set_font(FONT, size=PT)
        self.set_text_color(*MUTED)
        text = f"{self.footer_text}  第 {self.page_no()} 页"
        self.text(self.w - MARGIN - self.get_string_width(text), self.h - 6, text)
        self.set_text_color(*INK)


def _widths(doc: _Sheet, columns: Sequence[str]) -> tuple[list[float], list[str]]:
    fixed = [("户号", 14.0), ("户主", 22.0)]
    total_w = 16.0
    room = doc.w - 2 * MARGIN - sum(w for _h, w in fixed) - total_w
    each = min(18.0, room / max(1, len(columns)))
    heads = [h for h, _w in fixed] + list(columns) + ["合计"]
    return [w for _h, w in fixed] + [each] * len(columns) + [total_w], heads


def build_notice_pdf(header: NoticeHeader, sheet: NoticeSheet, path: Path) -> int:
    """Draw the sheet on A4 portrait pages; returns the number of pages."""
    doc = _Sheet(f"{header.village} {header.title}", _characters(header, sheet))
    doc.set_title(f"{header.village} {header.title}")
    doc.set_creator("pointsapp")
    widths, heads = _widths(doc, sheet.columns)
    numeric = set(range(2, len(heads)))
    bottom = doc.h - MARGIN - 6

    def new_page(first: bool) -> float:
        doc.add_page()
        y = MARGIN
        if first:
            doc.set_font(FONT, size=TITLE_PT)
            doc.set_text_color(*RED)
            title = f"{header.village}{header.title}"
            doc.text((doc.w - doc.get_string_width(title)) / 2, y + 7, title)
            doc.set_text_color(*INK)
            y += 12
            doc.set_font(FONT, size=PT)
            lead = [header.window]
            if header.phone:
                lead.append(f"有疑问或漏记，请在公示期内联系村委会：{header.phone}")
            lead += header.notes
            for line in lead:
                for part in _wrap(doc, line, doc.w - 2 * MARGIN):
                    doc.text(MARGIN, y + 4, part)
                    y += ROW_H
            y += 1
        else:
            doc.set_font(FONT, size=PT)
            doc.set_text_color(*MUTED)
            doc.text(MARGIN, y + 4, f"{header.village}{header.title}（续）")
            doc.set_text_color(*INK)
            y += ROW_H + 1
        # column titles, up to two lines
        lines = [_header_lines(h) for h in heads]
        depth = max(len(x) for x in lines)
        doc.set_fill_color(*SHADE)
        doc.rect(MARGIN, y, sum(widths), depth * ROW_H, style="F")
        x = MARGIN
        for i, (parts, w) in enumerate(zip(lines, widths)):
            for j, part in enumerate(parts):
                tx = x + w - 1.2 - doc.get_string_width(part) if i in numeric else x + 1.2
                doc.text(tx, y + (j + 1) * ROW_H - 1.3, part)
            x += w
        return y + depth * ROW_H

    def row(y: float, cells: Sequence[str], shade: bool = False) -> float:
        x = MARGIN
        if shade:  # a group's title row: its name runs across the columns, its total at the end
            doc.set_fill_color(*SHADE)
            doc.rect(MARGIN, y, sum(widths), ROW_H, style="F")
            doc.text(x + 1.2, y + ROW_H - 1.3, cells[0])
            cells = ["", *cells[1:]]
        for i, (cell, w) in enumerate(zip(cells, widths)):
            if cell:
                if i in numeric:
                    doc.text(x + w - 1.2 - doc.get_string_width(cell), y + ROW_H - 1.3, cell)
                else:
                    doc.text(x + 1.2, y + ROW_H - 1.3, doc_fit(doc, cell, w - 2))
            x += w
        doc.set_draw_color(*RULE)
        doc.line(MARGIN, y + ROW_H, MARGIN + sum(widths), y + ROW_H)
        return y + ROW_H

    doc.set_font(FONT, size=PT)
    y = new_page(True)
    if not sheet.groups:
        doc.text(MARGIN, y + ROW_H, "本次公示没有积分记录。")
    for block in sheet.groups:
        if y + 2 * ROW_H > bottom:  # a group title never ends a page
            y = new_page(False)
        title = f"{block.name}  {len(block.households)} 户  {block.entries} 条记录"
        y = row(y, [title, "", *[""] * len(sheet.columns), _fmt(block.total)], shade=True)
        for h in block.households:
            if y + ROW_H > bottom:
                y = new_page(False)
            cells = [h.number, h.head] + [_fmt(h.cells[c]) if c in h.cells else "" for c in sheet.columns]
            y = row(y, cells + [_fmt(h.total)])
    # the end: village total, digest, signatures
    closing = [f"全村合计：{sheet.households} 户，{sheet.entries} 条记录，{_fmt(sheet.total)} 分。", header.digest]
    need = sum(len(_wrap(doc, c, doc.w - 2 * MARGIN)) for c in closing) * (ROW_H + 1) + 6 + 4 * ROW_H + 8
    if y + need > bottom:
        y = new_page(False)
    y += 3
    for c in closing:
        for part in _wrap(doc, c, doc.w - 2 * MARGIN):
            doc.text(MARGIN, y + 4, part)
            y += ROW_H + 1
    # signatures: room for the committee's seal and the supervisors' signatures
    y += 6
    doc.text(MARGIN, y + 4, "村民委员会（盖章）：")
    doc.text(doc.w / 2, y + 4, "村务监督委员会（签字）：")
    doc.text(doc.w - MARGIN - doc.get_string_width(header.issued), y + 4 + 3 * ROW_H, header.issued)
    doc.output(str(path))
    return doc.page_no()


def doc_fit(doc: FPDF, text: str, width: float) -> str:
    if doc.get_string_width(text) <= width:
        return text
    while text and doc.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _wrap(doc: FPDF, text: str, width: float) -> list[str]:
    """Break text into lines of ``width`` mm, between characters (Latin runs kept whole)."""
    out, line = [], ""
    for piece in _pieces(text):
        if line and doc.get_string_width(line + piece) > width:
            out.append(line)
            line = piece.lstrip()
        else:
            line += piece
    if line:
        out.append(line)
    return out


def _pieces(text: str) -> list[str]:
    pieces, run = [], ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            run += ch
            continue
        if run:
            pieces.append(run)
            run = ""
        pieces.append(ch)
    if run:
        pieces.append(run)
    return pieces


# --- a month's notice ----------------------------------------------------------------------


def _cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def month_notice_pdf(
    session: Session,
    village: Village,
    month: str,
    path: Path,
    *,
    number: int | None = None,
    now: dt.datetime | None = None,
) -> tuple[NoticeSheet, int]:
    """The printed 公示 of a month: (sheet, pages).

    Once the month is published, the print is one notice exactly as it was published: the
    entries it lists, its window and its own check code. ``number`` picks the notice (1, the
    default, is the main one; 2.. the supplements, 补充公示), each posted on the board as it is
    published. Before the month is published, a draft of the posted entries dated in the month.
    Raises LookupError for a notice number the month does not have.
    """
    from ..points.notice import listed_entries, notices_of_month
    from ..points.periods import local_today, parse_month

    p = parse_month(month)
    notices = notices_of_month(session, village, p.key)
    title = f"{p.start.year}年{p.start.month}月积分公示"
    notes = [
        "按村民小组和农户汇总本月已审核的积分记录（单位：分）；本月没有记录的农户不列出。"
        "每条记录的明细可在本户积分卡上查看。"
    ]
    if notices:
        chosen = [n for n in notices if n.number == (number or 1)]
        if not chosen:
            raise LookupError(f"{p.key} has no notice number {number}")
        n = chosen[0]
        lines = notice_lines(session, village, [e.id for e in listed_entries(session, n)])
        if n.number > 1:
            title = f"{p.start.year}年{p.start.month}月积分补充公示（第{n.number - 1}次）"
            notes = [
                f"列出{p.start.month}月公示发布之后入账的本月记录（单位：分），此前的公示不变。"
                "每条记录的明细可在本户积分卡上查看。"
            ]
        window = (
            f"公示期：{_cn_date(n.opens_on)}至{_cn_date(n.closes_on)}。对本户记录有异议的，"
            "请在公示期内扫描门牌上的积分卡二维码提出，或向村委会反映。"
        )
        seal = (
            f"公示核对码（{_cn_date(n.opens_on)}发布，{n.entry_count} 条记录，截至账本第 {n.head_seq} 条）：{n.digest}"
        )
    elif number not in (None, 1):
        raise LookupError(f"{p.key} has no notice number {number}")
    else:
        lines = notice_lines(session, village, start=p.start, end=p.end)
        window = "草稿：本月尚未发布公示。"
        seal = "草稿：发布公示后才有核对码。"
    sheet = build_sheet(lines)
    header = NoticeHeader(
        village=village.name,
        title=title,
        window=window,
        digest=seal,
        phone=village.committee_phone,
        issued=f"打印日期：{_cn_date(local_today(village.timezone, now))}",
        notes=notes,
    )
    pages = build_notice_pdf(header, sheet, path)
    return sheet, pages
