"""Weight: gzip by the app itself, versioned static URLs with a long cache life."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

from sqlalchemy import text

from pointsapp.points.periods import local_today

STATIC = Path(__file__).resolve().parents[1] / "pointsapp" / "static"


def _version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def test_pages_link_static_files_with_their_content_version(client):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/app\.css[^"]*)"', html).group(1)
    assert css == f"/static/app.css?v={_version(STATIC / 'app.css')}"


def test_versioned_static_files_are_cached_for_a_year_unversioned_are_not(client):
    v = _version(STATIC / "app.css")
    resp = client.get(f"/static/app.css?v={v}")
    assert resp.status_code == 200
    assert resp.cache_control.max_age == 365 * 24 * 3600 and resp.cache_control.immutable
    assert resp.cache_control.public
    stale = client.get("/static/app.css?v=0000000000")  # an old version: no promise of a year
    assert stale.cache_control.max_age != 365 * 24 * 3600 and not stale.cache_control.immutable
    plain = client.get("/static/app.css")
    assert plain.cache_control.max_age != 365 * 24 * 3600


def test_html_css_and_js_are_gzipped_when_the_browser_accepts_it(client):
    for url in ("/", f"/static/app.css?v={_version(STATIC / 'app.css')}", "/static/staff-capture.js"):
        identity = client.get(url)
        assert "Content-Encoding" not in identity.headers  # the test client asks for no encoding
        raw = identity.get_data()
        zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert zipped.headers["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in zipped.headers["Vary"]
        body = zipped.get_data()
        assert int(zipped.headers["Content-Length"]) == len(body)
        assert gzip.decompress(body) == raw, url
        assert len(body) < len(raw) * 0.8, url


def test_gzip_refused_with_q0_and_small_or_binary_bodies_pass_through(client):
    assert "Content-Encoding" not in client.get("/", headers={"Accept-Encoding": "gzip;q=0"}).headers
    health = client.get("/healthz", headers={"Accept-Encoding": "gzip"})  # a tiny JSON body
    assert "Content-Encoding" not in health.headers and health.get_json() == {"ok": True}


def test_conditional_static_request_still_gets_304_after_gzip(client):
    url = f"/static/app.css?v={_version(STATIC / 'app.css')}"
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    etag = first.headers.get("ETag")
    assert etag and etag.startswith("W/")
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304


def test_compressed_weights_of_the_pages_people_use(app, app_world, client):
    """Each page a phone opens is gzipped by the app; print the weights (HTML only) and hold a budget."""
    from pointsapp.extensions import db
    from pointsapp.points.activities import Activity
    from pointsapp.points.registry import Household
    from tests.conftest import login

    with app.app_context():
        token = db.session.get(Household, app_world["households"][0]).card_token
        rule_id = db.session.execute(text("SELECT id FROM rules WHERE code = 'LJ-01'")).scalar_one()
        a = Activity(
            village_id=app_world["village"],
            rule_id=rule_id,
            title="党课",
            held_on=local_today("Asia/Shanghai"),
            created_by_id=app_world["users"]["grid1"],
        )
        db.session.add(a)
        db.session.commit()
        aid = a.id
    pages = {"card": f"/h/{token}", "board": "/board", "rules": "/rules"}
    weights = {}
    for name, url in pages.items():
        weights[name] = _weigh(client, url)
    login(client, "grid1")
    weights["capture start"] = _weigh(client, "/capture")
    weights["capture"] = _weigh(client, f"/activities/{aid}/capture")
    print(
        "\n"
        + "\n".join(
            f"  {name:14} {plain:>7,} B plain  {zipped:>6,} B gzip" for name, (plain, zipped) in weights.items()
        )
    )
    for name, (plain, zipped) in weights.items():
        assert zipped <= 10 * 1024, name
        assert zipped < plain * 0.7, name


def _weigh(client, url):
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200, url
    assert zipped.headers.get("Content-Encoding") == "gzip", url
    plain = gzip.decompress(zipped.get_data())  # (pages carry fresh keys and times: no second fetch to compare)
    assert plain.rstrip().endswith(b"</html>"), url
    return len(plain), len(zipped.get_data())


def test_a_view_comparing_etags_strongly_still_gets_its_304_through_gzip(app):
    from flask import make_response, request

    @app.get("/etag-probe")
    def etag_probe():
        tag = "board-v1"
        if tag in request.if_none_match:  # a strong comparison, as a view might write it
            return "", 304
        resp = make_response("x" * 2000)
        resp.set_etag(tag)
        return resp

    client = app.test_client()
    first = client.get("/etag-probe", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip" and first.headers["ETag"] == 'W/"board-v1"'
    again = client.get("/etag-probe", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
