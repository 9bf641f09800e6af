"""Sign-in, sign-out, password change, role homes, rate limiting."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pointsapp.extensions import db, limiter
from pointsapp.points.audit import AuditEvent
from pointsapp.points.registry import StaffUser
from tests.conftest import login


def _flash_text(resp) -> str:
    return resp.get_data(as_text=True)


def test_login_page_in_chinese(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and "用户名" in page and "密码" in page


@pytest.mark.parametrize(
    "username, home", [("grid1", "/capture"), ("rev1", "/review"), ("admin1", "/staff"), ("view1", "/villages")]
)
def test_login_redirects_to_role_home(client, world, username, home):
    resp = login(client, username)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(home)
    assert client.get(home).status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_reply(client, world):
    wrong = client.post("/login", data={"username": "grid1", "password": "not the password"})
    unknown = client.post("/login", data={"username": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 200
    w, u = wrong.get_data(as_text=True), unknown.get_data(as_text=True)
    assert "用户名或密码错误" in w
    assert w.replace("grid1", "X") == u.replace("nobody", "X")
    assert client.get("/capture").status_code == 302  # still signed out


def test_inactive_user_cannot_sign_in(app, client, world):
    with app.app_context():
        u = db.session.get(StaffUser, world["users"]["grid1"])
        u.active = False
        db.session.commit()
    resp = login(client, "grid1")
    assert resp.status_code == 200 and "用户名或密码错误" in resp.get_data(as_text=True)


def test_next_parameter_is_followed_only_inside_the_site(client, world):
    resp = client.post("/login", data={"username": "rev1", "password": "correct horse 1", "next": "/notices"})
    assert resp.headers["Location"].endswith("/notices")
    client.post("/logout")
    resp = client.post("/login", data={"username": "rev1", "password": "correct horse 1", "next": "//evil.example/"})
    assert resp.headers["Location"].endswith("/review")


def test_anonymous_is_sent_to_login(client, world):
    resp = client.get("/review")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_session_is_permanent_and_remember_me_sets_cookie(app, client, world):
    resp = client.post("/login", data={"username": "grid1", "password": "correct horse 1"})
    assert "remember_token" not in resp.headers.get("Set-Cookie", "")
    with client.session_transaction() as sess:
        assert sess.permanent
    client.post("/logout")
    resp = client.post("/login", data={"username": "grid1", "password": "correct horse 1", "remember": "y"})
    cookies = " ".join(resp.headers.getlist("Set-Cookie"))
    assert "remember_token" in cookies


def test_logout_is_a_post_in_the_nav(client, world):
    login(client, "grid1")
    page = client.get("/capture").get_data(as_text=True)
    assert 'action="/logout"' in page and "退出" in page
    assert client.get("/logout").status_code == 405
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert client.get("/capture").status_code == 302
    assert "登录" in client.get("/").get_data(as_text=True)


def test_nav_shows_role_links(client, world):
    login(client, "admin1")
    page = client.get("/staff").get_data(as_text=True)
    for word in ("审核", "采集", "公示", "异议", "月度结账", "村务管理", "特别奖扣"):
        assert word in page
    client.post("/logout")
    login(client, "grid1")
    page = client.get("/capture").get_data(as_text=True)
    assert "我的记录" in page and "月度结账" not in page and "审核" not in page


def test_must_change_password_flow(app, client, world):
    with app.app_context():
        u = db.session.get(StaffUser, world["users"]["grid1"])
        u.must_change_password = True
        db.session.commit()
    resp = login(client, "grid1")
    assert resp.headers["Location"].endswith("/password")
    assert client.get("/capture").headers["Location"].endswith("/password")
    assert 'action="/logout"' in client.get("/password").get_data(as_text=True)
    short = client.post("/password", data={"current": "correct horse 1", "new": "short", "repeat": "short"})
    assert short.status_code == 400 and "至少 12" in short.get_data(as_text=True)
    differ = client.post(
        "/password", data={"current": "correct horse 1", "new": "new password 1", "repeat": "new password 2"}
    )
    assert differ.status_code == 400 and "不一致" in differ.get_data(as_text=True)
    wrong = client.post("/password", data={"current": "nope nope", "new": "new password 1", "repeat": "new password 1"})
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    ok = client.post(
        "/password", data={"current": "correct horse 1", "new": "new password 1", "repeat": "new password 1"}
    )
    assert ok.status_code == 302
    assert client.get("/capture").status_code == 200
    client.post("/logout")
    assert login(client, "grid1", "new password 1").status_code == 302


def test_user_who_must_change_password_can_still_sign_out(app, client, world):
    with app.app_context():
        db.session.get(StaffUser, world["users"]["grid1"]).must_change_password = True
        db.session.commit()
    login(client, "grid1")
    resp = client.post("/logout")
    assert resp.status_code == 302 and not resp.headers["Location"].endswith("/password")
    assert client.get("/password").status_code == 302  # signed out: sent to login


def test_logins_are_audited(app, client, world):
    login(client, "grid1")
    client.post("/login", data={"username": "nobody", "password": "x"})
    with app.app_context():
        actions = db.session.execute(select(AuditEvent.action, AuditEvent.ip)).all()
    assert ("login", "127.0.0.1") in actions and ("login.failed", "127.0.0.1") in actions


@pytest.fixture
def limited_app(db_url, tmp_path, monkeypatch):
    from tests.conftest import close_app, make_app
    from tests.factories import World

    app = make_app(db_url, tmp_path / "instance-limited", monkeypatch, RATELIMIT_ENABLED=True)
    with app.app_context():
        World(db.session)
        db.session.commit()
        limiter.reset()
    yield app
    with app.app_context():
        limiter.reset()
    close_app(app)


def test_failed_logins_are_rate_limited(limited_app):
    client = limited_app.test_client()
    for i in range(10):  # ten names: the per-account backoff (5 failures) stays out of this test
        assert client.post("/login", data={"username": f"grid{i}", "password": "wrong"}).status_code == 200
    resp = client.post("/login", data={"username": "grid1", "password": "correct horse 1"})
    assert resp.status_code == 429
    assert "尝试次数过多" in resp.get_data(as_text=True) or "稍后" in resp.get_data(as_text=True)
    # An unknown user is limited the same way (same IP), so nothing reveals which names exist.
    assert client.post("/login", data={"username": "nobody", "password": "x"}).status_code == 429


def test_successful_logins_do_not_count(limited_app):
    client = limited_app.test_client()
    for _ in range(12):
        assert client.post("/login", data={"username": "grid1", "password": "correct horse 1"}).status_code == 302
        client.post("/logout")


def test_viewer_home_lists_villages_with_dashboard_links(client, world):
    login(client, "view1")
    page = client.get("/villages").get_data(as_text=True)
    assert "龙天坪村" in page
    assert f"/dashboard?village={world['village']}" in page
    assert client.get("/review").status_code == 403
    assert client.get("/capture").status_code == 403
