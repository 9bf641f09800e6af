"""The ``pointsapp`` command line. Each command runs in one transaction and commits once.

Every refusal or validation error exits non-zero with a readable message on stderr.
"""
from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .points import audit
from .points.capture import close_period
from .points.errors import Refused
from .points.imports.errors import ImportErrors
from .points.imports.reader import ReadError, read_table
from .points.imports.roster import ROSTER_COLUMNS, import_roster
from .points.imports.scores import SCORE_COLUMNS, import_scores
from .points.ledger import verify_chain
from .points.periods import local_today, parse_month, parse_period
from .points.registry import Group, Household, Role, StaffUser, Village, Villager
from .points.rules import RuleBookError, export_rulebook, load_rulebook_text
from .points.standings import balance as balance_of
from .points.standings import leaderboard as board


def _create_app():
    from . import create_app

    return create_app(for_cli=True)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             help="pointsapp: village points (乡村治理积分制) from the command line.")
def cli():
    pass


def main() -> None:
    cli.main(prog_name="pointsapp")


def fail(message: str) -> None:
    raise click.ClickException(message)


def progress(total: int | None, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not sys.stderr.isatty(), unit="rows", leave=False)


def resolve_village(name: str | None, *, create: bool = False) -> Village:
    """The named village; without a name, the only one. With several, a name is required."""
    if name:
        village = db.session.execute(select(Village).where(Village.name == name)).scalar_one_or_none()
        if village is None:
            if not create:
                fail(f"no village named {name!r}")
            village = Village(name=name, timezone=current_app.config["POINTSAPP_TIMEZONE"])
            db.session.add(village)
            db.session.flush()
            click.echo(f"created village {name}")
        return village
    villages = db.session.execute(select(Village).order_by(Village.id).limit(2)).scalars().all()
    if not villages:
        fail("there is no village yet: name one with --village NAME")
    if len(villages) > 1:
        fail("there are several villages: choose one with --village NAME")
    return villages[0]


def resolve_user(username: str, village: Village | None = None) -> StaffUser:
    user = db.session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
    if user is None:
        fail(f"no staff user {username!r}")
    if not user.active:
        fail(f"staff user {username!r} is deactivated")
    if village is not None and user.village_id != village.id:
        fail(f"staff user {username!r} does not belong to village {village.name}")
    return user


def refusals(fn):
    """Turn core refusals and import errors into readable messages and a non-zero exit."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ImportErrors as exc:
            db.session.rollback()
            for e in exc.errors:
                click.echo(f"error: {e}", err=True)
            fail(f"{len(exc.errors)} bad rows; nothing was imported")
        except SQLAlchemyError as exc:
            db.session.rollback()
            fail(f"database error: {exc.__class__.__name__}: {str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}"
                 " (has `pointsapp init-db` been run on this database?)")
        except (Refused, ReadError, RuleBookError, ValueError) as exc:
            db.session.rollback()
            if isinstance(exc, RuleBookError):
                for e in exc.errors:
                    click.echo(f"error: {e}", err=True)
                fail(f"{len(exc.errors)} errors in the rule book; nothing was loaded")
            fail(getattr(exc, "message", None) or str(exc))
    return wrapper


# --- database ---------------------------------------------------------------------------

@cli.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (Alembic migrations); write a secret key if none."""
    from flask_migrate import upgrade

    from .config import ensure_instance_secret

    if ensure_instance_secret(current_app.instance_path):
        click.echo(f"wrote a random secret key to {Path(current_app.instance_path) / 'config.py'}")
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@cli.command("demo")
@click.option("--villages", default=1, show_default=True, type=click.IntRange(1, 500))
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 36))
@click.option("--seed", default=1, show_default=True, type=int)
@with_appcontext
@refusals
def demo_cmd(villages: int, months: int, seed: int):
    """Create the demo village 龙天坪村 (and more villages for county-scale data)."""
    from .points.demo import build_demo

    if db.session.execute(select(func.count()).select_from(Village)).scalar_one():
        fail("the database already holds villages; the demo loads into an empty database")
    result = build_demo(db.session, villages=villages, months=months, seed=seed,
                        tz=current_app.config["POINTSAPP_TIMEZONE"], progress=progress)
    db.session.commit()
    for line in result.lines():
        click.echo(line)


# --- users ------------------------------------------------------------------------------

@cli.group("user")
def user_group():
    """Staff accounts."""


def _read_password() -> str:
    if not sys.stdin.isatty():
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != pw:
            fail("the passwords do not match")
    if len(pw) < 8:
        fail("a password needs at least 8 characters")
    return pw


