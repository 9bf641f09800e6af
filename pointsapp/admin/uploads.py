"""Uploaded files kept between a dry-run preview and its confirmation.

The file lives under ``instance/uploads/imports/<token><ext>`` with a small JSON side file naming
the village, the user and the original file name; nothing of it goes into the session cookie.
Tokens are random; a token that is malformed, unknown, too old or belongs to someone else is
treated as missing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
MAX_AGE = 24 * 3600
EXTENSIONS = (".xlsx", ".xls", ".ods", ".csv", ".yaml", ".yml")


@dataclass
class Stored:
    token: str
    path: Path
    filename: str
    village_id: int
    user_id: int
    kind: str

    def read(self) -> bytes:
        return self.path.read_bytes()


def folder(instance_path: str) -> Path:
    path = Path(instance_path) / "uploads" / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sweep(base: Path) -> None:
    cutoff = time.time() - MAX_AGE
    for p in base.iterdir():
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def save(
    instance_path: str, data: bytes, *, filename: str, ext: str, village_id: int, user_id: int, kind: str
) -> Stored:
    if ext not in EXTENSIONS:
        raise ValueError(f"unsupported extension {ext}")
    base = folder(instance_path)
    _sweep(base)
    token = secrets.token_urlsafe(24)
    path = base / f"{token}{ext}"
    path.write_bytes(data)
    os.chmod(path, 0o600)
    meta = {"filename": filename, "village_id": village_id, "user_id": user_id, "kind": kind, "ext": ext}
    (base / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False))
    return Stored(token, path, filename, village_id, user_id, kind)


def load(instance_path: str, token: str, *, village_id: int, user_id: int, kind: str) -> Stored | None:
    if not isinstance(token, str) or not TOKEN.match(token):
        return None
    base = folder(instance_path)
    meta_path = base / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    path = base / f"{token}{meta.get('ext', '')}"
    if (
        meta.get("ext") not in EXTENSIONS
        or not path.is_file()
        or meta.get("village_id") != village_id
        or meta.get("user_id") != user_id
        or meta.get("kind") != kind
        or time.time() - path.stat().st_mtime > MAX_AGE
    ):
        return None
    return Stored(token, path, meta["filename"], village_id, user_id, kind)


def discard(stored: Stored) -> None:
    for p in (stored.path, stored.path.with_suffix(".json")):
        try:
            p.unlink()
        except OSError:
            pass
