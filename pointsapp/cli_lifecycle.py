"""The month lifecycle from the command line: notices, month close, village settings, anchors, verify."""
from __future__ import annotations

import functools
import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .extensions import db
from .points import audit
from .points.anchors import export_anchors, verify_village
from .points.engine import write_intent
from .points.errors import Refused
from .points.lifecycle import close_month
from .points.notice import MAX_NOTICE_DAYS, Notice, publish_notice
from .points.periods import parse_month
from .points.registry import Village


def read_only(fn):
    """A command that only reads: its SQLite transactions don't take the write lock."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        token = write_intent.set(False)
        try:
            return fn(*args, **kwargs)
        finally:
            db.session.rollback()
            write_intent.reset(token)
    return wrapper


def _villages(village_name: str | None) -> list[Village]:
    from .cli import resolve_village

    if village_name:
        return [resolve_village(village_name)]
    return list(db.session.execute(select(Village).order_by(Village.id)).scalars())


def notice_row(n: Notice) -> dict:
    return {"month": n.month, "kind": n.kind, "number": n.number, "entries": n.entry_count, "digest": n.digest,
            "published_at": n.published_at.isoformat(), "window_ends": n.closes_on.isoformat(),
            "head_seq": n.head_seq}


def register(cli: click.Group, refusals, resolve_village, resolve_user, progress) -> None:
    """Add the lifecycle commands to the ``pointsapp`` group."""

    @cli.group("notice")
    def notice_group():
        """公示: publish a finished month (or its supplement), list notices."""

    @notice_group.command("publish")
    @click.argument("month")
    @click.option("--by", "by_name", required=True, help="reviewer or admin who publishes")
    @click.option("--village", "village_name")
    @with_appcontext
    @refusals
    def notice_publish(month, by_name, village_name):
        """Publish MONTH (YYYY-MM) for public notice: the main notice, or a supplement of what came since."""
        parse_month(month)
        village = resolve_village(village_name)
        actor = resolve_user(by_name, village)
        n = publish_notice(db.session, village, month, actor)
        audit.record(db.session, actor, "notice.publish", village_id=village.id, target=f"notice {n.month}",
                     kind=n.kind, number=n.number, entries=n.entry_count, digest=n.digest, head_seq=n.head_seq)
        db.session.commit()
        label = "notice" if n.number == 1 else f"supplementary notice {n.number - 1}"
        click.echo(f"published the {label} of {n.month} for {village.name}: {n.entry_count} entries, "
                   f"objections until {n.closes_on}; digest {n.digest}")

    @notice_group.command("list")
    @click.option("--village", "village_name")
    @click.option("--json", "as_json", is_flag=True)
    @with_appcontext
    @refusals
    @read_only
    def notice_list(village_name, as_json):
        """Every notice of a village, oldest first."""
        village = resolve_village(village_name)
        rows = [notice_row(n) for n in db.session.execute(select(Notice).where(Notice.village_id == village.id)
                                                           .order_by(Notice.month, Notice.number)).scalars()]
        if as_json:
            click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        for r in rows:
            click.echo(f"{r['month']}  {r['kind']:<10} {r['entries']:>6} entries  until {r['window_ends']}  "
                       f"{r['digest']}")

    @cli.group("village")
    def village_group():
        """Village settings."""

    @village_group.command("set")
    @click.argument("name")
    @click.option("--notice-days", type=int, help=f"objection window of a notice, 0-{MAX_NOTICE_DAYS} days")
    @with_appcontext
    @refusals
    def village_set(name, notice_days):
        """Change a village's settings."""
        village = resolve_village(name)
        if notice_days is None:
            raise click.UsageError("nothing to set: give --notice-days N")
        if not 0 <= notice_days <= MAX_NOTICE_DAYS:
            raise Refused("bad_window", f"the objection window must be 0-{MAX_NOTICE_DAYS} days, got {notice_days}")
        old = village.notice_days
        village.notice_days = notice_days
        audit.record(db.session, None, "village.settings", village_id=village.id, target=f"village {village.name}",
                     notice_days=[old, notice_days])
        db.session.commit()
        click.echo(f"{village.name}: objection window {notice_days} days (was {old})")

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
        """Close a local month: only when its notices' windows are over and its objections answered."""
        parse_month(month)
        village = resolve_village(village_name)
        actor = resolve_user(by_name, village)
        closed = close_month(db.session, village, month, actor)
        audit.record(db.session, actor, "period.close", village_id=village.id, target=f"month {closed.month}",
                     head_seq=closed.head_seq, head_hash=closed.head_hash)
        db.session.commit()
        click.echo(f"closed {closed.month} for {village.name}; chain head seq {closed.head_seq}, {closed.head_hash}")

    @cli.group("ledger")
    def ledger_group():
        """The hash-chained ledger."""

    @ledger_group.command("anchors")
    @click.option("--village", "village_name", help="default: every village")
    @click.option("--json", "as_json", is_flag=True, help="the file `ledger verify --anchors` reads")
    @with_appcontext
    @refusals
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
                click.echo(f"  {n['month']} {label:<13} seq {n['head_seq']:>7} {n['head_hash']}  "
                           f"digest {n['digest']}  ({n['entries']} entries)")
            for c in v["closed"]:
                click.echo(f"  {c['month']} {'closed':<13} seq {c['head_seq']:>7} {c['head_hash']}")

    @ledger_group.command("verify")
    @click.option("--village", "village_name", help="default: every village")
    @click.option("--anchors", "anchors_file", type=click.File("r", encoding="utf-8"),
                  help="an anchors file exported earlier with `ledger anchors --json`")
    @with_appcontext
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
                try:
                    res = verify_village(db.session, v, anchors=anchors, progress=bar.update)
                except ValueError as exc:
                    raise click.ClickException(str(exc)) from None
            if res.ok:
                click.echo(f"{v.name}: ok, {res.entries} entries, head {res.head[:16]}")
            else:
                bad += 1
                for problem in res.problems:
                    click.echo(f"{v.name}: BROKEN: {problem}", err=True)
            db.session.expire_all()
        if bad:
            raise SystemExit(1)

    return None


__all__ = ["register", "read_only", "notice_row"]
