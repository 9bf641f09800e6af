"""Backups (issue 9): ``pointsapp backup`` while captures are being posted, ``pointsapp restore``
into a fresh database, and identical boards, balances and chain heads; a backup whose chain
does not verify is refused. Runs on SQLite, and on PostgreSQL when
POINTSAPP_TEST_DATABASE_URL is set (the restore goes to a second database beside it)."""

from __future__ import annotations

import io
import json
import tarfile
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pointsapp.cli import cli
from pointsapp.points.backup import MANIFEST, BackupError, read_backup, restore
from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.engine import make_engine
from pointsapp.points.ledger import Submission
from pointsapp.points.registry import (
    Group,
    Household,
    Role,
    StaffUser,
    Village,
    Villager,
)
from pointsapp.points.rules import load_rulebook_text
from pointsapp.points.standings import balance, leaderboard
from tests.security.conftest import DAY, RULES

VILLAGES = ("龙天坪村", "石门村")


def _cli(url, instance, *args, ok=True):
    env = {"POINTSAPP_DATABASE_URL": url, "POINTSAPP_INSTANCE_PATH": str(instance), "POINTSAPP_SECRET_KEY": ""}
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, f"{args}: {result.output}{result.stderr}"
    else:
        assert result.exit_code != 0, f"{args} should fail: {result.output}"
    return result


def _populate(url) -> dict:
    eng = make_engine(url)
    ids = {}
    with Session(eng) as s:
        for vname in VILLAGES:
            v = Village(name=vname)
            s.add(v)
            s.flush()
            g = Group(village_id=v.id, name="一组", sort_key=1)
            s.add(g)
            s.flush()
            people = []
            for n in range(6):
                h = Household(village_id=v.id, group_id=g.id, number=str(n + 1))
                s.add(h)
                s.flush()
                p = Villager(village_id=v.id, household_id=h.id, name=f"{vname[0]}{n}号")
                s.add(p)
                s.flush()
                h.head_id = p.id
                people.append(p.id)
            load_rulebook_text(s, v, RULES)
            grid = StaffUser(username=f"g{v.id}", role=Role.grid_worker, village_id=v.id, password_hash="!")
            rev = StaffUser(username=f"r{v.id}", role=Role.reviewer, village_id=v.id, password_hash="!")
            grid.groups = [g]
            s.add_all([grid, rev])
            s.flush()
            ids[v.id] = (people, grid.id, rev.id)
        s.commit()
    eng.dispose()
    return ids


def _capture_loop(url, vid, people, grid_id, rev_id, stop: threading.Event, errors: list, count: list):
    eng = make_engine(url)
    n = 0
    try:
        while not stop.is_set() and n < 200:
            with Session(eng) as s:
                village = s.get(Village, vid)
                res = capture(
                    s,
                    actor=s.get(StaffUser, grid_id),
                    village=village,
                    key=f"c{vid}-{n}",
                    rule_code="DJ-01",
                    occurred_on=DAY,
                    lines=[Line(villager_id=people[n % len(people)])],
                )
                subs = [s.get(Submission, ln.submission_id) for ln in res.lines if ln.status == "pending"]
                approve(s, subs, s.get(StaffUser, rev_id))
                s.commit()
            n += 1
            count[0] += 1
    except Exception as exc:  # noqa: BLE001  (reported by the test)
        errors.append(repr(exc))
    finally:
        eng.dispose()


def _raw_sums(url, vid, upto_seq) -> dict[int, int]:
    eng = create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT household_id, SUM(points) FROM ledger_entries WHERE village_id = :v "
                "AND seq <= :s GROUP BY household_id"
            ),
            {"v": vid, "s": upto_seq},
        ).all()
    eng.dispose()
    return {h: int(p) for h, p in rows}


