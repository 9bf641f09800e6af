"""Backups that lose nothing, and restores that refuse a copy whose ledger does not verify.

A backup file is a gzipped tar holding two members:

* ``database.sqlite3`` (SQLite's online backup API: a consistent copy taken while the app
  serves) or ``database.pgdump`` (``pg_dump --format=custom``, in an exported snapshot);
* ``manifest.json``: the format, the time, the schema revision, the database file's SHA-256,
  and for each village its chain head (``ledger_seq``, ``ledger_head``) *as of the copy*:
  on SQLite it is read from the copy itself, on PostgreSQL in the very snapshot pg_dump uses.

``restore`` loads a backup into an empty database (creating the schema) only after each
village's chain in the copy verifies entry by entry and ends at the manifest's head; a copy
that does not is refused (on PostgreSQL the half-loaded database is emptied again).
No Flask here: the CLI (``pointsapp backup`` / ``pointsapp restore``) calls these functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"


class BackupError(RuntimeError):
    """A backup or restore was refused; the message says why."""


@dataclass
class VillageHead:
    id: int
    name: str
    seq: int
    head: str


@dataclass
class Manifest:
    format: int
    created_at: str
    engine: str
    revision: str | None
    database: str
    sha256: str
    villages: list[VillageHead] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            villages = [
                VillageHead(int(v["id"]), str(v["name"]), int(v["seq"]), str(v["head"])) for v in raw["villages"]
            ]
            return cls(
                int(raw["format"]),
                str(raw["created_at"]),
                str(raw["engine"]),
                raw.get("revision"),
                str(raw["database"]),
                str(raw["sha256"]),
                villages,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the backup's manifest is not readable: {exc}") from None


def engine_kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _heads(conn: Connection) -> list[VillageHead]:
    rows = conn.execute(text("SELECT id, name, ledger_seq, ledger_head FROM villages ORDER BY id")).all()
    return [VillageHead(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in rows]


def _revision(conn: Connection) -> str | None:
    try:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if revision is None else str(revision)
    except Exception:  # noqa: BLE001  (a database made by create_all (tests) has no alembic_version table
        return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# --- PostgreSQL command-line tools ---------------------------------------------------------


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client (apt install postgresql-client)")
    return path


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password (which goes in PGPASSWORD, not argv)."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {proc.stderr.strip()[-2000:]}")


# --- backup ------------------------------------------------------------------------------


def backup(url: str, target: str | os.PathLike[str]) -> Manifest:
    """Write a consistent backup of the database at ``url`` to ``target`` (made atomically)."""
    kind = engine_kind(url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pointsapp-backup-", dir=target.parent) as tmp:
        if kind == "sqlite":
            member, manifest = SQLITE_MEMBER, _backup_sqlite(url, Path(tmp) / SQLITE_MEMBER)
        else:
            member, manifest = PG_MEMBER, _backup_postgres(url, Path(tmp) / PG_MEMBER)
        partial = Path(tmp) / "backup.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            data = manifest.to_json().encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(Path(tmp) / member, arcname=member)
        os.chmod(partial, 0o600)  # it holds names and phone numbers
        os.replace(partial, target)
    return manifest


def _backup_sqlite(url: str, copy: Path) -> Manifest:
    source = _sqlite_path(url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # one step: a consistent snapshot, writers in WAL mode carry on
    finally:
        dst.close()
        src.close()
    eng = create_engine(f"sqlite:///{copy}")
    try:
        with eng.connect() as conn:
            heads, revision = _heads(conn), _revision(conn)
    finally:
        eng.dispose()
    return Manifest(FORMAT, _now(), "sqlite", revision, SQLITE_MEMBER, _sha256(copy), heads)


def _backup_postgres(url: str, dump: Path) -> Manifest:
    pg_dump = _pg_tool("pg_dump")
    libpq, env = _libpq(url)
    eng = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with eng.connect() as conn, conn.begin():
            # The heads and the dump come from one snapshot, so they agree exactly.
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            heads, revision = _heads(conn), _revision(conn)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    f"--dbname={libpq}",
                ],
                env,
            )
    finally:
        eng.dispose()
    return Manifest(FORMAT, _now(), "postgresql", revision, PG_MEMBER, _sha256(dump), heads)


# --- restore -----------------------------------------------------------------------------


def read_backup(path: str | os.PathLike[str], into: Path) -> tuple[Manifest, Path]:
    """Check and unpack a backup file into the folder ``into``: (manifest, database file)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    try:
        with tarfile.open(path, "r:*") as tar:
            names = tar.getnames()
            if MANIFEST not in names:
                raise BackupError(f"{path.name} is not a pointsapp backup (no {MANIFEST})")
            manifest_file = tar.extractfile(MANIFEST)
            if manifest_file is None:
                raise BackupError(f"{path.name}: {MANIFEST} is not a file")
            manifest = Manifest.from_json(manifest_file.read())
            if manifest.format != FORMAT:
                raise BackupError(f"backup format {manifest.format} is not supported (this version reads {FORMAT})")
            if manifest.database not in (SQLITE_MEMBER, PG_MEMBER) or manifest.database not in names:
                raise BackupError(f"{path.name} does not hold its database file")
            member = tar.getmember(manifest.database)
            if not member.isfile():
                raise BackupError(f"{path.name}: {manifest.database} is not a file")
            db_file = into / manifest.database
            src_file = tar.extractfile(member)
            assert src_file is not None  # a regular file, checked above
            with src_file as src, db_file.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path.name} is not a readable backup: {exc}") from None
    if _sha256(db_file) != manifest.sha256:
        raise BackupError(f"{path.name}: the database file does not match its manifest (damaged or altered)")
    return manifest, db_file


