"""Fast bulk loading for the demo and benchmarks: COPY on PostgreSQL, executemany on SQLite."""
from __future__ import annotations

import datetime as dt
import io
from typing import Iterable, Sequence

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session


def _copy_value(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if hasattr(v, "value"):
        v = v.value
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows (tuples in ``columns`` order) as fast as the backend allows."""
    rows = list(rows)
    if not rows:
        return 0
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        cols = ", ".join(columns)
        with raw.cursor() as cur:
            with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as cp:
                buf = io.StringIO()
                for i, row in enumerate(rows, 1):
                    buf.write("\t".join(_copy_value(v) for v in row))
                    buf.write("\n")
                    if i % 20000 == 0:
                        cp.write(buf.getvalue())
                        buf = io.StringIO()
                cp.write(buf.getvalue())
    else:
        conn.execute(insert(table), [dict(zip(columns, row)) for row in rows])
    return len(rows)


def fix_sequences(session: Session, tables: Iterable[Table]) -> None:
    """After inserting explicit ids on PostgreSQL, move each id sequence past the maximum."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    for t in tables:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {t.name}), 0) + 1, false)"))
