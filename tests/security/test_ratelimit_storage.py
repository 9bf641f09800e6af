"""The embedded rate-limit storage (web/ratelimit_storage.py): counters in a SQLite file that every
worker process of a machine shares. Oracles: the counts a test makes itself, and the file read with
plain sqlite3."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

from pointsapp.web import ratelimit_storage
from pointsapp.web.ratelimit_storage import SQLiteStorage


def _uri(tmp_path) -> str:
    return f"pointsapp-sqlite:///{tmp_path}/limits.db"


def test_counts_add_up_across_storages_and_a_window_that_ended_starts_again(tmp_path, monkeypatch):
    a, b = SQLiteStorage(_uri(tmp_path)), SQLiteStorage(_uri(tmp_path))  # two workers
    assert [a.incr("k", 60), b.incr("k", 60), a.incr("k", 60, amount=3)] == [1, 2, 5]
    assert b.get("k") == 5 and a.incr("other", 60) == 1
    now = time.time()
    monkeypatch.setattr(ratelimit_storage.time, "time", lambda: now + 61)  # the minute is over
    assert a.get("k") == 0 and b.incr("k", 60) == 1 and a.incr("k", 60) == 2
    assert abs(a.get_expiry("k") - (now + 61 + 60)) < 1


def _hammer(uri: str, n: int) -> None:
    storage = SQLiteStorage(uri)
    for _ in range(n):
        storage.incr("shared", 600)


def test_concurrent_workers_lose_no_hit(tmp_path):
    uri = _uri(tmp_path)
    SQLiteStorage(uri)
    procs = [multiprocessing.get_context("fork").Process(target=_hammer, args=(uri, 300)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    with sqlite3.connect(f"{tmp_path}/limits.db") as raw:
        assert raw.execute("SELECT count FROM counters WHERE key = 'shared'").fetchone() == (1200,)


def test_ended_windows_are_forgotten_now_and_then(tmp_path, monkeypatch):
    monkeypatch.setattr(ratelimit_storage, "PURGE_EVERY", 10)
    storage = SQLiteStorage(_uri(tmp_path))
    for i in range(5):
        storage.incr(f"short{i}", 0)  # windows that end at once
    for _ in range(4):
        storage.incr("long", 600)
    with sqlite3.connect(f"{tmp_path}/limits.db") as raw:
        assert raw.execute("SELECT count(*) FROM counters").fetchone() == (6,)
        storage.incr("long", 600)  # the 10th hit of this connection
        assert raw.execute("SELECT key, count FROM counters").fetchall() == [("long", 5)]
