"""Finding 4 end to end: gunicorn with two worker processes, once with the embedded default
rate-limit storage (a SQLite file every worker shares) and once with Redis. The login limit,
the per-account backoff and the card-token limit must mean what they say across workers; a
valid card link still opens after guesses; the access log holds no card token."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pointsapp.points.engine import make_engine
from pointsapp.points.registry import (
    Group,
    Household,
    Role,
    StaffUser,
    Village,
    Villager,
)
from tests.security.conftest import PASSWORD

PORTS = {"embedded": 5121, "redis": 5122}  # the security helper's range
REDIS = "redis://127.0.0.1:6379/3"
BIN = Path(sys.executable).parent


def _redis_or_skip():
    try:
        import redis

        client = redis.Redis.from_url(REDIS, socket_connect_timeout=1)
        client.ping()
        return client
    except Exception as exc:  # noqa: BLE001  (no server or no client library)
        pytest.skip(f"Redis at {REDIS} is not available: {exc}")


def _prepare(tmp_path) -> tuple[str, Path, str]:
    instance = tmp_path / "instance"
    instance.mkdir()
    url = f"sqlite:///{instance / 'pointsapp.db'}"
    env = {**os.environ, "POINTSAPP_DATABASE_URL": url, "POINTSAPP_INSTANCE_PATH": str(instance)}
    subprocess.run([str(BIN / "pointsapp"), "init-db"], env=env, check=True, capture_output=True)
    eng = make_engine(url)
    with Session(eng) as s:
        v = Village(name="龙天坪村")
        s.add(v)
        s.flush()
        g = Group(village_id=v.id, name="一组", sort_key=1)
        s.add(g)
        s.flush()
        h = Household(village_id=v.id, group_id=g.id, number="1")
        s.add(h)
        s.flush()
        p = Villager(village_id=v.id, household_id=h.id, name="向明华")
        s.add(p)
        s.flush()
        h.head_id = p.id
        u = StaffUser(username="grid1", role=Role.grid_worker, village_id=v.id)
        u.set_password(PASSWORD)
        u.groups = [g]
        s.add(u)
        s.commit()
        token = h.card_token
    eng.dispose()
    (instance / "config.py").write_text(
        'RATELIMIT_ENABLED = True\nVILLAGERS_BAD_TOKEN_RATE = "5/hour"\nVILLAGERS_CARD_RATE = "300/minute"\n'
    )
    return url, instance, token


class Server:
    def __init__(self, instance: Path, url: str, port: int, extra_env: dict):
        self.port, self.log = port, instance / "access.log"
        env = {
            **os.environ,
            "POINTSAPP_DATABASE_URL": url,
            "POINTSAPP_INSTANCE_PATH": str(instance),
            "POINTSAPP_SECRET_KEY": uuid.uuid4().hex,
            **extra_env,
        }
        self.proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "1",
                "--access-logfile",
                str(self.log),
                "--access-logformat",
                '%(p)s "%(r)s" %(s)s',
                "--logger-class",
                "pointsapp.gunicorn_logging.RedactingLogger",
                "wsgi:app",
            ],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode()[-3000:]) from None
                time.sleep(0.3)
        for _ in range(20):  # both workers up
            self.get("/healthz")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, opener=None):
        try:
            with (opener or urllib.request.build_opener()).open(self.url(path), timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(20)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def login(server: Server, username: str, password: str) -> int:
    """A fresh browser: fetch the form (CSRF token), post it; the status code."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    _status, page = server.get("/login", opener)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    csrf = next(g for g in token.groups() if g)
    data = urllib.parse.urlencode({"csrf_token": csrf, "username": username, "password": password}).encode()
    try:
        with opener.open(server.url("/login"), data=data, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _pids(log: Path, pattern: str) -> set[str]:
    return {line.split(" ", 1)[0] for line in log.read_text().splitlines() if pattern in line}


@pytest.mark.parametrize("storage", ["embedded", "redis"])
def test_two_workers_share_every_limit(tmp_path, storage):
    extra = {}
    prefix = f"pointsapp-test-{uuid.uuid4().hex[:8]}"
    if storage == "redis":
        redis_client = _redis_or_skip()
        extra = {"POINTSAPP_RATELIMIT_STORAGE_URL": REDIS}
    url, instance, token = _prepare(tmp_path)
    if storage == "redis":
        with (instance / "config.py").open("a") as fh:
            fh.write(f'RATELIMIT_KEY_PREFIX = "{prefix}"\n')
    server = Server(instance, url, PORTS[storage], extra)
    try:
        with ThreadPoolExecutor(2) as pool:  # two at a time: both workers answer
            # per account (in the database): 5 wrong passwords, then even the right one waits
            codes = list(pool.map(lambda i: login(server, "grid1", "wrong password!"), range(5)))
            assert codes == [200] * 5
            assert login(server, "grid1", PASSWORD) == 429
            # per address: 10 failed sign-ins a minute in total (6 so far), not 10 per worker
            codes = list(pool.map(lambda i: login(server, f"nobody{i}", "wrong password!"), range(4)))
            assert codes == [200] * 4
            assert [login(server, f"late{i}", "wrong password!") for i in range(3)] == [429] * 3
            # card links: 5 wrong links an hour per address, counted across workers
            codes = list(pool.map(lambda i: server.get(f"/h/guess{i:027d}")[0], range(8)))
            assert sorted(codes) == [404] * 5 + [429] * 3
        # ... and a valid link from the same address still opens
        status, page = server.get(f"/h/{token}")
        assert status == 200 and ("向明华" in page or "向*华" in page)
        log = instance / "access.log"
        time.sleep(0.5)
        assert len(_pids(log, "POST /login")) == 2, "both workers should have answered sign-ins"
        assert token not in log.read_text() and "/h/…" in log.read_text()
    finally:
        server.stop()
        if storage == "redis":
            keys = list(redis_client.scan_iter(f"*{prefix}*"))  # limits adds its own "LIMITS:" prefix
            for key in keys:
                redis_client.delete(key)
            assert keys, "the counters should have been kept in Redis"
        else:
            assert (instance / "ratelimits.counters").exists()
