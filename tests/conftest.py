"""Shared fixtures. The database is SQLite in a temporary folder unless
POINTSAPP_TEST_DATABASE_URL names a PostgreSQL database, in which case every test gets a
freshly created schema there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from pointsapp.points.db import Base
from pointsapp.points.engine import make_engine
from tests.samples import SHARED_SAMPLES, sample  # noqa: F401  (sample: kept importable from here)

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("POINTSAPP_TEST_DATABASE_URL")


def pytest_report_header(config):
    where = PG_URL or "SQLite in a temporary folder (set POINTSAPP_TEST_DATABASE_URL for PostgreSQL)"
    shared = SHARED_SAMPLES if SHARED_SAMPLES.exists() else f"{SHARED_SAMPLES} (absent: those extra checks skip)"
    return [f"pointsapp test database: {where}", f"shared samples: {shared}"]


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """scrypt is deliberately slow; a cheap hash keeps hundreds of test users fast."""
    monkeypatch.setattr("pointsapp.points.registry.PASSWORD_METHOD", "pbkdf2:sha256:1000")


def _reset_pg(url: str) -> None:
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()


@pytest.fixture
def db_url(tmp_path) -> str:
    if PG_URL:
        _reset_pg(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


def make_app(db_url: str, instance: Path, monkeypatch, **config):
    """The one way tests build the Flask app: a fresh schema (from the models; migrations have their
    own test), CSRF and rate limits off unless ``config`` turns them on. Dispose with ``close_app``."""
    monkeypatch.setenv("POINTSAPP_INSTANCE_PATH", str(instance))
    from pointsapp import create_app
    from pointsapp.extensions import db

    settings = {
        "TESTING": True,
        "POINTSAPP_DATABASE_URL": db_url,
        "POINTSAPP_SECRET_KEY": "test-only-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }
    settings.update(config)
    app = create_app(settings)
    with app.app_context():
        db.create_all()
    return app


def close_app(app) -> None:
    from pointsapp.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(db_url, tmp_path, monkeypatch):
    """A Flask app on a fresh database."""
    app = make_app(db_url, tmp_path / "instance", monkeypatch)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_world(app):
    """The small test village, created through the app's session (see tests/factories.py)."""
    from pointsapp.extensions import db
    from tests.factories import World

    with app.app_context():
        w = World(db.session)
        db.session.commit()
        ids = {
            "village": w.village.id,
            "households": [h.id for h in w.households],
            "people": [[p.id for p in ps] for ps in w.people],
            "users": {u.username: u.id for u in (w.admin, w.admin2, w.reviewer, w.reviewer2, w.grid)},
        }
    return ids


PASSWORD = "correct horse 1"
"""Every test staff user's password (tests/factories.py)."""


def login(client, user: str | int, password: str = PASSWORD):
    """The one way tests sign a client in: through the real /login form, as a user would (CSRF is off in
    the test app). ``user`` is a username or a StaffUser id. Returns the response (302 when signed in)."""
    if not isinstance(user, str):
        from pointsapp.extensions import db
        from pointsapp.points.registry import StaffUser

        with client.application.app_context():
            user = db.session.get(StaffUser, user).username
    return client.post("/login", data={"username": user, "password": password}, follow_redirects=False)


pytest_plugins = ["tests.browser"]