@user_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--village", "village_name", help="village name (not for viewers)")
@click.option("--group", "groups", multiple=True, help="group name, for grid workers; repeatable")
@click.option("--name", "display_name", help="display name shown to villagers")
@with_appcontext
@refusals
def user_create(username, role, village_name, groups, display_name):
    """Create a staff user. The password is read from standard input when it is not a terminal."""
    if db.session.execute(select(StaffUser.id).where(StaffUser.username == username)).first():
        fail(f"staff user {username!r} already exists")
    role = Role(role)
    village = None
    if role != Role.viewer or village_name:
        village = resolve_village(village_name)
    group_objs = []
    for gname in groups:
        g = db.session.execute(select(Group).where(Group.village_id == village.id, Group.name == gname)).scalar_one_or_none()
        if g is None:
            fail(f"no group {gname!r} in {village.name}")
        group_objs.append(g)
    if role == Role.grid_worker and not group_objs:
        fail("a grid worker needs at least one --group")
    user = StaffUser(username=username, role=role, village_id=village.id if village else None,
                     display_name=display_name or username, groups=group_objs)
    user.set_password(_read_password())
    db.session.add(user)
    db.session.flush()
    audit.record(db.session, None, "user.create", village_id=user.village_id, target=f"user {username}",
                 role=role.value, groups=list(groups))
    db.session.commit()
    click.echo(f"created {role.value} {username}" + (f" in {village.name}" if village else " (county-wide)"))


@user_group.command("password")
@click.argument("username")
@with_appcontext
@refusals
def user_password(username):
    """Set a staff user's password (read from standard input when it is not a terminal)."""
    user = db.session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
    if user is None:
        fail(f"no staff user {username!r}")
    user.set_password(_read_password())
    user.must_change_password = False
    audit.record(db.session, None, "user.password", village_id=user.village_id, target=f"user {username}")
    db.session.commit()
    click.echo(f"password set for {username}")


# --- imports ------------------------------------------------------------------------------

@cli.group("import")
def import_group():
    """Import the village's own Excel/CSV files."""


def finish(report, dry_run: bool, actor, action: str, village: Village, target: str, **detail) -> None:
    """Print a load's report, then roll back (dry run) or audit and commit."""
    for line in report.lines():
        click.echo(line)
    if dry_run:
        db.session.rollback()
        click.echo("dry run: nothing was written")
        return
    audit.record(db.session, actor, action, village_id=village.id, target=target, **detail)
    db.session.commit()


def _read(path: str, columns):
    return read_table(Path(path), columns)


@import_group.command("roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--village", "village_name")
@click.option("--dry-run", is_flag=True, help="show what would change; write nothing")
@with_appcontext
@refusals
def import_roster_cmd(file, village_name, dry_run):
    """Import a roster (花名册): adds groups, households and people; never duplicates or deletes."""
    table = _read(file, ROSTER_COLUMNS)
    if not village_name and not db.session.execute(select(Village.id)).first():
        village_name = _village_from_title(table)
    village = resolve_village(village_name, create=True)
    with progress(len(table.rows), "roster") as bar:
        report = import_roster(db.session, village, table, dry_run=dry_run)
        bar.update(len(table.rows))
    finish(report, dry_run, None, "import.roster", village, Path(file).name, changes=report.changes)


def _village_from_title(table) -> str | None:
    import re

    for s in table.skipped:
        if s.reason == "title" and (m := re.search(r"(\S+?村)", s.text)):
            return m[1]
    return None


@import_group.command("scores")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "by_name", required=True, help="staff user who recorded the sheet")
@click.option("--approve-as", "approver_name", help="reviewer/admin who approves it at once")
@click.option("--village", "village_name")
@click.option("--dry-run", is_flag=True)
@with_appcontext
@refusals
def import_scores_cmd(file, by_name, approver_name, village_name, dry_run):
    """Import a score sheet (积分登记表). Rows wait for review unless --approve-as is given."""
    village = resolve_village(village_name)
    by = resolve_user(by_name, village)
    approver = resolve_user(approver_name, village) if approver_name else None
    table = _read(file, SCORE_COLUMNS)
    with progress(len(table.rows), "scores") as bar:
        report = import_scores(db.session, village, table, by=by, approve_as=approver,
                               dry_run=dry_run, filename=Path(file).name)
        bar.update(len(table.rows))
    finish(report, dry_run, by, "import.scores", village, Path(file).name, rows=report.rows,
           approved_by=approver_name)


# --- rules --------------------------------------------------------------------------------

@cli.group("rules")
def rules_group():
    """The rule book (积分细则)."""


@rules_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--village", "village_name")
@click.option("--dry-run", is_flag=True)
@with_appcontext
@refusals
def rules_load(file, village_name, dry_run):
    """Load a YAML rule book: new rules get version 1, changed rules a new version."""
    village = resolve_village(village_name, create=bool(village_name))
    report = load_rulebook_text(db.session, village, Path(file).read_text(encoding="utf-8"), dry_run=dry_run)
    finish(report, dry_run, None, "rules.load", village, Path(file).name, added=report.added,
           changed=report.changed, retired=report.retired)


