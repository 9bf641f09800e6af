"""``pointsapp rules``: the rule book (积分细则)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..points.rules import export_rulebook, load_rulebook_text
from .common import finish, resolve_village, rollback_only, transaction


@click.group("rules")
def rules_group():
    """The rule book (积分细则)."""


@rules_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--village", "village_name")
@click.option("--dry-run", is_flag=True)
@with_appcontext
@transaction
def rules_load(file, village_name, dry_run):
    """Load a YAML rule book: new rules get version 1, changed rules a new version."""
    village = resolve_village(village_name, create=bool(village_name))
    report = load_rulebook_text(db.session, village, Path(file).read_text(encoding="utf-8"), dry_run=dry_run)
    finish(
        report,
        dry_run,
        None,
        "rules.load",
        village,
        Path(file).name,
        added=report.added,
        changed=report.changed,
        retired=report.retired,
    )


@rules_group.command("export")
@click.option("--village", "village_name")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
@transaction
def rules_export(village_name, output):
    """Write the current rule book in the format it loads from."""
    rollback_only()
    text = export_rulebook(db.session, resolve_village(village_name))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
