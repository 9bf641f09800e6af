"""Streaming exports: the ledger (whole or filtered) as CSV or xlsx (the roster's export is the
core's ``points/imports/roster_export.py``). No Flask here: the views wrap these generators / files in responses.

The ledger is read with the core's ``iter_entries`` (pages by seq), and names come from
small per-village lookups, so memory stays bounded however long the ledger is. CSV rows are
yielded as text; the xlsx goes through openpyxl's write-only workbook into a temporary file.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from dataclasses import dataclass
from typing import IO
from collections.abc import Iterable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..points.ledger import LedgerEntry, iter_entries
from ..points import periods
from ..points.periods import parse_period, zone_of
from ..points.spreadsheets import csv_writer, xlsx_row
from ..points.registry import Group, Household, Village, Villager
from ..points.rules import Rule, RuleVersion
from ..web.labels import PRINT_LOCALE, kind_label

LEDGER_HEADERS = (
    "村",
    "序号",
    "记录ID",
    "日期",
    "村民小组",
    "户号",
    "户主",
    "姓名",
    "规则编号",
    "事项",
    "类别",
    "类型",
    "数量",
    "申请积分",
    "积分",
    "封顶",
    "更正原记录",
    "备注",
    "登记时间",
    "哈希",
)


@dataclass
class LedgerFilter:
    period: str = "all"
    group_id: int | None = None
    rule_code: str | None = None

    @property
    def dates(self) -> tuple[dt.date | None, dt.date | None]:
        p = parse_period(self.period)
        return p.start, p.end

    def slug(self) -> str:
        parts = [parse_period(self.period).key]
        if self.group_id:
            parts.append(f"g{self.group_id}")
        if self.rule_code:
            parts.append(self.rule_code)
        return "-".join(parts)


class _Lookups:
    """Names for one village's entries, loaded once per village."""

    def __init__(self, session: Session, village: Village):
        self.session, self.village = session, village
        self.groups = dict(session.execute(select(Group.id, Group.name).where(Group.village_id == village.id)).all())
        heads = dict(session.execute(select(Villager.id, Villager.name).where(Villager.village_id == village.id)).all())
        self.people = heads
        self.households = {
            hid: (number, heads.get(head, f"#{number}"))
            for hid, number, head in session.execute(
                select(Household.id, Household.number, Household.head_id).where(Household.village_id == village.id)
            )
        }
        self.rules = dict(session.execute(select(Rule.id, Rule.code).where(Rule.village_id == village.id)).all())
        self.versions = {
            vid: (name, cat)
            for vid, name, cat in session.execute(
                select(RuleVersion.id, RuleVersion.name, RuleVersion.category)
                .join(Rule, Rule.id == RuleVersion.rule_id)
                .where(Rule.village_id == village.id)
            )
        }
        self._seq: dict[int, int] = {}

    def seq_of(self, entry_id: int | None) -> int | None:
        if entry_id is None:
            return None
        if entry_id not in self._seq:
            self._seq[entry_id] = self.session.execute(
                select(LedgerEntry.seq).where(LedgerEntry.id == entry_id)
            ).scalar_one_or_none()
        return self._seq[entry_id]

    def rule_id(self, code: str) -> int | None:
        return next((rid for rid, c in self.rules.items() if c == code), None)


def ledger_rows(session: Session, villages: Iterable[Village], flt: LedgerFilter) -> Iterator[tuple]:
    """Rows of LEDGER_HEADERS for the villages' entries matching the filter, in seq order."""
    start, end = flt.dates
    for village in villages:
        look = _Lookups(session, village)
        rule_id = look.rule_id(flt.rule_code) if flt.rule_code else None
        if flt.rule_code and rule_id is None:
            continue
        zone = zone_of(village)
        for e in iter_entries(session, village, start, end):
            if flt.group_id is not None and e.group_id != flt.group_id:
                continue
            if rule_id is not None and e.rule_id != rule_id:
                continue
            number, head = look.households.get(e.household_id, ("", ""))
            name, category = look.versions.get(e.rule_version_id, ("", ""))
            kind = getattr(e.kind, "value", e.kind)
            yield (
                village.name,
                e.seq,
                e.id,
                e.occurred_on,
                look.groups.get(e.group_id, ""),
                number,
                head,
                look.people.get(e.villager_id, "") if e.villager_id else "",
                look.rules.get(e.rule_id, ""),
                name,
                category,
                kind_label(kind, PRINT_LOCALE),
                e.quantity,
                e.requested_points,
                e.points,
                "是" if e.capped else "",
                look.seq_of(e.corrects_id) or "",
                e.note or "",
                local_time(e.recorded_at, zone),
                e.hash,
            )


