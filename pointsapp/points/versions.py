"""Content versions of a village's public pages: a counter per village, bumped in the same
transaction as any change that a public page could show.

A public page (card, board, notice, rules) is a function of the village's ledger head
(``villages.ledger_seq``, advanced by every posting), this village's content version, the
installation-wide version (changes that cannot be pinned to one village: the village list,
bulk statements) and request-side inputs (locale, local date, query). :func:`page_state`
reads the two counters and the ledger head in one statement; the web layer uses them as an
ETag and as the key of its rendered-page cache, so that cache needs no timer and is never
stale.

How the counters stay right without every service remembering to bump them: Session events.

* ``after_flush`` collects the village of every new, changed or deleted object (its
  ``village_id``); an object that names no village, a village itself (other than its ledger
  head) or a Core INSERT/UPDATE/DELETE run through ``Session.execute`` marks the
  installation-wide counter instead. Classes in :data:`UNSEEN` never show on a public page,
  or only through the ledger head (ledger entries and tallies).
* ``before_commit`` flushes, then bumps the collected counters (in id order, as the last
  locks the transaction takes, so two writers cannot deadlock on them). A rollback forgets
  them. A commit is therefore atomic with its bump: a reader that sees the change sees the
  new version, and the other way round.

Writes that bypass the Session (``bulk_insert`` uses the driver directly) call
:func:`touch_all`. Raw SQL typed into the database by hand is not seen: restart the web
workers (or run ``pointsapp`` once: any commit that touches the village bumps it) after that.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Integer, event, literal, select, table, column, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base

ALL = 0   # the row of installation-wide changes
_KEY = "pointsapp_touched_villages"
# Tables whose rows are never shown on a public page, or only through the ledger head.
UNSEEN_TABLES = frozenset({"ledger_entries", "tallies", "audit_events", "sign_in_throttles", "capture_batches",
                           "village_versions"})


class VillageVersion(Base):
    __tablename__ = "village_versions"

    village_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0: every village
    version: Mapped[int] = mapped_column(BigInteger, default=0)


def _touched(session: Session) -> set[int]:
    return session.info.setdefault(_KEY, set())


def touch(session: Session, village_id: int | None) -> None:
    """Mark a village's public pages as changed by this transaction (None: every village)."""
    _touched(session).add(ALL if village_id is None else village_id)


def touch_all(session: Session) -> None:
    touch(session, None)


def _village_of(obj) -> int | None | bool:
    """The village an object belongs to; None when unknown; False when public pages never show it."""
    from .registry import Village

    if getattr(obj, "__tablename__", None) in UNSEEN_TABLES:
        return False
    if isinstance(obj, Village):
        return None
    vid = getattr(obj, "village_id", None)
    return vid if isinstance(vid, int) else None


def _head_only(obj) -> bool:
    """A village whose only change is its ledger head (every posting): the key has that already."""
    from sqlalchemy import inspect

    from .registry import Village

    if not isinstance(obj, Village):
        return False
    state = inspect(obj)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    return bool(changed) and changed <= {"ledger_seq", "ledger_head"}


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _ctx) -> None:
    touched = _touched(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if obj in session.dirty and (_head_only(obj) or not session.is_modified(obj)):
            continue
        vid = _village_of(obj)
        if vid is False:
            continue
        touched.add(ALL if vid is None else vid)


@event.listens_for(Session, "do_orm_execute")
def _collect_dml(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    target = getattr(state.statement, "table", None)
    if getattr(target, "name", None) in UNSEEN_TABLES:
        return
    touch_all(state.session)


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    if session.info.get(_KEY) is None and not (session.new or session.dirty or session.deleted):
        return
    session.flush()
    touched = session.info.pop(_KEY, None)
    if not touched:
        return
    conn = session.connection()
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(VillageVersion)
    stmt = ins.on_conflict_do_update(index_elements=[VillageVersion.village_id],
                                     set_={"version": VillageVersion.version + 1})
    for vid in sorted(touched):   # one order for every writer
        conn.execute(stmt, {"village_id": vid, "version": 1})


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)


_villages = table("villages", column("id"), column("ledger_seq"))
_versions = table("village_versions", column("village_id"), column("version"))


def page_state(session: Session, village_id: int) -> tuple[int, int, int]:
    """(ledger head seq, village version, installation-wide version) in one statement."""
    stmt = union_all(
        select(literal(1).label("k"), _villages.c.ledger_seq.label("v")).where(_villages.c.id == village_id),
        select(literal(2), _versions.c.version).where(_versions.c.village_id == village_id),
        select(literal(3), _versions.c.version).where(_versions.c.village_id == ALL),
    )
    got = {k: v for k, v in session.execute(stmt).all()}
    return int(got.get(1, -1)), int(got.get(2, 0)), int(got.get(3, 0))


__all__ = ["ALL", "VillageVersion", "page_state", "touch", "touch_all"]
