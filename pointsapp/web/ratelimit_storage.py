"""Rate-limit counters in a SQLite file, shared by every worker process of one machine.

Flask-Limiter's ``memory://`` storage keeps one set of counters per worker, so with two
gunicorn workers "10 a minute" means 20. Without Redis configured, the app uses this storage
(``pointsapp-sqlite:///path/to/ratelimits.db``): a tiny table of (key, count, expires_at),
updated by one upsert per hit (its own short write transaction), so counts hold across workers
and restarts. It supports the fixed-window strategy (Flask-Limiter's default).

Importing this module registers the scheme with ``limits``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from urllib.parse import unquote, urlsplit

from limits.storage import Storage

SCHEME = "pointsapp-sqlite"
PURGE_EVERY = 4096  # hits per connection between two deletes of ended windows

_INCR = (
    "INSERT INTO counters (key, count, expires_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN expires_at <= ?4 THEN excluded.count ELSE count + excluded.count END, "
    "expires_at = CASE WHEN expires_at <= ?5 THEN excluded.expires_at ELSE expires_at END "
    "RETURNING count"
)


class SQLiteStorage(Storage):
    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012  (the attribute limits reads)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        path = unquote(urlsplit(uri or "").path) if uri else ""
        if not path:
            raise ValueError(f"{SCHEME}:// needs a file path, e.g. {SCHEME}:///srv/pointsapp/instance/ratelimits.db")
        self.path = path
        self._local = threading.local()
        self._pid = None
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
                "expires_at REAL NOT NULL)"
            )

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _connect(self) -> sqlite3.Connection:
        # one connection per thread and per process (gunicorn forks after the app is built)
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # Counters need no fsync: a power cut forgets at most this minute's counts. (NORMAL made every
            # WAL checkpoint, several a second under load, wait for the disk while a page view waited.)
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn, self._local.pid, self._local.hits = conn, os.getpid(), 0
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        # One statement, its own short write transaction (autocommit), so SQLite's write lock is held only
        # while that statement runs, never across Python code: a counter whose window ended starts again
        # at ``amount``.
        now = time.time()
        conn = self._connect()
        (count,) = conn.execute(_INCR, (key, amount, now + expiry, now, now)).fetchone()
        self._local.hits += 1
        if self._local.hits % PURGE_EVERY == 0:  # now and then, forget windows that ended
            conn.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        return int(count)

    def get(self, key: str) -> int:
        row = (
            self._connect()
            .execute("SELECT count FROM counters WHERE key = ? AND expires_at > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = (
            self._connect()
            .execute("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", (key, time.time()))
            .fetchone()
        )
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._connect().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        cur = self._connect().execute("DELETE FROM counters")
        return cur.rowcount

    def clear(self, key: str) -> None:
        self._connect().execute("DELETE FROM counters WHERE key = ?", (key,))


def default_uri(instance_path: str) -> str:
    return f"{SCHEME}:///{os.path.abspath(os.path.join(instance_path, 'ratelimits.db')).lstrip('/')}"
