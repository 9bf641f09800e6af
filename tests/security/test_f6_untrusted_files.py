"""Finding 6 (medium): memory exhaustion from small files (the image and YAML parts; the xlsx
dimension bomb is tests/security/test_spreadsheet_limits.py).

* a 0.23 MB PNG of 7745 × 7745 pixels posted as an evidence photo was decoded in full;
* a few hundred bytes of nested YAML aliases made a 656 MB preview page (the expansion
  happened in error messages that echoed values);
* ``code: [1,2]`` in a rule book gave a 500.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from sqlalchemy import text
from werkzeug.datastructures import FileStorage

from pointsapp.extensions import db
from tests.security.conftest import sign_in

BOMB_SIDE = 7745


def png_bomb(side: int = BOMB_SIDE) -> bytes:
    """A valid greyscale PNG of side × side pixels, all zero: ~60 MB decoded, ~60 KB on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_png_bomb_is_refused_from_its_header(app, monkeypatch):
    from PIL import Image, ImageFile

    from pointsapp.web.photos import PhotoError, prepare_photo

    data = png_bomb()
    assert len(data) < 300_000
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or real_load(self))
    with app.test_request_context(), pytest.raises(PhotoError) as err:
        prepare_photo(FileStorage(io.BytesIO(data), filename="evidence.png"))
    assert "7745" in str(err.value)
    assert decoded == [], "the image was decoded before its size was checked"
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 100_000_000


def test_png_bomb_through_the_capture_form(app, client, app_world):
    from tests.staff.conftest import make_activity

    world = dict(app_world)
    with app.app_context():
        world["rules"] = dict(db.session.execute(text("SELECT code, id FROM rules")).all())
    aid = make_activity(app, world)
    assert sign_in(client, "grid1").status_code == 302
    resp = client.post(
        f"/activities/{aid}/capture",
        data={"key": "bomb", "p": [str(app_world["people"][0][0])], "photo": (io.BytesIO(png_bomb()), "evidence.png")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400
    assert "7745" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM submissions")).scalar_one() == 0


def test_a_normal_phone_photo_still_works(app):
    from PIL import Image

    from pointsapp.web.photos import prepare_photo

    buf = io.BytesIO()
    Image.new("RGB", (4032, 3024), (10, 120, 40)).save(buf, "JPEG", quality=70)
    with app.test_request_context():
        image = prepare_photo(FileStorage(io.BytesIO(buf.getvalue()), filename="phone.jpg"))
    assert max(image.size) == 1600


LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh"))
    + "rules:\n- {code: X, name: *h, category: c, points: 1, per: occasion, unit: x, scope: person,"
    " evidence: none, logged_by: admin, effective_from: 2026-01-01}\n"
)
FULL = (
    "category: c, points: 1, per: occasion, unit: x, scope: person, evidence: none, logged_by: admin, "
    "effective_from: 2026-01-01"
)


def test_yaml_alias_bomb_is_refused_quickly_with_a_short_message():
    from pointsapp.points.rules import RuleBookError, parse_rulebook

    assert len(LAUGHS) < 900
    start = time.monotonic()
    with pytest.raises(RuleBookError) as err:
        parse_rulebook(LAUGHS)
    assert time.monotonic() - start < 2
    message = "\n".join(err.value.errors)
    assert len(message) < 1000 and "lol" not in message


def test_aliases_small_enough_still_load():
    from pointsapp.points.rules import parse_rulebook

    book = parse_rulebook(
        "roles: &who [grid_worker, admin]\nrules:\n"
        "- {code: A-1, name: 清扫, category: 环境, points: 2, per: occasion, unit: 次, scope: person,"
        " evidence: none, logged_by: *who, effective_from: 2026-01-01}\n"
    )
    assert book.rules[0].logged_by == ("grid_worker", "admin")


def test_error_messages_never_echo_an_expanded_value():
    from pointsapp.points.rules import RuleBookError, parse_rulebook

    doc = (
        'x: &x ["' + "y" * 5000 + '"]\nrules:\n- {code: A, name: *x, category: *x, points: *x, per: *x, unit: *x,'
        " scope: *x, evidence: *x, logged_by: *x, effective_from: *x}\n"
    )
    with pytest.raises(RuleBookError) as err:
        parse_rulebook(doc)
    assert len("\n".join(err.value.errors)) < 3000


@pytest.mark.parametrize(
    "doc",
    [
        LAUGHS,
        "rules:\n- {code: [1,2], name: x, " + FULL + "}\n",
        "rules:\n- {code: {a: 1}, name: x, " + FULL + "}\n",
        "rules:\n- code: X\n  effective_from: 2026-02-30\n",
        "version_note: [1]\nrules: []\n",
    ],
)
def test_rule_book_upload_page_answers_clearly(app, client, app_world, doc):
    assert sign_in(client, "admin1").status_code == 302
    resp = client.post(
        "/admin/rules/upload",
        data={"file": (io.BytesIO(doc.encode()), "rules.yaml")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert resp.status_code in (200, 400)
    body = resp.get_data(as_text=True)
    assert len(body) < 200_000
    assert "Traceback" not in body and "lol" not in body
