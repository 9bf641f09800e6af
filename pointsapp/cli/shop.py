"""Shop commands: catalogue, stock, redemption, the yearly reset and star ratings."""

from __future__ import annotations

import json
import uuid

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..points.registry import Household, Village
from ..points.errors import Refused
from ..points.shop.redeem import Want, cancel, find_redemption, redeem
from ..points.shop.reset import run_reset
from ..points.shop.stars import check_period, star_ratings
from ..points.shop.stock import add_item, catalogue, find_item, parse_yuan, stock_in, write_off
from .common import fail, resolve_user, resolve_village, rollback_only, transaction


@click.group("shop")
def shop_group():
    """The points shop (积分超市): items and stock."""


@shop_group.group("item")
def item_group():
    """Items of the catalogue."""


@item_group.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--price", required=True, type=int, help="price in points")
@click.option("--unit", default="件", show_default=True)
@click.option("--village", "village_name")
@with_appcontext
@transaction
def item_add(code, name, price, unit, village_name):
    """Add an item to a village's catalogue (run by the server's administrator)."""
    village = resolve_village(village_name)
    item = add_item(db.session, village, None, code=code, name=name, price=price, unit=unit)
    click.echo(f"added {item.code} {item.name}: {item.price} points per {item.unit}")


@item_group.command("list")
@click.option("--village", "village_name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@transaction
def item_list(village_name, as_json):
    """Items with their price and stock on hand."""
    village = resolve_village(village_name)
    rollback_only()
    rows = catalogue(db.session, village)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1))
        return
    for r in rows:
        click.echo(f"{r.code:12s} {r.price:6d} {r.stock:6d}  {r.name}" + ("" if r.active else "  (not offered)"))


@shop_group.group("stock")
def stock_group():
    """Stock in (入库) and write-offs (报损)."""


@stock_group.command("in")
@click.argument("code")
@click.argument("qty", type=int)
@click.option("--source", required=True, type=click.Choice(["purchase", "donation", "other"]))
@click.option("--by", "by_name", required=True, help="the staff user (clerk or admin)")
@click.option("--donor")
@click.option("--value", help="value in yuan, e.g. 120 or 35.50")
@click.option("--village", "village_name")
@with_appcontext
@transaction
def stock_in_cmd(code, qty, source, by_name, donor, value, village_name):
    """Add stock of an item."""
    village = resolve_village(village_name)
    actor = resolve_user(by_name, village)
    item = find_item(db.session, village, code)
    stock_in(db.session, village, actor, item, qty, source=source, donor=donor, value_fen=parse_yuan(value))
    have = catalogue(db.session, village)
    click.echo(f"{item.code}: +{qty}, {next(r.stock for r in have if r.code == item.code)} in stock")


@stock_group.command("writeoff")
@click.argument("code")
@click.argument("qty", type=int)
@click.option("--reason", required=True)
@click.option("--by", "by_name", required=True)
@click.option("--village", "village_name")
@with_appcontext
@transaction
def stock_writeoff_cmd(code, qty, reason, by_name, village_name):
    """Write off stock (spoilt, broken, lost), with a reason."""
    village = resolve_village(village_name)
    actor = resolve_user(by_name, village)
    item = find_item(db.session, village, code)
    write_off(db.session, village, actor, item, qty, reason=reason)
    click.echo(f"{item.code}: -{qty} written off")


