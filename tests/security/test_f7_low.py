"""Finding 7 (low): headers, cookie flags, grid workers' view of names, failed sign-ins without
a village, 8-character passwords, one-time passwords that never expired, card tokens in the
access log."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from pointsapp.extensions import db
from pointsapp.points.registry import MIN_PASSWORD_LENGTH, StaffUser
from tests.security.conftest import PASSWORD, sign_in, user_id

REPO = Path(__file__).resolve().parents[2]


# --- headers -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/login", "/board", "/rules", "/nope", "/healthz"])
def test_every_response_has_the_security_headers(client, app_world, url):
    resp = client.get(url)
    csp = resp.headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'"
    assert directives.get("script-src") == "script-src 'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives.get("object-src") == "object-src 'none'"
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.get("X-Frame-Options") == "DENY"
    assert "Strict-Transport-Security" not in resp.headers  # only when configured (HTTPS)


def test_staff_pages_cannot_be_framed(client, app_world):
    assert sign_in(client, "admin1").status_code == 302
    resp = client.get("/admin/users")
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_hsts_and_secure_cookies_when_configured(app, app_world):
    app.config.update(POINTSAPP_HSTS_SECONDS="31536000", SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    c = app.test_client()
    resp = sign_in(c, "grid1", remember="y")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookies = {h.split("=", 1)[0]: h for h in resp.headers.getlist("Set-Cookie")}
    assert "; Secure" in cookies["session"] and "; Secure" in cookies["remember_token"]
    assert "SameSite=Lax" in cookies["remember_token"] and "HttpOnly" in cookies["remember_token"]


def test_secure_cookie_setting_comes_from_configuration(tmp_path, monkeypatch):
    from pointsapp import create_app

    monkeypatch.setenv("POINTSAPP_SECURE_COOKIES", "1")
    monkeypatch.setenv("POINTSAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "POINTSAPP_SECRET_KEY": "x"})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_templates_have_no_inline_script_or_style():
    """The CSP allows no inline script or style: such markup would silently stop working."""
    pattern = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style\b|javascript:", re.IGNORECASE)
    found = []
    for path in (REPO / "pointsapp").rglob("*.html"):
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()[:80]}")
    assert not found, "\n".join(found)


# --- grid workers' view of names -----------------------------------------------------------


def test_grid_worker_dashboard_masks_other_groups(app, client, two_villages):
    with app.app_context():
        other_group = (
            db.session.execute(
                text(
                    "SELECT v.name FROM villagers v JOIN households h ON h.id = v.household_id JOIN groups g ON g.id = h.group_id "
                    "WHERE g.name = '第二组'"
                )
            )
            .scalars()
            .all()
        )
        own_group = (
            db.session.execute(
                text(
                    "SELECT v.name FROM villagers v JOIN households h ON h.id = v.household_id JOIN groups g ON g.id = h.group_id "
                    "WHERE g.name = '第一组' AND g.village_id = :v"
                ),
                {"v": two_villages["village"]},
            )
            .scalars()
            .all()
        )
    assert other_group and own_group
    assert sign_in(client, "grid1").status_code == 302
    for board in ("household", "villager"):
        page = client.get(f"/dashboard?board={board}&period=all&all=1").get_data(as_text=True)
        leaked = [n for n in other_group if n in page]
        assert not leaked, f"{board} board shows other groups' full names: {leaked}"
    assert client.get("/reports/chart/top_households.png").status_code == 403
    assert client.get("/reports/chart/groups.png").status_code == 200
    # an admin still sees everyone
    admin = app.test_client()
    sign_in(admin, "admin1")
    page = admin.get("/dashboard?board=villager&period=all&all=1").get_data(as_text=True)
    assert all(n in page for n in other_group)


# --- failed sign-ins are seen by the village's admins ---------------------------------------


def test_failed_sign_in_is_recorded_in_the_users_village(app, client, app_world):
    sign_in(client, "grid1", "wrong password!")
    with app.app_context():
        row = db.session.execute(text("SELECT village_id, ip FROM audit_events WHERE action = 'login.failed'")).one()
    assert row.village_id == app_world["village"]
    admin = app.test_client()
    sign_in(admin, "admin1")
    assert "login.failed" in admin.get("/admin/audit").get_data(as_text=True) or "登录失败" in admin.get(
        "/admin/audit"
    ).get_data(as_text=True)


# --- passwords -----------------------------------------------------------------------------


def test_minimum_password_length_is_12(app, client, app_world):
    assert MIN_PASSWORD_LENGTH == 12
    with pytest.raises(ValueError):
        StaffUser(username="x").set_password("a" * 11)
    assert sign_in(client, "grid1").status_code == 302
    resp = client.post("/password", data={"current": PASSWORD, "new": "elevenchars", "repeat": "elevenchars"})
    assert resp.status_code == 400 and "至少 12" in resp.get_data(as_text=True)
    with app.app_context():
        unchanged = db.session.get(StaffUser, user_id(app, "grid1")).check_password(PASSWORD)
    assert unchanged


def test_one_time_passwords_expire(app, app_world, monkeypatch):
    admin = app.test_client()
    sign_in(admin, "admin1")
    uid = user_id(app, "grid1")
    page = admin.post(f"/admin/users/{uid}/reset-password", follow_redirects=True).get_data(as_text=True)
    with app.app_context():
        expires = db.session.execute(
            text("SELECT password_expires_at FROM staff_users WHERE id = :u"), {"u": uid}
        ).scalar_one()
    assert expires is not None
    otp = re.search(r'class="password"[^>]*>\s*([A-Za-z0-9]{12})\s*<', page)
    assert otp, "the one-time password is shown once"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=73)
    monkeypatch.setattr("pointsapp.points.registry.utcnow", lambda: later)
    resp = sign_in(app.test_client(), "grid1", otp[1])
    assert resp.status_code == 200 and "已过期" in resp.get_data(as_text=True)
    monkeypatch.undo()
    fresh = app.test_client()
    assert sign_in(fresh, "grid1", otp[1]).headers["Location"].endswith("/password")


# --- the access log --------------------------------------------------------------------------


def test_access_log_never_holds_card_tokens():
    from pointsapp.gunicorn_logging import redact

    assert redact("GET /h/AbC_-123xyz?page=2 HTTP/1.1") == "GET /h/…?page=2 HTTP/1.1"
    assert redact("/h/AbC_-123xyz/objection") == "/h/…/objection"
    # a scanned card URL typed into the desk's search box arrives percent-encoded in the query
    assert (
        redact("GET /desk?q=http%3A%2F%2F192.168.1.5%2Fh%2FiRObc2IDN83LeBSX-_9z&x=1 HTTP/1.1")
        == "GET /desk?q=http%3A%2F%2F192.168.1.5%2Fh%2F…&x=1 HTTP/1.1"
    )
    assert (
        redact("GET /desk?q=http%3a%2f%2fhost%2fh%2fAbC HTTP/1.1") == "GET /desk?q=http%3a%2f%2fhost%2fh%2f… HTTP/1.1"
    )
    serve = (REPO / "scripts" / "serve").read_text()
    assert "--logger-class pointsapp.gunicorn_logging.RedactingLogger" in serve


def test_error_log_never_holds_card_tokens(client, app_world, monkeypatch, caplog):
    """An unexpected error on a card page is logged with the path redacted, like the access log."""
    import logging

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr("pointsapp.villagers.routes.card_state", broken)
    token = "SecretCardToken_0123456789abcdefABCDE"
    with caplog.at_level(logging.ERROR, logger="pointsapp.web.errors"):
        resp = client.get(f"/h/{token}")
    assert resp.status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "pointsapp.web.errors")
    assert "unhandled error on GET /h/…" in logged
    assert token not in caplog.text
