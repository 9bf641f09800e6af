"""CSRF: every POST route refuses a request without a token (400), signed in or not."""

from __future__ import annotations

import re

import pytest

from pointsapp.extensions import db


@pytest.fixture
def csrf_app(db_url, tmp_path, monkeypatch):
    from tests.conftest import close_app, make_app
    from tests.factories import World

    app = make_app(db_url, tmp_path / "instance-csrf", monkeypatch, WTF_CSRF_ENABLED=True)
    with app.app_context():
        World(db.session)
        db.session.commit()
    yield app
    close_app(app)


def _post_urls(app):
    from flask import url_for

    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods:
                continue
            args = {
                name: (
                    1 if type(rule._converters[name]).__name__ in ("IntegerConverter", "NumberConverter") else "2026-11"
                )
                for name in rule.arguments
            }
            urls.append(url_for(rule.endpoint, **args))
    return urls


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_every_post_route_needs_a_token(csrf_app):
    urls = _post_urls(csrf_app)
    assert "/login" in urls and "/logout" in urls and "/review/approve" in urls
    anonymous = csrf_app.test_client()
    signed_in = csrf_app.test_client()
    token = _token(signed_in.get("/login").get_data(as_text=True))
    resp = signed_in.post("/login", data={"username": "admin1", "password": "correct horse 1", "csrf_token": token})
    assert resp.status_code == 302  # a token makes the same request pass
    failures = []
    for url in urls:
        for who, c in (("anonymous", anonymous), ("admin", signed_in)):
            resp = c.post(url, data={})
            if resp.status_code != 400:
                failures.append(f"POST {url} as {who} without a token: {resp.status_code}")
    assert not failures, "\n".join(failures)
    refused = anonymous.post("/login", data={})
    assert refused.status_code == 400 and "表单已过期" in refused.get_data(as_text=True)  # said in Chinese