@click.command("redeem")
@click.option("--household", "household_id", required=True, type=int)
@click.option("--item", "code", required=True)
@click.option("--qty", required=True, type=int)
@click.option("--by", "by_name", required=True, help="the clerk (兑换员) or admin")
@click.option("--key", help="idempotency key: a replay with the same key redeems once")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@transaction
def redeem_cmd(household_id, code, qty, by_name, key, as_json):
    """Redeem an item for a household. Exits non-zero with the reason when refused."""
    household = db.session.get(Household, household_id)
    if household is None:
        fail(f"no household with id {household_id}")
    village = db.session.get(Village, household.village_id)
    actor = resolve_user(by_name)
    res = redeem(
        db.session,
        actor=actor,
        village=village,
        household=household,
        wants=[Want(qty, code=code)],
        key=key or f"cli-{uuid.uuid4().hex}",
        source="cli",
    )
    red = res.redemption
    out = {
        "receipt": red.number,
        "household": household.id,
        "points": red.points,
        "balance_after": red.balance_after,
        "replayed": res.replayed,
        "entry_seq": red.entry.seq,
        "lines": [{"item": ln.item.code, "qty": ln.qty, "price": ln.price, "points": ln.points} for ln in red.lines],
    }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(
            f"{'replayed ' if res.replayed else ''}receipt {red.number}: {red.points} points, "
            f"{red.balance_after} redeemable left"
        )


@shop_group.command("cancel")
@click.argument("receipt")
@click.option("--by", "by_name", required=True, help="a clerk on the day of the redemption; later an admin")
@click.option("--reason", help="why (required after the day of the redemption)")
@click.option("--village", "village_name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@transaction
def cancel_cmd(receipt, by_name, reason, village_name, as_json):
    """Cancel a redemption by its receipt number (e.g. 2026-00042): a reversing entry gives the
    points back and the goods return to stock, as at the desk. Running it again changes nothing."""
    village = resolve_village(village_name)
    actor = resolve_user(by_name, village)
    red = find_redemption(db.session, village, receipt)
    replayed = red.cancelled
    if not replayed:
        try:
            cancel(db.session, red, actor, reason=reason)
        except Refused as exc:
            if exc.code != "already_cancelled":  # cancelled meanwhile (the desk, another run)
                raise
            db.session.rollback()
            red = find_redemption(db.session, village, receipt)
            replayed = True
    if replayed:
        rollback_only()
    entry = red.cancel_entry
    out = {
        "receipt": red.number,
        "household": red.household_id,
        "points": red.points,
        "cancelled": True,
        "replayed": replayed,
        "entry_seq": entry.seq if entry else None,
        "reason": red.cancel_reason,
    }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(
            f"receipt {red.number} {'was already' if replayed else 'is'} cancelled: {red.points} points "
            f"back to household {red.household_id}, goods back to stock (ledger seq {out['entry_seq']})"
        )


@click.command("reset-redeemable")
@click.argument("year", type=int)
@click.option("--by", "by_name", required=True, help="an admin")
@click.option("--village", "village_name")
@click.option("--dry-run", is_flag=True, help="show what would be cleared; write nothing")
@with_appcontext
@transaction
def reset_cmd(year, by_name, village_name, dry_run):
    """The yearly reset (年底清零): clear the redeemable points earned up to the end of YEAR."""
    village = resolve_village(village_name)
    actor = resolve_user(by_name, village)
    result = run_reset(db.session, village, year, actor, dry_run=dry_run)
    if dry_run:
        rollback_only()
    if result.already is not None:
        click.echo(
            f"{village.name}: the reset of {year} was already done on {result.already.occurred_on} "
            f"({result.already.households} households, {result.already.points} points); nothing changed"
        )
        return
    verb = "would clear" if dry_run else "cleared"
    click.echo(
        f"{village.name}: {verb} {result.points} points of {result.households} households for {year}"
        + (" (dry run: nothing written)" if dry_run else "")
    )


@click.command("stars")
@click.option("--period", required=True, help="YYYY-Qn or YYYY")
@click.option("--village", "village_name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@transaction
def stars_cmd(period, village_name, as_json):
    """Star ratings (星级文明户) of every active household for a quarter or a year."""
    village = resolve_village(village_name)
    rollback_only()
    rows = star_ratings(db.session, village, check_period(period))
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1))
        return
    for r in rows:
        click.echo(f"{'★' * r.stars:5s} {r.points:6d}  {r.name}  {r.group}")
