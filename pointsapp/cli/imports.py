"""``pointsapp import``: the village's own Excel/CSV files."""

from __future__ import annotations

import re
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..points.imports.reader import read_table
from ..points.imports.roster import ROSTER_COLUMNS, import_roster
from ..points.imports.scores import SCORE_COLUMNS, import_scores
from ..points.registry import Village
from .common import finish, progress, resolve_user, resolve_village, transaction


@click.group("import")
def import_group():
    """Import the village's own Excel/CSV files."""


def _village_from_title(table) -> str | None:
    for s in table.skipped:
        if s.reason == "title" and (m := re.search(r"(\S+?村)", s.text)):
            return m[1]
    return None


@import_group.command("roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--village", "village_name")
@click.option("--dry-run", is_flag=True, help="show what would change; write nothing")
@with_appcontext
@transaction
def import_roster_cmd(file, village_name, dry_run):
    """Import a roster (花名册): adds groups, households and people; never duplicates or deletes."""
    table = read_table(Path(file), ROSTER_COLUMNS)
    if not village_name and not db.session.execute(select(Village.id)).first():
        village_name = _village_from_title(table)
    village = resolve_village(village_name, create=True)
    with progress(len(table.rows), "roster") as bar:
        report = import_roster(db.session, village, table, dry_run=dry_run)
        bar.update(len(table.rows))
    finish(report, dry_run, None, "import.roster", village, Path(file).name, changes=report.changes)


@import_group.command("scores")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "by_name", required=True, help="staff user who recorded the sheet")
@click.option("--approve-as", "approver_name", help="reviewer/admin who approves it at once")
@click.option("--village", "village_name")
@click.option("--dry-run", is_flag=True)
@with_appcontext
@transaction
def import_scores_cmd(file, by_name, approver_name, village_name, dry_run):
    """Import a score sheet (积分登记表). Rows wait for review unless --approve-as is given."""
    village = resolve_village(village_name)
    by = resolve_user(by_name, village)
    approver = resolve_user(approver_name, village) if approver_name else None
    table = read_table(Path(file), SCORE_COLUMNS)
    with progress(len(table.rows), "scores") as bar:
        report = import_scores(
            db.session, village, table, by=by, approve_as=approver, dry_run=dry_run, filename=Path(file).name
        )
        bar.update(len(table.rows))
    finish(report, dry_run, by, "import.scores", village, Path(file).name, rows=report.rows, approved_by=approver_name)
