"""``pointsapp ledger verify`` and ``pointsapp period close``."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..points import audit
from ..points.closing import close_period
from ..points.ledger import verify_chain
from ..points.periods import parse_month
from ..points.registry import Village
from .common import progress, resolve_user, resolve_village, rollback_only, transaction


@click.group("ledger")
def ledger_group():
    """The hash-chained ledger."""


@ledger_group.command("verify")
@click.option("--village", "village_name", help="default: every village")
@with_appcontext
@transaction
def ledger_verify(village_name):
    """Recompute every village's hash chain; exit non-zero naming the first bad entry."""
    rollback_only()
    if village_name:
        villages = [resolve_village(village_name)]
    else:
        villages = db.session.execute(select(Village).order_by(Village.id)).scalars().all()
    bad = 0
    for v in villages:
        with progress(v.ledger_seq, f"verify {v.name}") as bar:
            res = verify_chain(db.session, v, progress=bar.update)
        if res.ok:
            click.echo(f"{v.name}: ok, {res.entries} entries, head {res.head[:16]}")
        else:
            bad += 1
            click.echo(f"{v.name}: BROKEN at {res.problem}", err=True)
        db.session.expire_all()
    if bad:
        raise SystemExit(1)


@click.group("period")
def period_group():
    """Month close."""


@period_group.command("close")
@click.argument("month")
@click.option("--by", "by_name", required=True)
@click.option("--village", "village_name")
@with_appcontext
@transaction
def period_close(month, by_name, village_name):
    """Lock a local month: nothing can be posted with a date in it afterwards."""
    parse_month(month)
    village = resolve_village(village_name)
    actor = resolve_user(by_name, village)
    closed = close_period(db.session, village, month, actor)
    audit.record(db.session, actor, "period.close", target=closed.month, digest=closed.digest)
    click.echo(f"closed {closed.month} for {village.name}; digest {closed.digest} (seq {closed.digest_seq})")
