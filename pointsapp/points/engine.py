"""Engine set-up shared by the app, the CLI and the core's own tests."""

from __future__ import annotations

import contextvars
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000

# Whether new SQLite transactions take the write lock at once (BEGIN IMMEDIATE). True by
# default (CLI, services, tests); the web app turns it off for GET/HEAD requests, so pages
# and streamed exports never hold the lock that capture and posting wait for.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("pointsapp_write_intent", default=True)


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for writing transactions.

    BEGIN IMMEDIATE takes SQLite's single write lock when a transaction starts, so two
    writers never interleave read-check-write sequences (cap checks, the hash chain) and
    never fail on a lock upgrade. Readers in WAL mode are not blocked by it.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:
        dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    engine = create_engine(url, **kwargs)
    configure_sqlite(engine)
    return engine
