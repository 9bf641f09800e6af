"""Declarative base, shared column types and session helpers for the core."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, TypeVar, cast

from sqlalchemy import BigInteger, CursorResult, DateTime, Enum, Integer, MetaData, Result, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.expression import ClauseElement, Executable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def str_enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
    """A column of ``cls``'s values stored as VARCHAR(length): what a ``String(length)`` column stores, so
    no migration, but the mapped attribute holds the enum member (a ``StrEnum`` compares equal to its
    value). The tables keep their own CHECK constraints on the values."""
    return Enum(
        cls,
        native_enum=False,
        length=length,
        create_constraint=False,
        values_callable=lambda members: [m.value for m in members],
    )


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_frozen_now: dt.datetime | None = None


def utcnow() -> dt.datetime:
    """The one clock of the app: now in UTC, unless a test has set it (:func:`set_clock`)."""
    return _frozen_now if _frozen_now is not None else dt.datetime.now(dt.timezone.utc)


def set_clock(when: dt.datetime | None) -> None:
    """Freeze the clock at ``when`` (an aware datetime), or back to real time with None. For tests."""
    global _frozen_now
    if when is not None and when.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    _frozen_now = when


_Model = TypeVar("_Model", bound="Base")


def lock_row(session: Session, model: type[_Model], pk: object) -> _Model:
    """Take the write lock that serialises ledger writers of one village.

    PostgreSQL: ``SELECT ... FOR UPDATE`` on the row. SQLite: every transaction starts with
    ``BEGIN IMMEDIATE`` (see :func:`pointsapp.points.engine.configure_sqlite`), so the
    database write lock is already held and the plain select is enough.
    """
    from sqlalchemy import select

    return session.execute(select(model).where(model.__table__.c.id == pk).with_for_update()).scalar_one()


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (``Session.execute`` is typed as returning a plain ``Result``)."""
    return cast(CursorResult[Any], result).rowcount


class _Explain(Executable, ClauseElement):
    """``EXPLAIN`` around a statement, compiled with its binds (see :func:`explain`)."""

    inherit_cache = False

    def __init__(self, stmt: Any, prefix: str):
        self.stmt, self.prefix = stmt, prefix


@compiles(_Explain)
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return element.prefix + str(compiler.process(element.stmt, **kw))


def explain(session: Session, stmt: Any, params: dict[str, Any] | None = None, *, analyze: bool = False) -> list[str]:
    """The database's plan for ``stmt`` as text lines: ``EXPLAIN`` on PostgreSQL (with ``ANALYZE``
    and ``BUFFERS`` if asked: the statement runs), ``EXPLAIN QUERY PLAN`` on SQLite. For tests and
    benchmarks that check which index a query reads."""
    postgres = session.get_bind().dialect.name == "postgresql"
    prefix = ("EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN ") if postgres else "EXPLAIN QUERY PLAN "
    rows = session.execute(_Explain(stmt, prefix), params or {}).all()
    return [r[0] if postgres else r[-1] for r in rows]
