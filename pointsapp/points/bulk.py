"""Fast bulk loading for the demo and benchmarks: COPY on PostgreSQL (psycopg's ``Copy.write_row``, which
adapts and escapes every value), executemany on SQLite."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from .versions import UNSEEN_TABLES, touch_all


def _copy_value(v: object) -> object:
    """A value as psycopg's COPY writer should adapt it: enum members as the value stored in the column."""
    return v.value if isinstance(v, enum.Enum) else v


def _sqlite_value(v: object) -> object:
    if v is None:
        return None
    if isinstance(v, dt.datetime):  # stored as naive UTC, like UTCDateTime does
        return v.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, dt.date):
        return v.isoformat()
    if hasattr(v, "value"):
        return v.value
    return v


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Insert rows (tuples in ``columns`` order) as fast as the backend allows."""
    data: list[Sequence[object]] = list(rows)
    if not data:
        return 0
    if table.name not in UNSEEN_TABLES:  # the driver bypasses the Session's events
        touch_all(session)
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        with raw.cursor() as cur, cur.copy(statement) as cp:
            for row in data:  # psycopg adapts and escapes each value for the COPY format
                cp.write_row([_copy_value(v) for v in row])
    else:  # SQLite: plain executemany, skipping SQLAlchemy's per-row parameter processing
        marks = ", ".join("?" * len(columns))
        # Convert only the columns that hold dates, datetimes or enums (judged on a sample).
        sample = data[: min(len(data), 50)]
        convert = [
            i
            for i in range(len(columns))
            if any(
                v is not None and not isinstance(v, (int, str, float)) or isinstance(v, enum.Enum)
                for v in (r[i] for r in sample)
            )
        ]
        if convert:
            fixed: list[Sequence[object]] = []
            for original in data:
                row = list(original)
                for i in convert:
                    row[i] = _sqlite_value(row[i])
                fixed.append(row)
            data = fixed
        raw.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", data)
    return len(data)


def fix_sequences(session: Session, tables: Iterable[Table]) -> None:
    """After inserting explicit ids on PostgreSQL, move each id sequence past the maximum."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    for t in tables:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {t.name}), 0) + 1, false)"
            )
        )
