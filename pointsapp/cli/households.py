"""``pointsapp household``: household card links (QR cards)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..points.registry import Household
from .common import fail, rollback_only, transaction


@click.group("household")
def household_group():
    """Household card links."""


def _household(hid: int) -> Household:
    return db.session.get(Household, hid) or fail(f"no household with id {hid}")


@household_group.command("link")
@click.argument("household_id", type=int)
@with_appcontext
@transaction
def household_link(household_id):
    """Print the household's current card link path."""
    from ..villagers.services import card_path

    rollback_only()
    click.echo(card_path(_household(household_id)))


@household_group.command("rotate-link")
@click.argument("household_id", type=int)
@with_appcontext
@transaction
def household_rotate(household_id):
    """Issue a new card link; the old one stops working."""
    from ..villagers.services import rotate_card

    click.echo(rotate_card(db.session, _household(household_id)))
