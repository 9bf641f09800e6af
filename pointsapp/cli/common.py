"""What every command shares: the transaction boundary, messages, and finding a village or user.

Each command runs in one transaction: :func:`transaction` commits once when the command
succeeds and rolls back on a refusal, an import error or any other error, which exits
non-zero with a readable message on stderr. A dry run or a read-only command calls
:func:`rollback_only` so nothing it touched is written.
"""

from __future__ import annotations

import dataclasses
import functools
import sys

import click
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..points import audit
from ..points.errors import Refused
from ..points.imports.errors import ImportErrors
from ..points.imports.reader import ReadError
from ..points.registry import StaffUser, Village
from ..points.rules import RuleBookError
from ..web.refusals import CATALOG, coded_text

_ROLLBACK_ONLY = "pointsapp_rollback_only"


def fail(message: str):
    raise click.ClickException(message)


def refusal_text(exc: object, fallback: str) -> str:
    """What a refusal or a coded import error says, from the one refusal catalog (``web/refusals.py``), in
    English (its msgids: the English pages' words) with the code for the operator; ``fallback`` (the
    core's own words) for an error without a code the catalog knows."""
    code = getattr(exc, "code", None)
    if code not in CATALOG:
        return fallback
    with force_locale("en"):
        return f"{coded_text(exc, fallback)} [{code}]"


def rollback_only() -> None:
    """Nothing this command wrote will be committed (a dry run, a read-only command)."""
    click.get_current_context().meta[_ROLLBACK_ONLY] = True


def _database_error(exc: SQLAlchemyError) -> str:
    detail = str(exc.orig if hasattr(exc, "orig") else exc).splitlines()[0]
    return f"database error: {exc.__class__.__name__}: {detail} (has `pointsapp init-db` been run on this database?)"


def transaction(fn):
    """The CLI's transaction boundary: commit once on success, roll back on any error.

    Refusals, bad files and database errors become a readable message and a non-zero exit.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ok = False
        try:
            result = fn(*args, **kwargs)
            ok = not click.get_current_context().meta.get(_ROLLBACK_ONLY, False)
            if ok:
                db.session.commit()
            return result
        except ImportErrors as exc:
            for e in exc.errors:
                click.echo(f"error: {dataclasses.replace(e, reason=refusal_text(e, e.reason))}", err=True)
            fail(f"{len(exc.errors)} bad rows; nothing was imported")
        except RuleBookError as exc:
            for e in exc.errors:
                click.echo(f"error: {e}", err=True)
            fail(f"{len(exc.errors)} errors in the rule book; nothing was loaded")
        except SQLAlchemyError as exc:
            fail(_database_error(exc))
        except (Refused, ReadError) as exc:
            fail(refusal_text(exc, getattr(exc, "message", None) or str(exc)))
        except ValueError as exc:
            fail(str(exc))
        finally:
            if not ok:
                db.session.rollback()

    return wrapper


def read_only(fn):
    """A command that only reads: nothing is committed, and its SQLite transactions are deferred
    (``BEGIN``, not ``BEGIN IMMEDIATE``), so it never takes or waits for the write lock.

    Put it inside :func:`transaction` (closer to the function)."""
    from ..points.engine import write_intent

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        rollback_only()
        token = write_intent.set(False)
        try:
            return fn(*args, **kwargs)
        finally:
            db.session.rollback()  # end the deferred transaction before the flag goes back
            write_intent.reset(token)

    return wrapper


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


def finish(report, dry_run: bool, actor, action: str, village: Village, target: str, **detail) -> None:
    """Print a load's report, then keep nothing (dry run) or audit it for the commit."""
    for line in report.lines():
        click.echo(line)
    if dry_run:
        rollback_only()
        click.echo("dry run: nothing was written")
        return
    audit.record(db.session, actor, action, village_id=village.id, target=target, **detail)
