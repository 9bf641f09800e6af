"""The embedded rate-limit storage (web/ratelimit_storage.py): counters in a file that every worker
process of a machine maps into memory. Oracles: the counts a test makes itself, and the file's bytes
read here with plain ``struct`` (every slot scanned, not the storage's own probing)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import struct
import threading
import time

import pytest

from pointsapp.web import ratelimit_storage
from pointsapp.web.ratelimit_storage import FileStorage


def _uri(tmp_path) -> str:
    return f"pointsapp-file:///{tmp_path}/limits.counters"


def _file_counts(path) -> dict[int, tuple[float, int]]:
    """Every used slot of the file: key hash -> (window end, count), read with struct alone."""
    raw = path.read_bytes()
    assert raw.startswith(b"pointsapp-ratelimits-1\n")
    out = {}
    for at in range(64, len(raw), 24):
        h, end, count = struct.unpack_from("<Qdq", raw, at)
        if h:
            assert h not in out, "a key in two slots"
            out[h] = (end, count)
    return out


def _h(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def test_counts_add_up_across_storages_and_a_window_that_ended_starts_again(tmp_path, monkeypatch):
    a, b = FileStorage(_uri(tmp_path)), FileStorage(_uri(tmp_path))  # two workers
    assert [a.incr("k", 60), b.incr("k", 60), a.incr("k", 60, amount=3)] == [1, 2, 5]
    assert b.get("k") == 5 and a.incr("other", 600) == 1 and a.get("never") == 0
    counts = _file_counts(tmp_path / "limits.counters")
    assert {h: c for h, (_end, c) in counts.items()} == {_h("k"): 5, _h("other"): 1}
    now = time.time()
    monkeypatch.setattr(ratelimit_storage.time, "time", lambda: now + 61)  # the minute is over
    assert a.get("k") == 0 and b.incr("k", 60) == 1 and a.incr("k", 60) == 2
    assert abs(a.get_expiry("k") - (now + 61 + 60)) < 1
    a.clear("k")
    assert b.get("k") == 0 and b.get("other") == 1
    b.reset()
    assert a.get("other") == 0 and _file_counts(tmp_path / "limits.counters") == {}


def _hammer(storage: FileStorage, n: int) -> None:
    def run(i: int):
        for _ in range(n):
            storage.incr("shared", 600)
            storage.incr(f"own-{os.getpid()}-{i}", 600)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_workers_and_threads_lose_no_hit(tmp_path):
    storage = FileStorage(_uri(tmp_path))  # made before the fork, as gunicorn's master makes the app
    storage.incr("shared", 600)
    procs = [multiprocessing.get_context("fork").Process(target=_hammer, args=(storage, 300)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    counts = _file_counts(tmp_path / "limits.counters")
    assert counts[_h("shared")][1] == 1 + 4 * 2 * 300
    assert sorted(c for h, (_e, c) in counts.items() if h != _h("shared")) == [300] * 8


def test_a_full_bucket_reuses_ended_windows_first_then_the_one_that_ends_first(tmp_path, monkeypatch):
    monkeypatch.setattr(ratelimit_storage, "BUCKETS", 1)  # one bucket of 8 slots
    storage = FileStorage(_uri(tmp_path))
    storage.incr("ended", 0)  # a window that is already over
    storage.incr("soon", 60)
    for i in range(6):
        storage.incr(f"long{i}", 3600, amount=i + 1)
    storage.incr("new", 600)  # takes the ended window's slot
    assert storage.get("soon") == 1 and [storage.get(f"long{i}") for i in range(6)] == [1, 2, 3, 4, 5, 6]
    storage.incr("newer", 600)  # every window open: the one that ends first gives way
    assert storage.get("soon") == 0 and storage.get("new") == 1 and storage.get("newer") == 1
    assert [storage.get(f"long{i}") for i in range(6)] == [1, 2, 3, 4, 5, 6]
    assert len(_file_counts(tmp_path / "limits.counters")) == 8


def test_a_file_of_another_shape_is_refused_with_its_path(tmp_path, monkeypatch):
    FileStorage(_uri(tmp_path))
    monkeypatch.setattr(ratelimit_storage, "BUCKETS", 2)
    with pytest.raises(OSError, match="limits.counters"):
        FileStorage(_uri(tmp_path))
    (tmp_path / "other.counters").write_bytes(b"not ours")
    with pytest.raises(OSError, match="other.counters"):
        FileStorage(f"pointsapp-file:///{tmp_path}/other.counters")


def _count_once(storage: FileStorage) -> None:
    storage.incr("child", 60)


def test_a_worker_forked_while_a_thread_counted_is_not_stuck(tmp_path):
    """gunicorn forks its workers; if a thread of the parent held the storage's lock at that moment,
    the child must not wait for it forever."""
    storage = FileStorage(_uri(tmp_path))
    with ratelimit_storage._lock:  # as if another thread were counting a hit right now
        child = multiprocessing.get_context("fork").Process(target=_count_once, args=(storage,))
        child.start()
        child.join(20)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0 and storage.get("child") == 1
