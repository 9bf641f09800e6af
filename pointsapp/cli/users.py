"""``pointsapp user``: staff accounts."""

from __future__ import annotations

import getpass
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..points import audit
from ..points.registry import Group, Role, StaffUser
from .common import fail, resolve_village, transaction


@click.group("user")
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
@transaction
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
        g = db.session.execute(
            select(Group).where(Group.village_id == village.id, Group.name == gname)
        ).scalar_one_or_none()
        if g is None:
            fail(f"no group {gname!r} in {village.name}")
        group_objs.append(g)
    if role == Role.grid_worker and not group_objs:
        fail("a grid worker needs at least one --group")
    user = StaffUser(
        username=username,
        role=role,
        village_id=village.id if village else None,
        display_name=display_name or username,
        groups=group_objs,
    )
    user.set_password(_read_password())
    db.session.add(user)
    db.session.flush()
    audit.record(
        db.session,
        None,
        "user.create",
        village_id=user.village_id,
        target=f"user {username}",
        role=role.value,
        groups=list(groups),
    )
    click.echo(f"created {role.value} {username}" + (f" in {village.name}" if village else " (county-wide)"))


@user_group.command("password")
@click.argument("username")
@with_appcontext
@transaction
def user_password(username):
    """Set a staff user's password (read from standard input when it is not a terminal)."""
    user = db.session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
    if user is None:
        fail(f"no staff user {username!r}")
    user.set_password(_read_password())
    user.must_change_password = False
    audit.record(db.session, None, "user.password", village_id=user.village_id, target=f"user {username}")
    click.echo(f"password set for {username}")
