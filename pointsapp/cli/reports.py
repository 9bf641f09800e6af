"""``pointsapp report``: reports for the monthly award ceremony."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..points.periods import parse_month
from .common import progress, resolve_village, rollback_only, transaction


@click.group("report")
def report_group():
    """Reports for the monthly award ceremony."""


@report_group.command("monthly")
@click.argument("month")
@click.option("--village", "village_name")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--top",
    "top_n",
    default=None,
    type=click.IntRange(1, 100),
    help="certificates (奖状) for the top N households (default: the village's award tiers)",
)
@with_appcontext
@transaction
def report_monthly(month, village_name, out_dir, top_n):
    """Write the ceremony pack: projector PNGs, one PDF for print, one Excel workbook."""
    from ..reports.pack import build_monthly_pack

    rollback_only()  # the pack only reads
    parse_month(month)
    village = resolve_village(village_name)
    result = build_monthly_pack(db.session, village, month, Path(out_dir), top_n=top_n, progress=progress)
    for line in result.lines():
        click.echo(line)
