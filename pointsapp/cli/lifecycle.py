"""``pointsapp notice publish|list`` and ``pointsapp village set``: the month lifecycle's steps."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..points import audit
from ..points.errors import Refused
from ..points.notice import MAX_NOTICE_DAYS, Notice, publish_notice
from ..points.periods import parse_month
from .common import read_only, resolve_user, resolve_village, transaction


def notice_row(n: Notice) -> dict:
    return {
        "month": n.month,
        "kind": n.kind,
        "number": n.number,
        "entries": n.entry_count,
        "digest": n.digest,
        "published_at": n.published_at.isoformat(),
        "window_ends": n.closes_on.isoformat(),
        "head_seq": n.head_seq,
    }


@click.group("notice")
def notice_group():
    """公示: publish a finished month (or its supplement), list notices."""


@notice_group.command("publish")
@click.argument("month")
@click.option("--by", "by_name", required=True, help="reviewer or admin who publishes")
@click.option("--village", "village_name")
@with_appcontext
@transaction
def notice_publish(month, by_name, village_name):
    """Publish MONTH (YYYY-MM) for public notice: the main notice, or a supplement of what came since."""
    parse_month(month)
    village = resolve_village(village_name)
    actor = resolve_user(by_name, village)
    n = publish_notice(db.session, village, month, actor)
    audit.record(
        db.session,
        actor,
        "notice.publish",
        village_id=village.id,
        target=f"notice {n.month}",
        kind=n.kind,
        number=n.number,
        entries=n.entry_count,
        digest=n.digest,
        head_seq=n.head_seq,
    )
    label = "notice" if n.number == 1 else f"supplementary notice {n.number - 1}"
    click.echo(
        f"published the {label} of {n.month} for {village.name}: {n.entry_count} entries, "
        f"objections until {n.closes_on}; digest {n.digest}"
    )


@notice_group.command("list")
@click.option("--village", "village_name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@transaction
@read_only
def notice_list(village_name, as_json):
    """Every notice of a village, oldest first."""
    village = resolve_village(village_name)
    rows = [
        notice_row(n)
        for n in db.session.execute(
            select(Notice).where(Notice.village_id == village.id).order_by(Notice.month, Notice.number)
        ).scalars()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        click.echo(f"{r['month']}  {r['kind']:<10} {r['entries']:>6} entries  until {r['window_ends']}  {r['digest']}")


@click.group("village")
def village_group():
    """Village settings."""


@village_group.command("set")
@click.argument("name")
@click.option("--notice-days", type=int, help=f"objection window of a notice, 0-{MAX_NOTICE_DAYS} days")
@with_appcontext
@transaction
def village_set(name, notice_days):
    """Change a village's settings."""
    village = resolve_village(name)
    if notice_days is None:
        raise click.UsageError("nothing to set: give --notice-days N")
    if not 0 <= notice_days <= MAX_NOTICE_DAYS:
        raise Refused("bad_window", f"the objection window must be 0-{MAX_NOTICE_DAYS} days, got {notice_days}")
    old = village.notice_days
    village.notice_days = notice_days
    audit.record(
        db.session,
        None,
        "village.settings",
        village_id=village.id,
        target=f"village {village.name}",
        notice_days=[old, notice_days],
    )
    click.echo(f"{village.name}: objection window {notice_days} days (was {old})")
