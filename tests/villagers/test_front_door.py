"""The front door (web/pagecache.py FrontDoor): a public page this worker has for the current key,
asked for without a session, is answered before Flask, with the very bytes and headers the app sent.

Oracles: whether Flask saw the request (its ``request_started`` signal), the statements sent to the
database (counted at the driver), the app's own first response (bytes and headers), and a posting
committed through the core, which must show on the next request."""

from __future__ import annotations

import gzip
from contextlib import contextmanager

import pytest
from flask import request_started
from sqlalchemy.exc import OperationalError

from pointsapp.extensions import db
from pointsapp.points.registry import Household
from pointsapp.points.standings import balance
from tests.villagers.test_page_cache import _post_award, counting

PUBLIC = ["/board", "/notice", "/rules", "/board?show=people&lang=en"]
SAME_EACH_TIME = ("Content-Type", "Cache-Control", "Vary", "Content-Security-Policy", "X-Robots-Tag", "Referrer-Policy")


@contextmanager
def flask_requests(app):
    """Requests that reached Flask's dispatch while the block runs."""
    seen: list[str] = []

    def started(sender, **_extra):
        from flask import request

        seen.append(request.full_path)

    request_started.connect(started, app)
    try:
        yield seen
    finally:
        request_started.disconnect(started, app)


@pytest.fixture
def anon(app):
    """A visitor who never keeps a cookie (a first visit from a QR code; wrk)."""
    return app.test_client(use_cookies=False)


@pytest.mark.parametrize("url", PUBLIC)
def test_second_visit_is_answered_before_flask_with_the_apps_bytes_and_headers(app, anon, scene, url):
    with flask_requests(app) as seen:
        first = anon.get(url)
    assert first.status_code == 200 and seen == [url if "?" in url else url + "?"]
    with flask_requests(app) as seen, counting(app) as statements:
        again = anon.get(url)
    assert seen == [], "the cached page went through Flask"
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert again.headers["ETag"] == first.headers["ETag"]
    for name in SAME_EACH_TIME:
        assert again.headers.get(name) == first.headers.get(name), name
    assert "Set-Cookie" not in again.headers and int(again.headers["Content-Length"]) == len(again.get_data())
    assert len(statements) <= 2, statements  # (BEGIN on SQLite and) the key


def test_gzip_and_304_from_the_front_door(app, anon, scene):
    plain = anon.get("/board")
    zipped = anon.get("/board", headers={"Accept-Encoding": "gzip"})  # Flask serves the gzip copy …
    with flask_requests(app) as seen:
        again = anon.get("/board", headers={"Accept-Encoding": "gzip, deflate"})  # … and now the front door
        not_modified = anon.get("/board", headers={"If-None-Match": plain.headers["ETag"]})
        weak = anon.get("/board", headers={"If-None-Match": zipped.headers["ETag"], "Accept-Encoding": "gzip"})
    assert seen == []
    assert again.headers["Content-Encoding"] == "gzip" and again.headers["ETag"] == zipped.headers["ETag"]
    assert gzip.decompress(again.get_data()) == plain.get_data()
    assert zipped.headers["ETag"] == "W/" + plain.headers["ETag"]
    for resp in (not_modified, weak):
        assert resp.status_code == 304 and resp.get_data() == b""
        assert resp.headers["ETag"] == plain.headers["ETag"] and resp.headers["Cache-Control"] == "no-cache"
        assert resp.headers["Content-Security-Policy"] == plain.headers["Content-Security-Policy"]
    stale = anon.get("/board", headers={"If-None-Match": '"not-this-one"'})
    assert stale.status_code == 200 and stale.get_data() == plain.get_data()


def test_a_posting_shows_on_the_next_request(app, anon, scene):
    first = anon.get("/board")
    anon.get("/board")
    _post_award(app, scene, scene.people[0][0])
    with app.app_context():
        total = balance(db.session, household=db.session.get(Household, scene.households[0])).honour
    with flask_requests(app) as seen:
        after = anon.get("/board", headers={"If-None-Match": first.headers["ETag"]})
    assert seen == ["/board?"], "a new key must be rendered by the app"
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    assert f">{total}<" in after.get_data(as_text=True).replace(" ", "")
    assert f">{total}<" not in first.get_data(as_text=True).replace(" ", "")


def test_a_visitor_with_a_session_goes_to_the_app(app, client, scene):
    """A session may hold a flashed message meant for this visitor only."""
    client.get("/board")
    client.get("/board")
    with client.session_transaction() as sess:
        sess["_flashes"] = [("success", "您的异议已记录")]
    with flask_requests(app) as seen:
        page = client.get("/board")
    assert seen == ["/board?"] and "您的异议已记录" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "private, no-store"


def test_unknown_village_and_other_methods_go_to_the_app(app, anon, scene):
    assert anon.get("/board?village=999999").status_code == 404
    anon.get("/rules")
    with flask_requests(app) as seen:
        assert anon.get("/board?village=999999").status_code == 404
        assert anon.head("/rules").status_code == 200
        assert anon.post("/rules").status_code == 405
    assert len(seen) == 3


