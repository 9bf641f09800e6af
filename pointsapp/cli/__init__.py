"""The ``pointsapp`` command line: one module per command group.

Each command runs in one transaction and commits once (:func:`pointsapp.cli.common.transaction`).
Every refusal or validation error exits non-zero with a readable message on stderr.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from . import backup, database, households, imports, ledger, lifecycle, reports, rules, shop, standings, users


def _create_app():
    from .. import create_app

    return create_app(for_cli=True)


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_default_commands=True,
    help="pointsapp: village points (乡村治理积分制) from the command line.",
)
def cli():
    pass


for command in (
    database.init_db,
    database.demo_cmd,
    users.user_group,
    imports.import_group,
    rules.rules_group,
    standings.leaderboard_cmd,
    standings.balance_cmd,
    ledger.ledger_group,
    ledger.period_group,
    lifecycle.notice_group,
    lifecycle.village_group,
    households.household_group,
    reports.report_group,
    backup.backup_cmd,
    backup.restore_cmd,
    shop.shop_group,
    shop.redeem_cmd,
    shop.reset_cmd,
    shop.stars_cmd,
):
    cli.add_command(command)


def main() -> None:
    cli.main(prog_name="pointsapp")
