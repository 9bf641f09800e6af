"""``pointsapp backup FILE`` and ``pointsapp restore FILE`` (see pointsapp.points.backup)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..points.backup import BackupError
from ..points.backup import backup as make_backup
from ..points.backup import restore as restore_backup
from .common import fail


def _url() -> str:
    return current_app.config["SQLALCHEMY_DATABASE_URI"]


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_cmd(file: str):
    """Write a consistent backup of the database to FILE while the app keeps serving
    (SQLite online backup or pg_dump), with a manifest of each village's chain head."""
    db.session.remove()
    try:
        manifest = make_backup(_url(), file)
    except BackupError as exc:
        fail(str(exc))
    for v in manifest.villages:
        click.echo(f"{v.name}: seq {v.seq}, head {v.head[:16]}")
    click.echo(f"backup written to {file} ({manifest.engine}, {len(manifest.villages)} villages)")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_cmd(file: str):
    """Load the backup FILE into an empty database (creating the schema). Refuses a backup whose
    ledger chains do not verify against its manifest."""
    db.session.remove()
    db.engine.dispose()
    try:
        manifest = restore_backup(file, _url())
    except BackupError as exc:
        fail(str(exc))
    from flask_migrate import upgrade

    db.engine.dispose()
    upgrade(directory=current_app.extensions["migrate"].directory)  # a backup from an older version
    for v in manifest.villages:
        click.echo(f"{v.name}: verified, seq {v.seq}, head {v.head[:16]}")
    click.echo(f"restored {file} ({len(manifest.villages)} villages)")