def test_a_database_error_in_the_front_door_leaves_the_answer_to_the_app(app, anon, scene, monkeypatch, caplog):
    from pointsapp.web import pagecache

    first = anon.get("/rules")

    def broken(self):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(pagecache.FrontDoor, "_connection", broken)
    with flask_requests(app) as seen:
        again = anon.get("/rules")
    assert seen == ["/rules?"] and again.status_code == 200 and again.get_data() == first.get_data()
    assert "front door" in caplog.text


def test_a_card_seen_again_is_answered_before_flask_and_sets_no_cookie(app, anon, scene):
    url = f"/h/{scene.tokens[0]}"
    first = anon.get(url)
    with flask_requests(app) as seen:
        again = anon.get(url)
        other = anon.get(f"/h/{scene.tokens[1]}")  # not rendered yet: the app renders it
    assert seen == [f"/h/{scene.tokens[1]}?"]
    assert again.get_data() == first.get_data() and again.headers["Cache-Control"] == "private, no-cache"
    assert "Set-Cookie" not in first.headers and "Set-Cookie" not in again.headers
    assert scene.names[scene.households[1]][0] in other.get_data(as_text=True)
    assert scene.names[scene.households[1]][0] not in again.get_data(as_text=True)
    zipped = anon.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.get_data()) == first.get_data()
    # a page per household is kept gzipped only (memory), the village's public pages in both forms
    pages = app.extensions["pointsapp_pages"]._items
    assert {p.raw is None for k, p in pages.items() if k[0].startswith("/h/")} == {True}
    anon.get("/board")
    assert all(p.raw is not None for k, p in pages.items() if k[0].startswith("/board"))


def test_a_replaced_card_link_stops_working_at_once(app, anon, scene):
    from pointsapp.points.registry import StaffUser
    from pointsapp.villagers.services import rotate_card

    url = f"/h/{scene.tokens[0]}"
    anon.get(url)
    assert anon.get(url).status_code == 200
    with app.app_context():
        rotate_card(
            db.session, db.session.get(Household, scene.households[0]), db.session.get(StaffUser, scene.users["admin1"])
        )
        db.session.commit()
    assert anon.get(url).status_code == 404


def test_the_card_view_limit_holds_in_the_front_door(tmp_path, monkeypatch):
    """The card page limit (VILLAGERS_CARD_RATE, per address and card, counted in the shared storage) is
    counted on pages the front door answers as on pages the app renders."""
    from tests.conftest import close_app, make_app
    from tests.villagers.conftest import build_scene

    app = make_app(
        f"sqlite:///{tmp_path}/limit.db",
        tmp_path / "inst",
        monkeypatch,
        RATELIMIT_ENABLED=True,
        VILLAGERS_CARD_RATE="3/minute",
    )
    with app.app_context():
        sc = build_scene(db.session)
    anon = app.test_client(use_cookies=False)
    url = f"/h/{sc.tokens[0]}"
    with flask_requests(app) as seen:
        codes = [anon.get(url).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429] and len(seen) == 2  # the 2nd and 3rd from the front door
    assert anon.get(f"/h/{sc.tokens[1]}").status_code == 200  # another card from the same address
    close_app(app)


def test_a_broken_connection_is_dropped_and_the_next_request_reconnects(app, anon, scene, caplog):
    """Each thread keeps its connection for key reads; when it breaks (a database restart), that request
    goes to the app and the next one opens a new connection."""
    page = anon.get("/notice").get_data()
    anon.get("/notice")
    door = app.wsgi_app
    held = door._local.conn
    held.dbapi.close()  # the server went away under it
    with flask_requests(app) as seen:
        assert anon.get("/notice").get_data() == page  # answered by the app
        assert anon.get("/notice").get_data() == page  # the front door again, on a new connection
    assert seen == ["/notice?"] and "front door" in caplog.text
    assert door._local.conn is not held and held not in door._held


def test_the_key_reader_reads_what_the_session_reads(app, scene):
    """The front door's own connection (on PostgreSQL: statements prepared once and run through libpq,
    values converted from text here) gives the same states, of the same types, as the ORM session."""
    from pointsapp.points.versions import card_state, village_state
    from pointsapp.web.pagecache import KeyReader

    with app.app_context():
        reader = KeyReader(db.engine)
        try:
            for _ in range(2):  # the second time from the statements kept (prepared) on the connection
                for token in (scene.tokens[0], scene.tokens[1], "no-such-card-link-at-all-here-00"):
                    mine, theirs = card_state(reader, token), card_state(db.session, token)
                    assert mine == theirs and (token.startswith("no-such") or mine is not None)
                    if mine is not None:
                        assert [type(v) for v in vars(mine).values()] == [int, str, int, int, int, int]
                first = village_state(db.session, None)
                assert village_state(reader, first.village_id) == first and village_state(reader, None) == first
                assert village_state(reader, 10**9) is None
        finally:
            reader.close()
            db.session.rollback()
