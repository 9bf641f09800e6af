"""Roster (花名册) in the browser: a dry-run preview of an uploaded file, its confirmation, and the
export in the same template (so exporting and re-importing changes nothing).

The import itself is the core's :func:`pointsapp.points.imports.roster.import_roster`.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...points.imports.errors import ImportErrors, RowError
from ...points.imports.reader import ReadError, read_table
from ...points.imports.values import as_text
from ...points.imports.roster import ROSTER_COLUMNS, RosterReport, import_roster
from ...points.registry import Group, Household, StaffUser, Village, Villager, VillagerStatus
from ...points.policy import require
from ...points.spreadsheets import text_only
from . import audit

HEADERS = ("序号", "村民小组", "户号", "户主姓名", "姓名", "与户主关系", "性别", "出生年月", "联系电话", "门牌号", "备注")
STATUS_NOTE = {VillagerStatus.moved_out: "迁出", VillagerStatus.deceased: "已故"}
MAX_BYTES = 5 * 1024 * 1024


@dataclass
class PreviewRow:
    row: int
    group: str
    household_no: str
    head_name: str
    name: str
    outcome: str            # new_household, new_villager, moved, updated, unchanged, unmatched, error, ok
    errors: list[RowError] = field(default_factory=list)


@dataclass
class Preview:
    filename: str
    read_error: ReadError | None = None
    errors: list[RowError] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list)
    report: RosterReport | None = None

    @property
    def ok(self) -> bool:
        return self.read_error is None and not self.errors and self.report is not None

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.outcome] = out.get(r.outcome, 0) + 1
        return out


def _hno(value) -> str:
    try:
        text = as_text(value) or ""
    except ValueError:
        return str(value)
    return text.lstrip("0") or ("0" if text else "")


def preview(session: Session, actor: StaffUser, village: Village, data: bytes, filename: str) -> Preview:
    """Read the file and dry-run the import. Writes nothing (the caller rolls back anyway)."""
    require(actor, village, "village.admin")
    result = Preview(filename)
    try:
        table = read_table(data, ROSTER_COLUMNS, filename=filename)
    except ImportErrors as exc:   # cells the reader refuses (a formula saved without its value), by row
        result.errors = sorted(exc.errors, key=lambda e: (e.row is None, e.row or 0))
        return result
    except ReadError as exc:
        result.read_error = exc
        return result
    existing = set(session.execute(select(Household.number).where(Household.village_id == village.id)).scalars())
    try:
        report = import_roster(session, village, table, dry_run=True)
    except ImportErrors as exc:
        result.errors = sorted(exc.errors, key=lambda e: (e.row is None, e.row or 0))
        report = None
    result.report = report
    by_row: dict[int, list[RowError]] = {}
    for e in result.errors:
        if e.row is not None:
            by_row.setdefault(e.row, []).append(e)
    for r in table.rows:
        v = r.values
        hno = _hno(v.get("household_no"))
        if r.number in by_row:
            outcome = "error"
        elif report is None:
            outcome = "ok"
        else:
            outcome = report.outcomes.get(r.number, "unmatched")
            if outcome == "new":
                outcome = "new_household" if hno not in existing else "new_villager"
        result.rows.append(PreviewRow(r.number, _text(v.get("group")), hno, _text(v.get("head_name")),
                                      _text(v.get("name")), outcome, by_row.get(r.number, [])))
    return result


def _text(value) -> str:
    try:
        return as_text(value) or ""
    except ValueError:
        return str(value)


def confirm(session: Session, actor: StaffUser, village: Village, data: bytes, filename: str, *,
            ip: str | None = None) -> RosterReport:
    """Import for real. Raises ReadError or ImportErrors, with nothing written."""
    require(actor, village, "village.admin")
    table = read_table(data, ROSTER_COLUMNS, filename=filename)
    report = import_roster(session, village, table, dry_run=False, actor_id=actor.id)
    audit(session, actor, village, "import.roster", filename, ip, rows=report.rows,
          groups_added=len(report.groups_added), households_added=report.households_added,
          villagers_added=report.villagers_added, updated=len(report.updated), moved=len(report.moved),
          unmatched=len(report.unmatched))
    return report


# --- export -------------------------------------------------------------------------------

def roster_rows(session: Session, village: Village) -> list[list]:
    """One row per person, in the roster's own layout: by group, 户号 (numerically), head first."""
    rows = session.execute(
        select(Villager, Household, Group).join(Household, Household.id == Villager.household_id)
        .join(Group, Group.id == Household.group_id).where(Villager.village_id == village.id)
        .order_by(Group.sort_key, Group.id, func.length(Household.number), Household.number, Villager.id)).all()
    heads = {h.id: h.head_name for h in session.execute(
        select(Household).where(Household.village_id == village.id)).scalars()}
    out: list[list] = []
    people = sorted(rows, key=lambda t: (t[2].sort_key, t[2].id, len(t[1].number), t[1].number,
                                          t[1].head_id != t[0].id, t[0].id))
    for n, (v, h, g) in enumerate(people, start=1):
        birth = f"{v.birth_year:04d}-{v.birth_month:02d}" if v.birth_year and v.birth_month else (
            str(v.birth_year) if v.birth_year else None)
        note = STATUS_NOTE.get(VillagerStatus(v.status))
        out.append([n, g.name, h.number, heads[h.id], v.name, v.relation, v.sex, birth, v.phone,
                    h.house_number, note])
    return out


def export_xlsx(session: Session, actor: StaffUser, village: Village, *, title_date: str,
                ip: str | None = None) -> bytes:
    """The roster as .xlsx. The file holds phone numbers, so the export itself is audited."""
    require(actor, village, "village.admin")
    import pandas as pd
    from openpyxl.styles import Alignment, Font

    rows = roster_rows(session, village)
    frame = pd.DataFrame(rows, columns=list(HEADERS), dtype=object)
    audit(session, actor, village, "export.roster", None, ip, rows=len(rows))
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, startrow=1, sheet_name="花名册")
        sheet = writer.sheets["花名册"]
        text_only(sheet)   # a name typed as =... is text, never a live formula
        sheet.cell(row=1, column=1, value=f"{village.name}村民花名册（{title_date}导出）")
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
        sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
        sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center")
        text_columns = {HEADERS.index(h) + 1 for h in ("户号", "出生年月", "联系电话", "门牌号")}
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                if cell.column in text_columns:
                    cell.number_format = "@"   # text: keeps "001" and long phone numbers intact
        widths = (6, 10, 6, 10, 10, 10, 6, 10, 14, 8, 8)
        for i, w in enumerate(widths):
            sheet.column_dimensions[chr(ord("A") + i)].width = w
    return buf.getvalue()
