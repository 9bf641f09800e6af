"""Evidence photos: only images, resized to at most 1600 px, stored as JPEG; clear errors."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.activities import Activity
from tests.conftest import login
from tests.staff.conftest import make_activity, today


def _png(w=3000, h=2000) -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), (200, 30, 30, 128)).save(buf, "PNG")
    buf.seek(0)
    return buf


def _activity_data(world, app, photo):
    from pointsapp.points.registry import Group

    with app.app_context():
        g = db.session.execute(select(Group.id).order_by(Group.sort_key)).scalars().first()
    return {
        "rule": world["rules"]["LJ-01"],
        "held_on": today().isoformat(),
        "group": g,
        "title": "清廉党课",
        "photo": photo,
    }


def test_activity_photo_is_resized_and_reencoded(app, client, world):
    login(client, "grid1")
    resp = client.post(
        "/activities/new", data=_activity_data(world, app, (_png(), "scene.png")), content_type="multipart/form-data"
    )
    assert resp.status_code == 303
    with app.app_context():
        a = db.session.execute(select(Activity)).scalar_one()
        path = Path(app.instance_path) / "uploads" / a.photo
    assert path.suffix == ".jpg" and path.is_file()
    with Image.open(path) as img:
        assert img.format == "JPEG" and max(img.size) == 1600 and img.size == (1600, 1067)
    got = client.get(f"/activities/{a.id}/photo")
    assert got.status_code == 200 and got.mimetype == "image/jpeg"


def test_non_image_is_refused_with_a_clear_message(app, client, world):
    login(client, "grid1")
    fake = (io.BytesIO(b"%PDF-1.4 not a picture at all"), "sheet.jpg")
    resp = client.post("/activities/new", data=_activity_data(world, app, fake), content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "文件 sheet.jpg 不是图片" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(Activity)).first() is None
    truncated = _png(50, 50).getvalue()[:60]
    resp = client.post(
        "/activities/new",
        data=_activity_data(world, app, (io.BytesIO(truncated), "x.png")),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and "不是图片" in resp.get_data(as_text=True)


def test_oversized_upload_gets_a_clear_413(app, client, world):
    login(client, "grid1")
    big = io.BytesIO(b"\xff" * (8 * 1024 * 1024 + 10))
    resp = client.post(
        "/activities/new", data=_activity_data(world, app, (big, "huge.jpg")), content_type="multipart/form-data"
    )
    assert resp.status_code == 413
    assert "照片超过 8 MB" in resp.get_data(as_text=True)


def test_capture_with_photo(app, client, world):
    aid = make_activity(app, world)
    login(client, "grid1")
    resp = client.post(
        f"/activities/{aid}/capture",
        data={"key": "kp", "p": [str(world["people"][0][0])], "photo": (_png(800, 600), "sheet.png")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    result_url = resp.headers["Location"]
    page = client.get(result_url).get_data(as_text=True)
    assert f"{result_url}/photo" in page
    got = client.get(f"{result_url}/photo")
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(got.data)) as img:
        assert img.format == "JPEG" and img.size == (800, 600)
    # A bad photo keeps the marks and records nothing.
    resp = client.post(
        f"/activities/{aid}/capture",
        data={"key": "kp2", "p": [str(world["people"][0][1])], "photo": (io.BytesIO(b"hello"), "a.gif")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and "不是图片" in resp.get_data(as_text=True)
    assert 'value="kp2"' in resp.get_data(as_text=True)
