"""The roster (花名册) export: one file, in the layout the roster import reads, so that exporting
and importing it again changes nothing (tests/points/test_roster_export.py).

Every person of the village is listed, by group, 户号 (numerically) and head first; people who
moved out or died stay listed with a note (备注 迁出 / 已故), as on the paper roster. A title row
sits above the header, as in the rosters villages keep. Every cell goes through
``points/spreadsheets.py``, so a name typed as ``=...`` stays text. The file holds phone numbers:
the export is refused to anyone but the village's admins, and audited.
"""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit import record
from ..policy import require
from ..registry import Group, Household, StaffUser, Village, Villager, VillagerStatus
from ..spreadsheets import text_only

ROSTER_HEADERS = (
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
#: Columns written as text cells: keeps "001" and long phone numbers as they are.
TEXT_HEADERS = ("户号", "出生年月", "联系电话", "门牌号")
STATUS_NOTE = {VillagerStatus.moved_out: "迁出", VillagerStatus.deceased: "已故"}
WIDTHS = (6, 10, 6, 10, 10, 10, 6, 10, 14, 8, 8)

Row = tuple[int, str, str, str, str, str | None, str | None, str | None, str | None, str | None, str | None]


def birth_text(year: int | None, month: int | None) -> str | None:
    """出生年月 as the roster writes it: 1958-05, or 1958 when only the year is known."""
    if year and month:
        return f"{year:04d}-{month:02d}"
    return str(year) if year else None


def roster_rows(session: Session, village: Village) -> list[Row]:
    """One row of ROSTER_HEADERS per person: by group, 户号 (numerically), head first."""
    rows = session.execute(
        select(Villager, Household, Group)
        .join(Household, Household.id == Villager.household_id)
        .join(Group, Group.id == Household.group_id)
        .where(Villager.village_id == village.id)
        .order_by(Group.sort_key, Group.id, func.length(Household.number), Household.number, Villager.id)
    ).all()
    heads = dict(
        session.execute(
            select(Household.id, Villager.name)
            .join(Villager, Villager.id == Household.head_id)
            .where(Household.village_id == village.id)
        ).all()
    )
    people = sorted(
        rows, key=lambda t: (t[2].sort_key, t[2].id, len(t[1].number), t[1].number, t[1].head_id != t[0].id, t[0].id)
    )
    return [
        (
            n,
            g.name,
            h.number,
            heads.get(h.id, ""),
            v.name,
            v.relation,
            v.sex,
            birth_text(v.birth_year, v.birth_month),
            v.phone,
            h.house_number,
            STATUS_NOTE.get(VillagerStatus(v.status)),
        )
        for n, (v, h, g) in enumerate(people, start=1)
    ]


def roster_workbook(village: Village, rows: list[Row], *, title_date: str) -> bytes:
    """The rows as .xlsx: a title row, the header, one row per person; no cell is a formula."""
    from openpyxl import Workbook  # openpyxl only where a workbook is written
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "花名册"
    sheet.append([f"{village.name}村民花名册（{title_date}导出）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(ROSTER_HEADERS))
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    sheet.append(list(ROSTER_HEADERS))
    text_columns = {ROSTER_HEADERS.index(h) for h in TEXT_HEADERS}
    for row in rows:
        sheet.append([str(v) if i in text_columns and v is not None else v for i, v in enumerate(row)])
    for cells in sheet.iter_rows(min_row=3):
        for cell in cells:
            if cell.column - 1 in text_columns:
                cell.number_format = "@"
    text_only(sheet)  # a name typed as =... is text, never a live formula
    for i, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    sheet.freeze_panes = "A3"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def export_roster(
    session: Session, actor: StaffUser, village: Village, *, today: dt.date, ip: str | None = None
) -> bytes:
    """The village's roster as .xlsx, for an admin of the village; the export is audited."""
    require(actor, village, "village.admin")
    rows = roster_rows(session, village)
    record(session, actor, "export.roster", village_id=village.id, ip=ip, rows=len(rows))
    return roster_workbook(village, rows, title_date=today.isoformat())


__all__ = ["ROSTER_HEADERS", "export_roster", "roster_rows", "roster_workbook"]