@rules_group.command("export")
@click.option("--village", "village_name")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
@refusals
def rules_export(village_name, output):
    """Write the current rule book in the format it loads from."""
    text = export_rulebook(db.session, resolve_village(village_name))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


# --- standings ----------------------------------------------------------------------------

@cli.command("leaderboard")
@click.option("--by", "by", required=True, type=click.Choice(["villager", "household", "group"]))
@click.option("--period", required=True, help="YYYY-MM, YYYY-Qn, YYYY or all")
@click.option("--village", "village_name")
@click.option("--group", "group_name")
@click.option("--limit", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
@click.option("--county", is_flag=True, help="rank across all villages")
@with_appcontext
@refusals
def leaderboard_cmd(by, period, village_name, group_name, limit, as_json, county):
    """Ranked standings from posted entries (ties share a rank: 1, 2, 2, 4)."""
    parse_period(period)
    village = None if county else resolve_village(village_name)
    group = None
    if group_name:
        if village is None:
            fail("--group needs a village")
        group = db.session.execute(select(Group).where(Group.village_id == village.id, Group.name == group_name)).scalar_one_or_none()
        if group is None:
            fail(f"no group {group_name!r} in {village.name}")
    rows = board(db.session, by, period, village=village, group=group, limit=limit)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1))
        return
    for r in rows:
        extra = f"  {r.per_head:8.2f}/head" if r.per_head is not None else ""
        where = "" if by == "group" else f"  {r.group}"
        click.echo(f"{r.rank:5d}  {r.points:7d}{extra}  {r.name}{where}" + (f"  {r.village}" if r.village else ""))


@cli.command("balance")
@click.option("--household", "household_id", type=int)
@click.option("--villager", "villager_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@refusals
def balance_cmd(household_id, villager_id, as_json):
    """A household's or villager's balances: honour, redeemable, pending."""
    if (household_id is None) == (villager_id is None):
        fail("give exactly one of --household ID or --villager ID")
    from .points.shop.redeem import redeemed_in_year

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


# --- ledger and periods ---------------------------------------------------------------------

@cli.group("ledger")
def ledger_group():
    """The hash-chained ledger."""


@ledger_group.command("verify")
@click.option("--village", "village_name", help="default: every village")
@with_appcontext
def ledger_verify(village_name):
    """Recompute every village's hash chain; exit non-zero naming the first bad entry."""
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


@cli.group("period")
def period_group():
    """Month close."""


@period_group.command("close")
@click.argument("month")
@click.option("--by", "by_name", required=True)
@click.option("--village", "village_name")
@with_appcontext
@refusals
def period_close(month, by_name, village_name):
    """Lock a local month: nothing can be posted with a date in it afterwards."""
    parse_month(month)
    village = resolve_village(village_name)
    actor = resolve_user(by_name, village)
    closed = close_period(db.session, village, month, actor)
    audit.record(db.session, actor, "period.close", target=closed.month, digest=closed.digest)
    db.session.commit()
    click.echo(f"closed {closed.month} for {village.name}; digest {closed.digest} (seq {closed.digest_seq})")


# --- households (QR cards) ----------------------------------------------------------------------

@cli.group("household")
def household_group():
    """Household card links."""


def _household(hid: int) -> Household:
    return db.session.get(Household, hid) or fail(f"no household with id {hid}")


@household_group.command("link")
@click.argument("household_id", type=int)
@with_appcontext
def household_link(household_id):
    """Print the household's current card link path."""
    from .villagers.services import card_path

    click.echo(card_path(_household(household_id)))


@household_group.command("rotate-link")
@click.argument("household_id", type=int)
@with_appcontext
def household_rotate(household_id):
    """Issue a new card link; the old one stops working."""
    from .villagers.services import rotate_card

    path = rotate_card(db.session, _household(household_id))
    db.session.commit()
    click.echo(path)


# --- reports ------------------------------------------------------------------------------------

@cli.group("report")
def report_group():
    """Reports for the monthly award ceremony."""


@report_group.command("monthly")
@click.argument("month")
@click.option("--village", "village_name")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--top", "top_n", default=10, show_default=True, type=click.IntRange(1, 100),
              help="certificates (奖状) for the top N households")
@with_appcontext
@refusals
def report_monthly(month, village_name, out_dir, top_n):
    """Write the ceremony pack: projector PNGs, one PDF for print, one Excel workbook."""
    from .reports.pack import build_monthly_pack

    parse_month(month)
    village = resolve_village(village_name)
    result = build_monthly_pack(db.session, village, month, Path(out_dir), top_n=top_n, progress=progress)
    db.session.rollback()  # the pack only reads
    for line in result.lines():
        click.echo(line)


from . import cli_shop  # noqa: E402,F401  (registers the shop commands)
