"""Roster (花名册) in the browser: a dry-run preview of an uploaded file and its confirmation.

The import itself is the core's :func:`pointsapp.points.imports.roster.import_roster`; the export
(in the same template) is :func:`pointsapp.points.imports.roster_export.export_roster`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...points.imports.errors import ImportErrors, RowError
from ...points.imports.reader import ReadError, read_table
from ...points.imports.values import as_text
from ...points.imports.roster import ROSTER_COLUMNS, RosterReport, import_roster
from ...points.registry import Household, StaffUser, Village
from ...points.policy import require
from . import audit

MAX_BYTES = 5 * 1024 * 1024


@dataclass
class PreviewRow:
    row: int
    group: str
    household_no: str
    head_name: str
    name: str
    outcome: str  # new_household, new_villager, moved, updated, unchanged, unmatched, error, ok
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
    except ImportErrors as exc:  # cells the reader refuses (a formula saved without its value), by row
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
        result.rows.append(
            PreviewRow(
                r.number,
                _text(v.get("group")),
                hno,
                _text(v.get("head_name")),
                _text(v.get("name")),
                outcome,
                by_row.get(r.number, []),
            )
        )
    return result


def _text(value) -> str:
    try:
        return as_text(value) or ""
    except ValueError:
        return str(value)


def confirm(
    session: Session, actor: StaffUser, village: Village, data: bytes, filename: str, *, ip: str | None = None
) -> RosterReport:
    """Import for real. Raises ReadError or ImportErrors, with nothing written."""
    require(actor, village, "village.admin")
    table = read_table(data, ROSTER_COLUMNS, filename=filename)
    report = import_roster(session, village, table, dry_run=False, actor_id=actor.id)
    audit(
        session,
        actor,
        village,
        "import.roster",
        filename,
        ip,
        rows=report.rows,
        groups_added=len(report.groups_added),
        households_added=report.households_added,
        villagers_added=report.villagers_added,
        updated=len(report.updated),
        moved=len(report.moved),
        unmatched=len(report.unmatched),
    )
    return report