def verify_against_manifest(engine: Engine, manifest: Manifest) -> list[str]:
    """Problems found when each village's chain is verified and compared with the manifest."""
    from .ledger import verify_chain
    from .registry import Village

    problems: list[str] = []
    with Session(engine) as session:
        villages = {v.id: v for v in session.execute(select(Village)).scalars()}
        listed = {v.id for v in manifest.villages}
        for vid in sorted(set(villages) - listed):
            problems.append(f"village {villages[vid].name} (id {vid}) is not in the manifest")
        for head in manifest.villages:
            village = villages.get(head.id)
            if village is None:
                problems.append(f"village {head.name} (id {head.id}) is missing from the copy")
                continue
            result = verify_chain(session, village)
            if not result.ok:
                problems.append(f"{head.name}: {result.problem}")
            elif (result.entries, result.head) != (head.seq, head.head):
                problems.append(
                    f"{head.name}: the chain ends at seq {result.entries} with head "
                    f"{result.head[:16]}…, the manifest says seq {head.seq} with head {head.head[:16]}…"
                )
    return problems


def _require_empty(engine: Engine) -> None:
    names = inspect(engine).get_table_names()
    if names:
        raise BackupError(
            f"the target database is not empty ({len(names)} tables, e.g. {min(names)}); "
            "restore only into a new, empty database"
        )


def restore(path: str | os.PathLike[str], url: str) -> Manifest:
    """Load the backup at ``path`` into the empty database at ``url``, after verifying it."""
    kind = engine_kind(url)
    with tempfile.TemporaryDirectory(prefix="pointsapp-restore-") as tmp:
        manifest, db_file = read_backup(path, Path(tmp))
        if manifest.engine != kind:
            raise BackupError(f"this is a {manifest.engine} backup; it can only be restored into {manifest.engine}")
        if kind == "sqlite":
            _restore_sqlite(manifest, db_file, url)
        else:
            _restore_postgres(manifest, db_file, url)
    return manifest


def _restore_sqlite(manifest: Manifest, db_file: Path, url: str) -> None:
    copy = create_engine(f"sqlite:///{db_file}")
    try:
        problems = verify_against_manifest(copy, manifest)
    finally:
        copy.dispose()
    if problems:
        raise BackupError("the backup's ledger does not verify; nothing was restored:\n  " + "\n  ".join(problems))
    target = _sqlite_path(url)
    if target.exists() and target.stat().st_size > 0:
        eng = create_engine(url)
        try:
            _require_empty(eng)
        finally:
            eng.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(db_file)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()


def _restore_postgres(manifest: Manifest, dump: Path, url: str) -> None:
    pg_restore = _pg_tool("pg_restore")
    libpq, env = _libpq(url)
    eng = create_engine(url)
    try:
        _require_empty(eng)
        try:
            _run(
                [
                    pg_restore,
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={libpq}",
                    str(dump),
                ],
                env,
            )
            problems = verify_against_manifest(eng, manifest)
        except BaseException:
            _empty_postgres(eng)
            raise
        if problems:
            _empty_postgres(eng)
            raise BackupError("the backup's ledger does not verify; nothing was restored:\n  " + "\n  ".join(problems))
    finally:
        eng.dispose()


def _empty_postgres(eng: Engine) -> None:
    """Undo a refused restore: the target was empty before, so empty it again."""
    eng.dispose()
    with eng.begin() as conn:
        for name in inspect(conn).get_table_names():
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
