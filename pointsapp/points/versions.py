"""Content versions of a village's public pages: a counter per village, bumped in the same
transaction as any change that a public page could show.

A public page (card, board, notice, rules) is a function of the village's ledger head
(``villages.ledger_seq``, advanced by every posting), this village's content version, the
installation-wide version (changes that cannot be pinned to one village: the village list,
bulk statements) and request-side inputs (locale, local date, query). :func:`village_state` and
:func:`card_state` read the two counters and the ledger head in one statement; the web layer uses them as an
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

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, Select, bindparam, column, event, func, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from .db import Base

ALL = 0  # the row of installation-wide changes
_KEY = "pointsapp_touched_villages"
# Tables whose rows are never shown on a public page, or only through the ledger head.
UNSEEN_TABLES = frozenset(
    {"ledger_entries", "tallies", "audit_events", "sign_in_throttles", "capture_batches", "village_versions"}
)


class VillageVersion(Base):
    __tablename__ = "village_versions"

    village_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0: every village
    version: Mapped[int] = mapped_column(BigInteger, default=0)


def _touched(session: Session) -> set[int]:
    touched: set[int] = session.info.setdefault(_KEY, set())
    return touched


def touch(session: Session, village_id: int | None) -> None:
    """Mark a village's public pages as changed by this transaction (None: every village)."""
    _touched(session).add(ALL if village_id is None else village_id)


def touch_all(session: Session) -> None:
    touch(session, None)


def _village_of(obj: object) -> int | None | bool:
    """The village an object belongs to; None when unknown; False when public pages never show it."""
    from .registry import Village

    if getattr(obj, "__tablename__", None) in UNSEEN_TABLES:
        return False
    if isinstance(obj, Village):
        return None
    vid = getattr(obj, "village_id", None)
    return vid if isinstance(vid, int) else None


def _head_only(obj: object) -> bool:
    """A village whose only change is its ledger head (every posting): the key has that already."""
    from sqlalchemy import inspect

    from .registry import Village

    if not isinstance(obj, Village):
        return False
    state = inspect(obj)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    return bool(changed) and changed <= {"ledger_seq", "ledger_head"}


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _ctx: object) -> None:
    touched = _touched(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if obj in session.dirty and (_head_only(obj) or not session.is_modified(obj)):
            continue
        vid = _village_of(obj)
        if vid is False:
            continue
        touched.add(ALL if vid is None else vid)


@event.listens_for(Session, "do_orm_execute")
def _collect_dml(state: ORMExecuteState) -> None:
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
    stmt = ins.on_conflict_do_update(
        index_elements=[VillageVersion.village_id], set_={"version": VillageVersion.version + 1}
    )
    for vid in sorted(touched):  # one order for every writer
        conn.execute(stmt, {"village_id": vid, "version": 1})


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)


_villages = table("villages", column("id"), column("ledger_seq"), column("timezone"))
_versions = table("village_versions", column("village_id"), column("version"))
_households = table("households", column("id"), column("village_id"), column("card_token"), column("active"))


@dataclass(frozen=True)
class PageState:
    """What a village's public pages depend on in the database, read in one statement."""

    village_id: int
    timezone: str
    ledger_seq: int
    version: int
    everyone: int  # the installation-wide version
    household_id: int | None = None

    @property
    def key(self) -> tuple[int, int, int, int]:
        return (self.village_id, self.ledger_seq, self.version, self.everyone)


@functools.cache
def _state_stmt(by: str) -> Select[*tuple[Any, ...]]:
    mine = _versions.alias("mine")
    everyone = select(_versions.c.version).where(_versions.c.village_id == ALL).scalar_subquery()
    cols = [
        _villages.c.id,
        _villages.c.timezone,
        _villages.c.ledger_seq,
        func.coalesce(mine.c.version, 0),
        func.coalesce(everyone, 0),
    ]
    if by == "token":
        stmt = (
            select(*cols, _households.c.id)
            .select_from(_households)
            .join(_villages, _villages.c.id == _households.c.village_id)
            .where(_households.c.card_token == bindparam("token"), _households.c.active.is_(True))
        )
    else:
        stmt = select(*cols).select_from(_villages)
        stmt = (
            stmt.where(_villages.c.id == bindparam("village"))
            if by == "village"
            else stmt.order_by(_villages.c.id).limit(1)
        )
    return stmt.outerjoin(mine, mine.c.village_id == _villages.c.id)


def village_state(session: Session | Connection, village_id: int | None) -> PageState | None:
    """The state of a village (None: the first village), or None when there is no such village."""
    if village_id is None:
        row = session.execute(_state_stmt("first")).first()
    else:
        row = session.execute(_state_stmt("village"), {"village": village_id}).first()
    return None if row is None else PageState(*row)


def card_state(session: Session, token: str) -> PageState | None:
    """The state of the village of the active household holding this card token (with its id)."""
    row = session.execute(_state_stmt("token"), {"token": token}).first()
    return None if row is None else PageState(*row)


def page_state(session: Session, village_id: int) -> tuple[int, int, int]:
    """(ledger head seq, village version, installation-wide version)."""
    st = village_state(session, village_id)
    return (-1, 0, 0) if st is None else (st.ledger_seq, st.version, st.everyone)


__all__ = ["ALL", "PageState", "VillageVersion", "card_state", "page_state", "touch", "touch_all", "village_state"]
