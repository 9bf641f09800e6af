"""``pointsapp init-db`` and ``pointsapp demo``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..extensions import db
from ..points.registry import Village
from .common import fail, progress, transaction


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (Alembic migrations); write a secret key if none."""
    from flask_migrate import upgrade

    from ..config import ensure_instance_secret

    if ensure_instance_secret(current_app.instance_path):
        click.echo(f"wrote a random secret key to {Path(current_app.instance_path) / 'config.py'}")
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("demo")
@click.option("--villages", default=1, show_default=True, type=click.IntRange(1, 500))
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 36))
@click.option("--seed", default=1, show_default=True, type=int)
@with_appcontext
@transaction
def demo_cmd(villages: int, months: int, seed: int):
    """Create the demo village 龙天坪村 (and more villages for county-scale data)."""
    from ..points.demo import build_demo

    if db.session.execute(select(func.count()).select_from(Village)).scalar_one():
        fail("the database already holds villages; the demo loads into an empty database")
    result = build_demo(
        db.session,
        villages=villages,
        months=months,
        seed=seed,
        tz=current_app.config["POINTSAPP_TIMEZONE"],
        progress=progress,
    )
    for line in result.lines():
        click.echo(line)
