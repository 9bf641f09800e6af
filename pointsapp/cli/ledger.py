"""``pointsapp ledger anchors|verify`` and ``pointsapp period close``."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..points import audit
from ..points.anchors import export_anchors, verify_village
from ..points.lifecycle import close_month
from ..points.periods import parse_month
from ..points.registry import Village
from .common import progress, read_only, resolve_user, resolve_village, transaction


def _villages(village_name: str | None) -> list[Village]:
    if village_name:
        return [resolve_village(village_name)]
    return list(db.session.execute(select(Village).order_by(Village.id)).scalars())


@click.group("ledger")
def ledger_group():
    """The hash-chained ledger."""


@ledger_group.command("anchors")
@click.option("--village", "village_name", help="default: every village")
@click.option("--json", "as_json", is_flag=True, help="the file `ledger verify --anchors` reads")
@with_appcontext
@transaction
@read_only
def ledger_anchors(village_name, as_json):
    """Print what was published: each notice and closed month with its seq, chain hash and digest."""
    data = export_anchors(db.session, _villages(village_name))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    for v in data["villages"]:
        click.echo(f"{v['village']}: head seq {v['head_seq']} {v['head_hash']}")
        for n in v["notices"]:
            label = "notice" if n["number"] == 1 else f"supplement {n['number'] - 1}"
            click.echo(
                f"  {n['month']} {label:<13} seq {n['head_seq']:>7} {n['head_hash']}  "
                f"digest {n['digest']}  ({n['entries']} entries)"
            )
        for c in v["closed"]:
            click.echo(f"  {c['month']} {'closed':<13} seq {c['head_seq']:>7} {c['head_hash']}")


@ledger_group.command("verify")
@click.option("--village", "village_name", help="default: every village")
@click.option(
    "--anchors",
    "anchors_file",
    type=click.File("r", encoding="utf-8"),
    help="an anchors file exported earlier with `ledger anchors --json`",
)
@with_appcontext
@transaction
@read_only
def ledger_verify(village_name, anchors_file):
    """Recompute every village's chain, notice digests, closed-month heads and tallies.

    Exits non-zero naming every problem found."""
    anchors = None
    if anchors_file is not None:
        try:
            anchors = json.load(anchors_file)
        except ValueError as exc:
            raise click.ClickException(f"{anchors_file.name} is not an anchors file: {exc}") from None
    bad = 0
    for v in _villages(village_name):
        with progress(v.ledger_seq, f"verify {v.name}") as bar:
            res = verify_village(db.session, v, anchors=anchors, progress=bar.update)
        if res.ok:
            click.echo(f"{v.name}: ok, {res.entries} entries, head {res.head[:16]}")
        else:
            bad += 1
            for problem in res.problems:
                click.echo(f"{v.name}: BROKEN: {problem}", err=True)
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
    """Close a local month: only when its notices' windows are over and its objections answered."""
    parse_month(month)
    village = resolve_village(village_name)
    actor = resolve_user(by_name, village)
    closed = close_month(db.session, village, month, actor)
    audit.record(
        db.session,
        actor,
        "period.close",
        village_id=village.id,
        target=f"month {closed.month}",
        head_seq=closed.head_seq,
        head_hash=closed.head_hash,
    )
    click.echo(f"closed {closed.month} for {village.name}; chain head seq {closed.head_seq}, {closed.head_hash}")