@pytest.fixture
def target_url(db_url, tmp_path):
    if not db_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'restored' / 'pointsapp.db'}"
        return
    base = make_url(db_url)
    name = f"{base.database}_restore"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_during_captures_restores_identical(db_url, target_url, tmp_path):
    _cli(db_url, tmp_path / "instance", "init-db")
    ids = _populate(db_url)
    stop, errors, counts = threading.Event(), [], {vid: [0] for vid in ids}
    threads = [
        threading.Thread(target=_capture_loop, args=(db_url, vid, *ids[vid], stop, errors, counts[vid])) for vid in ids
    ]
    for t in threads:
        t.start()
    while min(c[0] for c in counts.values()) < 5 and not errors:
        threading.Event().wait(0.05)
    file = tmp_path / "backups" / "nightly.tar.gz"
    out = _cli(db_url, tmp_path / "instance", "backup", file).output
    mid = sum(c[0] for c in counts.values())
    threading.Event().wait(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(c[0] for c in counts.values()) > mid, "captures kept being posted while the backup ran"
    assert "石门村" in out

    with tarfile.open(file) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
    heads = {v["id"]: v for v in manifest["villages"]}
    assert set(heads) == set(ids)
    src = create_engine(db_url)
    with src.connect() as conn:
        for vid, head in heads.items():
            assert head["seq"] > 0
            # the manifest's head is exactly the source's entry at that seq
            assert (
                conn.execute(
                    text("SELECT hash FROM ledger_entries WHERE village_id = :v AND seq = :s"),
                    {"v": vid, "s": head["seq"]},
                ).scalar_one()
                == head["head"]
            )
    src.dispose()

    _cli(target_url, tmp_path / "instance2", "restore", file)
    dst = make_engine(target_url)
    with Session(dst) as s:
        for vid, head in heads.items():
            village = s.get(Village, vid)
            assert (village.ledger_seq, village.ledger_head) == (head["seq"], head["head"])
            expected = _raw_sums(db_url, vid, head["seq"])  # the source, cut at the manifest's seq
            assert _raw_sums(target_url, vid, 10**9) == expected
            board = {r.id: r.points for r in leaderboard(s, "household", "all", village=village) if r.points}
            assert board == expected
            for hid, points in expected.items():
                assert balance(s, household=s.get(Household, hid)).honour == points
    dst.dispose()
    # the restored database is a working one: the CLI verifies its chains
    assert "ok" in _cli(target_url, tmp_path / "instance2", "ledger", "verify").output


def test_restore_refuses_a_tampered_backup_and_a_non_empty_target(db_url, target_url, tmp_path):
    if db_url.startswith("postgresql"):
        pytest.skip("the tampering is done on the SQLite copy inside the backup")
    _cli(db_url, tmp_path / "instance", "init-db")
    ids = _populate(db_url)
    stop, errors, count = threading.Event(), [], [0]
    vid = next(iter(ids))
    stop_after = threading.Thread(target=_capture_loop, args=(db_url, vid, *ids[vid], stop, errors, count))
    stop_after.start()
    while count[0] < 5 and not errors:
        threading.Event().wait(0.05)
    stop.set()
    stop_after.join()
    good = tmp_path / "good.tar.gz"
    _cli(db_url, tmp_path / "instance", "backup", good)

    # alter one posted entry's points inside the copy, and fix up the file checksum
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    manifest, db_file = read_backup(good, unpacked)
    import sqlite3

    conn = sqlite3.connect(db_file)
    conn.execute("UPDATE ledger_entries SET points = points + 100 WHERE seq = 2 AND village_id = ?", (vid,))
    conn.commit()
    conn.close()
    import hashlib

    manifest.sha256 = hashlib.sha256(db_file.read_bytes()).hexdigest()
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        data = manifest.to_json().encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.add(db_file, arcname=manifest.database)
    result = _cli(target_url, tmp_path / "i3", "restore", bad, ok=False)
    assert "does not verify" in result.output + (result.stderr or "")
    import os

    target = make_url(target_url).database
    if os.path.exists(target):  # nothing was restored
        eng = create_engine(target_url)
        with eng.connect() as c:
            assert c.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).all() == []
        eng.dispose()

    # a damaged file (checksum) is refused too
    with pytest.raises(BackupError):
        with tarfile.open(good) as tar:
            raw = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
        broken = tmp_path / "broken.tar.gz"
        with tarfile.open(broken, "w:gz") as tar:
            for name, data in raw.items():
                if name != MANIFEST:
                    data = data[:-10] + b"0123456789"
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        restore(broken, f"sqlite:///{tmp_path / 'x.db'}")

    # restoring over a database that holds data is refused
    assert "not empty" in _cli(db_url, tmp_path / "instance", "restore", good, ok=False).output
