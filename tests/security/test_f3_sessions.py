"""Finding 3 (medium): sessions were never revoked.

A copied session cookie or remember-me cookie must stop working after sign-out, a password
change and an admin reset; the remember token must be new on every sign-in and expire on the
server; a session must end after its absolute lifetime however active it is."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from pointsapp.extensions import db
from tests.security.conftest import PASSWORD, sign_in, user_id

COOKIE = "session"
REMEMBER = "remember_token"


def _cookie(client, name):
    c = client.get_cookie(name)
    return c.value if c else None


def _copy(app, source, *names):
    """A second browser holding copies of ``source``'s cookies (the attacker's)."""
    other = app.test_client()
    for name in names:
        value = _cookie(source, name)
        if value is not None:
            other.set_cookie(name, value)
    return other


def _signed_in(client) -> bool:
    resp = client.get("/capture")
    return resp.status_code == 200


def _secret(app, username):
    with app.app_context():
        return db.session.execute(
            text("SELECT session_secret FROM staff_users WHERE username = :u"), {"u": username}
        ).scalar_one()


def test_copied_cookies_die_at_sign_out(app, client, app_world):
    assert sign_in(client, "grid1", remember="y").status_code == 302
    thief_session = _copy(app, client, COOKIE)
    thief_remember = _copy(app, client, REMEMBER)
    assert _signed_in(thief_session) and _signed_in(thief_remember)
    before = _secret(app, "grid1")
    client.post("/logout")
    assert _secret(app, "grid1") != before
    assert not _signed_in(thief_session)
    assert not _signed_in(thief_remember)


def test_copied_cookies_die_at_password_change(app, client, app_world):
    assert sign_in(client, "grid1", remember="y").status_code == 302
    thief = _copy(app, client, COOKIE, REMEMBER)
    new = "a much longer password 2"
    resp = client.post("/password", data={"current": PASSWORD, "new": new, "repeat": new})
    assert resp.status_code == 302
    assert _signed_in(client), "the browser that changed the password stays signed in"
    assert not _signed_in(thief)
    thief_remember = _copy(app, thief, REMEMBER)
    assert not _signed_in(thief_remember)


def test_admin_reset_ends_the_users_sessions(app, client, app_world):
    assert sign_in(client, "grid1", remember="y").status_code == 302
    admin = app.test_client()
    assert sign_in(admin, "admin1").status_code == 302
    uid = user_id(app, "grid1")
    resp = admin.post(f"/admin/users/{uid}/reset-password")
    assert resp.status_code in (200, 302)
    assert not _signed_in(client)
    assert not _signed_in(_copy(app, client, REMEMBER))


def test_remember_token_is_new_on_every_sign_in(app, app_world):
    tokens = set()
    for _ in range(3):
        c = app.test_client()
        assert sign_in(c, "grid1", remember="y").status_code == 302
        tokens.add(_cookie(c, REMEMBER))
    assert None not in tokens and len(tokens) == 3


def test_remember_token_expires_on_the_server(app, client, app_world, monkeypatch):
    assert sign_in(client, "grid1", remember="y").status_code == 302
    only_remember = _copy(app, client, REMEMBER)
    assert _signed_in(only_remember)
    later = time.time() + 31 * 24 * 3600  # past REMEMBER_COOKIE_DURATION (30 days)
    monkeypatch.setattr("pointsapp.web.auth.time.time", lambda: later)
    assert not _signed_in(_copy(app, client, REMEMBER))


def test_session_has_an_absolute_lifetime(app, client, app_world, monkeypatch):
    assert sign_in(client, "grid1").status_code == 302
    start = time.time()
    for hours in (1, 6, 11):  # active all day: the cookie slides, the session does not
        monkeypatch.setattr("pointsapp.web.auth.time.time", lambda h=hours: start + h * 3600)
        assert _signed_in(client)
    monkeypatch.setattr("pointsapp.web.auth.time.time", lambda: start + 13 * 3600)
    assert not _signed_in(client)


def test_a_forged_plain_user_id_is_refused(app, app_world):
    """The old cookie format (just the user id) no longer signs anyone in."""
    c = app.test_client()
    with c.session_transaction() as s:
        s["_user_id"] = str(user_id(app, "admin1"))
        s["_fresh"] = True
    assert c.get("/staff").status_code == 302
    assert "/login" in c.get("/staff").headers["Location"]


@pytest.mark.parametrize("flip", ["id", "sig", "time"])
def test_tampered_tokens_are_refused(app, app_world, flip):
    from pointsapp.points.registry import StaffUser
    from pointsapp.web.auth import load_user, session_token

    grid, admin = user_id(app, "grid1"), user_id(app, "admin1")
    with app.test_request_context():
        user = db.session.get(StaffUser, grid)
        token = session_token(user, remember=False)
        assert load_user(token) is not None
        uid, kind, issued, nonce, sig = token.split(".")
        bad = {
            "id": f"{admin}.{kind}.{issued}.{nonce}.{sig}",
            "sig": f"{uid}.{kind}.{issued}.{nonce}.{sig[::-1]}",
            "time": f"{uid}.{kind}.{int(issued) + 3600}.{nonce}.{sig}",
        }[flip]
        assert load_user(bad) is None
