"""Rate-limit counters in a file mapped into memory, shared by every worker process of one machine.

Flask-Limiter's ``memory://`` storage keeps one set of counters per worker, so with two
gunicorn workers "10 a minute" means 20. Without Redis configured, the app uses this storage
(``pointsapp-file:///path/to/ratelimits.counters``): a fixed-size hash table of counters in a
file that every worker maps into memory. One hit reads and writes a few hundred bytes of that
memory under a lock (a thread lock in the process, ``flock`` across processes), so counts hold
across workers and across restarts (the file stays). It supports the fixed-window strategy
(Flask-Limiter's default).

Why not SQLite (what it was): under load, with 8 threads in 2 processes upserting, a counted card
view cost about 200 µs of CPU in locking and retries, more than the rest of the page; this costs
a few µs.

The table: ``BUCKETS`` buckets of ``SLOTS`` slots, each slot (key hash, window end, count). A key
lives in its home bucket (its hash modulo ``BUCKETS``) or one of the ``PROBE - 1`` buckets after it; a
slot whose window ended is free again. Only when every slot of those buckets holds a window still
open does a new key take the slot whose window ends first (that needs tens of thousands of
counted clients at once hashing to the same buckets; a county's desks and phones make a few
thousand). Keys are stored as 64-bit hashes (blake2b): two keys sharing one is a 2^-64 chance.

Importing this module registers the scheme with ``limits``.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time
from urllib.parse import unquote, urlsplit

from limits.storage import Storage

SCHEME = "pointsapp-file"
MAGIC = b"pointsapp-ratelimits-1\n\0"  # 24 bytes, then the table's shape
BUCKETS = 1 << 13  # 65,536 slots in 1.5 MB
SLOTS = 8
PROBE = 4
_HEAD = struct.Struct("<24sII")
_SLOT = struct.Struct("<Qdq")  # key hash (0: never used), window end (epoch seconds), count
_BUCKET = struct.Struct("<" + "Qdq" * SLOTS)
HEADER = 64


# One lock for the threads of this process (flock serializes processes, not threads: they share the
# descriptor). Made anew in a child after fork, in case another thread held it at that moment.
_lock = threading.Lock()

# flock through ctypes.PyDLL, which keeps the GIL: fcntl.flock lets go of it, and a thread that has just
# taken the file lock could then wait for the GIL (up to the 5 ms switch interval) while the other
# workers' threads waited for the file lock. Keeping the GIL, the holder runs its few µs and lets go; a
# thread of this process waits on _lock instead (which does let go of the GIL). Measured under load, three
# runs each way: a little less CPU per counted card view, and no run at half speed (fcntl.flock had one).
_flock = ctypes.PyDLL(None, use_errno=True).flock
_flock.argtypes = (ctypes.c_int, ctypes.c_int)
_flock.restype = ctypes.c_int


def _file_lock(fd: int, how: int) -> None:
    while _flock(fd, how) != 0:
        err = ctypes.get_errno()
        if err != errno.EINTR:
            raise OSError(err, os.strerror(err))


def _new_lock_in_child() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def _hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1


class FileStorage(Storage):
    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012  (the attribute limits reads)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        path = unquote(urlsplit(uri or "").path) if uri else ""
        if not path:
            raise ValueError(
                f"{SCHEME}:// needs a file path, e.g. {SCHEME}:///srv/pointsapp/instance/ratelimits.counters"
            )
        self.path = path
        self.buckets = BUCKETS
        self.size = HEADER + BUCKETS * _BUCKET.size
        self._pid: int | None = None
        self._fd = -1
        self._mm: mmap.mmap | None = None
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self._open()

    @property
    def base_exceptions(self):
        return OSError

    def _open(self) -> mmap.mmap:
        """The mapping for this process (gunicorn forks after the app is built: a lock taken through a
        file descriptor the parent opened would be shared with the parent and every sibling)."""
        if self._pid == os.getpid() and self._mm is not None:
            return self._mm
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_size == 0:  # a new file: its shape, then zeros (sparse on disk)
                    os.ftruncate(fd, self.size)
                    os.pwrite(fd, _HEAD.pack(MAGIC, BUCKETS, SLOTS), 0)
                head = os.pread(fd, _HEAD.size, 0)
                shape = _HEAD.unpack(head) if len(head) == _HEAD.size else None
                if shape != (MAGIC, BUCKETS, SLOTS) or os.fstat(fd).st_size != self.size:
                    raise OSError(f"{self.path} is not a pointsapp rate-limit file of this version: remove it")
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            mm = mmap.mmap(fd, self.size)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._mm, self._pid = fd, mm, os.getpid()
        return mm

    def _update(self, key: str, change):
        """``change(mapping, key hash, offset of the key's slot or None, offset of a slot it may take,
        now)``, run under the locks; what it returns."""
        h = _hash(key)
        with _lock:
            mm = self._open()
            _file_lock(self._fd, fcntl.LOCK_EX)
            try:
                now = time.time()
                home = h % self.buckets
                found = free = None
                oldest_end, oldest = float("inf"), None
                for b in range(PROBE):
                    base = HEADER + ((home + b) % self.buckets) * _BUCKET.size
                    values = _BUCKET.unpack_from(mm, base)
                    for s in range(SLOTS):
                        slot_hash, end = values[3 * s], values[3 * s + 1]
                        at = base + s * _SLOT.size
                        if slot_hash == h:
                            found = at
                            break
                        if free is None and (slot_hash == 0 or end <= now):
                            free = at
                        elif end < oldest_end:
                            oldest_end, oldest = end, at
                    if found is not None:
                        break
                return change(mm, h, found, free if free is not None else oldest, now)
            finally:
                _file_lock(self._fd, fcntl.LOCK_UN)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        def change(mm, h, found, spare, now):
            if found is not None:
                _h, end, count = _SLOT.unpack_from(mm, found)
                if end > now:  # the window is still open
                    _SLOT.pack_into(mm, found, h, end, count + amount)
                    return count + amount
            at = found if found is not None else spare
            _SLOT.pack_into(mm, at, h, now + expiry, amount)
            return amount

        return int(self._update(key, change))

    def _read(self, key: str) -> tuple[float, int] | None:
        """(window end, count) of the key's open window, or None."""

        def change(mm, _h, found, _spare, now):
            if found is None:
                return None
            _hh, end, count = _SLOT.unpack_from(mm, found)
            return (end, count) if end > now else None

        return self._update(key, change)

    def get(self, key: str) -> int:
        found = self._read(key)
        return found[1] if found else 0

    def get_expiry(self, key: str) -> float:
        found = self._read(key)
        return found[0] if found else time.time()

    def check(self) -> bool:
        try:
            self._open()
            return True
        except OSError:
            return False

    def reset(self) -> int | None:
        with _lock:
            mm = self._open()
            _file_lock(self._fd, fcntl.LOCK_EX)
            try:
                mm[HEADER:] = bytes(self.size - HEADER)
            finally:
                _file_lock(self._fd, fcntl.LOCK_UN)
        return None

    def clear(self, key: str) -> None:
        def change(mm, _h, found, _spare, _now):
            if found is not None:
                _SLOT.pack_into(mm, found, 0, 0.0, 0)

        self._update(key, change)


def default_uri(instance_path: str) -> str:
    return f"{SCHEME}:///{os.path.abspath(os.path.join(instance_path, 'ratelimits.counters')).lstrip('/')}"
