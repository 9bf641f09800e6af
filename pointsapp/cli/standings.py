"""``pointsapp leaderboard`` and ``pointsapp balance``: standings from posted entries."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..points.periods import local_today, parse_period
from ..points.registry import Group, Household, Village, Villager
from ..points.shop.redeem import redeemed_in_year
from ..points.standings import balance as balance_of
from ..points.standings import leaderboard as board
from .common import fail, read_only, resolve_village, transaction


@click.command("leaderboard")
@click.option("--by", "by", required=True, type=click.Choice(["villager", "household", "group"]))
@click.option("--period", required=True, help="YYYY-MM, YYYY-Qn, YYYY or all")
@click.option("--village", "village_name")
@click.option("--group", "group_name")
@click.option("--limit", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
@click.option("--county", is_flag=True, help="rank across all villages")
@with_appcontext
@transaction
@read_only
def leaderboard_cmd(by, period, village_name, group_name, limit, as_json, county):
    """Ranked standings from posted entries (ties share a rank: 1, 2, 2, 4)."""
    parse_period(period)
    village = None if county else resolve_village(village_name)
    group = None
    if group_name:
        if village is None:
            fail("--group needs a village")
        group = db.session.execute(
            select(Group).where(Group.village_id == village.id, Group.name == group_name)
        ).scalar_one_or_none()
        if group is None:
            fail(f"no group {group_name!r} in {village.name}")
    rows = board(db.session, by, period, village=village, group=group, limit=limit)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1))
        return
    for r in rows:
        extra = f"  {r.per_head:8.2f}/head" if r.per_head is not None else ""
        where = "" if by == "group" else f"  {r.group}"
        rank = "—" if r.rank is None else str(r.rank)  # no points: not ranked
        click.echo(f"{rank:>5}  {r.points:7d}{extra}  {r.name}{where}" + (f"  {r.village}" if r.village else ""))


@click.command("balance")
@click.option("--household", "household_id", type=int)
@click.option("--villager", "villager_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@transaction
@read_only
def balance_cmd(household_id, villager_id, as_json):
    """A household's or villager's balances: honour, redeemable, pending, and redeemed this year."""
    if (household_id is None) == (villager_id is None):
        fail("give exactly one of --household ID or --villager ID")
    if household_id is not None:
        subject = db.session.get(Household, household_id) or fail(f"no household with id {household_id}")
        b = balance_of(db.session, household=subject)
        village = db.session.get(Village, subject.village_id)
        redeemed = redeemed_in_year(db.session, subject.id, local_today(village.timezone).year)
    else:
        subject = db.session.get(Villager, villager_id) or fail(f"no villager with id {villager_id}")
        b = balance_of(db.session, villager=subject)
        redeemed = 0  # redemptions are a household's, never one person's
    if as_json:
        click.echo(json.dumps({**b.as_dict(), "redeemed": redeemed}))
    else:
        click.echo(f"honour {b.honour}  redeemable {b.redeemable}  pending {b.pending}  redeemed this year {redeemed}")
