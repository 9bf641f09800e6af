"""Finding 4 (medium): rate limits were per worker, in memory, per address only, ignored the
configured storage, had no per-account throttle, and one attacker could lock everyone out.

Two app instances on the same database and instance folder stand in for two workers (or a
restart); the two-worker gunicorn run is in test_gunicorn_limits.py."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from pointsapp.extensions import db, limiter
from pointsapp.points import throttle
from tests.security.conftest import PASSWORD, sign_in


def _app(db_url, instance, **config):
    import os

    from pointsapp import create_app

    os.environ["POINTSAPP_INSTANCE_PATH"] = str(instance)
    return create_app(
        {
            "TESTING": True,
            "POINTSAPP_DATABASE_URL": db_url,
            "POINTSAPP_SECRET_KEY": "test-only-secret",
            "WTF_CSRF_ENABLED": False,
            **config,
        }
    )


def _failures(app, username):
    with app.app_context():
        return db.session.execute(
            text("SELECT failures FROM sign_in_throttles WHERE key = :k"), {"k": username}
        ).scalar_one_or_none()


def test_account_backoff_lives_in_the_database_and_is_not_a_lock(app, db_url, tmp_path, app_world, monkeypatch):
    """Failures on one worker count on the other; the right password works again after the wait."""
    now = [dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(throttle, "utcnow", lambda: now[0])
    second = _app(db_url, tmp_path / "instance", RATELIMIT_ENABLED=False)
    workers = [app.test_client(), second.test_client()]
    for i in range(throttle.FREE_FAILURES):
        assert sign_in(workers[i % 2], "grid1", "wrong password!").status_code == 200
    assert _failures(app, "grid1") == throttle.FREE_FAILURES
    # now the account waits: even the right password is refused on either worker, without a check
    for c in workers:
        resp = sign_in(c, "grid1")
        assert resp.status_code == 429 and "请等" in resp.get_data(as_text=True)
    # the wait is bounded (a backoff, not a lock): after it the right password signs in
    now[0] += throttle.delay_after(throttle.FREE_FAILURES) + dt.timedelta(seconds=1)
    assert sign_in(workers[1], "grid1").status_code == 302
    assert _failures(app, "grid1") is None
    # other accounts were never slowed
    assert sign_in(app.test_client(), "rev1").status_code == 302


def test_backoff_grows_and_is_capped():
    delays = [throttle.delay_after(n).total_seconds() for n in range(20)]
    assert delays[: throttle.FREE_FAILURES] == [0] * throttle.FREE_FAILURES
    assert delays[throttle.FREE_FAILURES] == throttle.BASE_DELAY.total_seconds()
    assert all(b >= a for a, b in zip(delays, delays[1:]))
    assert max(delays) == throttle.MAX_DELAY.total_seconds()


def test_unknown_names_are_throttled_alike(app, app_world, monkeypatch):
    """A made-up name backs off exactly like a real one: the answers never tell which exist."""
    clients = {name: app.test_client() for name in ("grid1", "nobody-here")}
    answers = {
        name: [sign_in(c, name, "wrong password!").status_code for _ in range(throttle.FREE_FAILURES + 1)]
        for name, c in clients.items()
    }
    assert answers["grid1"] == answers["nobody-here"] == [200] * throttle.FREE_FAILURES + [429]


@pytest.fixture
def limited(db_url, tmp_path, app_world):
    """Two app instances with rate limits on, sharing the embedded (file) storage."""
    apps = [
        _app(db_url, tmp_path / "instance", RATELIMIT_ENABLED=True, VILLAGERS_BAD_TOKEN_RATE="5/hour") for _ in range(2)
    ]
    yield apps
    limiter.reset()


def test_embedded_storage_is_shared_not_per_worker(limited):
    uri = limited[0].config["RATELIMIT_STORAGE_URI"]
    assert uri.startswith("pointsapp-file:///") and uri.endswith("ratelimits.counters")
    codes = [sign_in(limited[i % 2].test_client(), f"user{i}", "wrong password!").status_code for i in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429  # 10 a minute in total, not 10 per worker


def test_configured_storage_url_is_used(tmp_path, monkeypatch, db_url):
    app = _app(db_url, tmp_path / "inst", POINTSAPP_RATELIMIT_STORAGE_URL="redis://127.0.0.1:6379/3")
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
    from pointsapp.extensions import limiter as lim

    assert type(lim.limiter.storage).__name__.lower().startswith("redis")


def test_a_valid_card_link_is_never_blocked_by_guesses(limited, app_world):
    app = limited[0]
    with app.app_context():
        token = db.session.execute(
            text("SELECT card_token FROM households WHERE id = :h"), {"h": app_world["households"][0]}
        ).scalar_one()
    nat = "100.64.0.1"  # one carrier address for a whole village
    guesser = limited[1].test_client()
    codes = [guesser.get(f"/h/guess{i:027d}", environ_base={"REMOTE_ADDR": nat}).status_code for i in range(8)]
    assert codes[:5] == [404] * 5 and set(codes[5:]) == {429}
    villager = app.test_client()
    assert villager.get(f"/h/{token}", environ_base={"REMOTE_ADDR": nat}).status_code == 200


def test_right_password_is_not_refused_for_ever(limited, app_world, monkeypatch):
    """Even after the per-address limit trips, the limit is a minute window, not a lock."""
    c = limited[0].test_client()
    for i in range(10):
        sign_in(c, f"user{i}", "wrong password!")
    assert sign_in(c, "grid1").status_code == 429
    limiter.reset()  # the window has passed
    assert sign_in(c, "grid1", PASSWORD).status_code == 302