def local_time(at: dt.datetime | None, zone: str) -> dt.datetime | str:
    """A stored UTC time as the village's wall-clock time, without a zone (Excel has none)."""
    if at is None:
        return ""
    return periods.local_time(at, zone).replace(tzinfo=None, microsecond=0)


def csv_stream(rows: Iterable[tuple], headers: tuple[str, ...], *, flush_every: int = 500) -> Iterator[str]:
    """CSV text in pieces (UTF-8 with BOM so Excel reads the Chinese)."""
    buf = io.StringIO()
    writer = csv_writer(buf)  # text that looks like a formula is written as text
    buf.write("\ufeff")
    writer.writerow(headers)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % flush_every == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def sheet_setup(ws, *, landscape: bool = True) -> None:
    """Print setup: A4, landscape, fit to one page wide, the header row repeated on every
    printed page. Call before the first row (write-only sheets write these first)."""
    ws.print_title_rows = "1:1"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True


def set_autofilter(ws, columns: int, rows: int) -> None:
    """An autofilter over the header and ``rows`` data rows (write-only sheets write it at
    the end, so it can be set after the rows)."""
    from openpyxl.utils import get_column_letter

    ws.auto_filter.ref = f"A1:{get_column_letter(max(1, columns))}{max(1, rows) + 1}"


def typed_cell(ws, value):
    """Dates and times as real Excel dates, in a readable format."""
    from openpyxl.cell import WriteOnlyCell  # openpyxl only where a workbook is written

    if isinstance(value, dt.datetime):
        c = WriteOnlyCell(ws, value=value)
        c.number_format = DATETIME_FORMAT
        return c
    if isinstance(value, dt.date):
        c = WriteOnlyCell(ws, value=value)
        c.number_format = DATE_FORMAT
        return c
    return value


def xlsx_file(
    rows: Iterable[tuple],
    headers: tuple[str, ...],
    sheet: str,
    *,
    text_columns: set[str] = frozenset(),
    widths: dict[str, int] | None = None,
    total_of: set[str] = frozenset(),
) -> IO[bytes]:
    """Write rows to a write-only workbook in a temporary file; returns it opened at 0.

    Dates are real dates; ``total_of`` columns get a 合计 row (values, not formulas). The
    sheet has an autofilter and prints landscape, one page wide. The file is already
    unlinked (it disappears when closed)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    ws.freeze_panes = "A2"
    sheet_setup(ws)
    totals = {i: 0 for i, h in enumerate(headers) if h in total_of}

    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(h, max(8, len(h) * 2 + 2))
    bold = Font(bold=True)
    head = []
    for h in headers:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        head.append(c)
    ws.append(head)
    text_idx = [i for i, h in enumerate(headers) if h in text_columns]
    count = 0
    for row in rows:
        count += 1
        for i in totals:
            if isinstance(row[i], int):
                totals[i] += row[i]
        values = [typed_cell(ws, v) for v in row]
        for i in text_idx:
            if values[i] not in (None, ""):
                c = WriteOnlyCell(ws, value=str(values[i]))
                c.number_format = "@"
                values[i] = c
        ws.append(xlsx_row(ws, values))  # text stays text, never a formula
    set_autofilter(ws, len(headers), count)  # the 合计 row stays outside the filter
    if totals:
        last = []
        for i in range(len(headers)):
            c = WriteOnlyCell(ws, value="合计" if i == 0 else totals.get(i))
            c.font = bold
            last.append(c)
        ws.append(last)
    fh = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115  (returned open, for send_file)
    book.save(fh)
    fh.seek(0)
    return fh


LEDGER_WIDTHS = {
    "村": 10,
    "日期": 11,
    "村民小组": 10,
    "户主": 10,
    "姓名": 10,
    "事项": 28,
    "类别": 10,
    "备注": 24,
    "登记时间": 19,
    "哈希": 66,
}


def ledger_xlsx(session: Session, villages: Iterable[Village], flt: LedgerFilter) -> IO[bytes]:
    return xlsx_file(
        ledger_rows(session, villages, flt),
        LEDGER_HEADERS,
        "积分明细",
        text_columns={"户号", "规则编号", "哈希"},
        widths=LEDGER_WIDTHS,
        total_of={"申请积分", "积分"},
    )


def entry_count(session: Session, village: Village, flt: LedgerFilter) -> int:
    """How many entries the filter selects (tests and the export page)."""
    start, end = flt.dates
    q = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.village_id == village.id)
    if start:
        q = q.where(LedgerEntry.occurred_on.between(start, end))
    if flt.group_id is not None:
        q = q.where(LedgerEntry.group_id == flt.group_id)
    if flt.rule_code:
        q = q.join(Rule, Rule.id == LedgerEntry.rule_id).where(Rule.code == flt.rule_code)
    return session.execute(q).scalar_one()
