"""The desk, receipts, stock, settings, reset and /shop pages through the app."""

import re

from sqlalchemy import text

from pointsapp.extensions import db
from tests.conftest import login
from tests.shop.web_helpers import shop_world


def _sql(app, q, **p):
    with app.app_context():
        return db.session.execute(text(q), p).all()


def test_scanned_card_link_opens_the_household_and_redeems_once(app, client, app_world):
    w = shop_world(app, app_world)
    login(client, "clerk1")
    hid = w["households"][0]
    r = client.get("/desk", query_string={"q": f"https://points.example.cn/h/{w['tokens'][0]}"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/desk/h/{hid}")
    page = client.get(f"/desk/h/{hid}").get_data(as_text=True)
    assert 'id="desk-redeemable">60<' in page and "向明华" in page and "谭高" in page
    key = re.search(r'name="key" value="([0-9a-f]+)"', page)[1]
    form = {
        "key": key,
        f"qty-{w['items']['SOAP']}": "2",
        f"qty-{w['items']['RICE']}": "1",
        "collector": str(w["people"][0][1]),
    }
    r = client.post(f"/desk/h/{hid}/redeem", data=form)
    assert r.status_code == 303
    receipt = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="receipt-points">45<' in receipt and 'id="receipt-balance">15<' in receipt and "谭高" in receipt
    again = client.post(f"/desk/h/{hid}/redeem", data=form)  # a double tap
    assert again.status_code == 303 and again.headers["Location"] == r.headers["Location"]
    assert _sql(app, "SELECT count(*), sum(points) FROM redemptions") == [(1, 45)]
    assert _sql(app, "SELECT sum(points) FROM ledger_entries WHERE household_id = :h", h=hid) == [(15,)]


def test_overspending_is_refused_with_a_clear_message_and_nothing_written(app, client, app_world):
    w = shop_world(app, app_world)
    login(client, "clerk1")
    hid = w["households"][1]  # 20 points
    before = _sql(app, "SELECT (SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM stock_movements)")
    r = client.post(f"/desk/h/{hid}/redeem", data={"key": "k-over", f"qty-{w['items']['RICE']}": "1"})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "20" in page and "25" in page and 'class="flash error"' in page
    r = client.post(f"/desk/h/{hid}/redeem", data={"key": "k-stock", f"qty-{w['items']['SOAP']}": "9"})
    assert r.status_code == 409
    assert _sql(app, "SELECT (SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM stock_movements)") == before
    assert _sql(app, "SELECT count(*) FROM redemptions") == [(0,)]


def test_search_by_number_and_pinyin(app, client, app_world):
    shop_world(app, app_world)
    login(client, "clerk1")
    r = client.get("/desk", query_string={"q": "xmh"})
    assert r.status_code == 200 and "向明华" in r.get_data(as_text=True)
    r = client.get("/desk", query_string={"q": "2"})
    assert r.status_code == 303
    r = client.get("/desk", query_string={"q": "https://x.cn/h/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
    assert r.status_code == 200 and 'class="flash error"' in r.get_data(as_text=True)


def test_roles_clerk_and_admin_at_the_desk_others_refused(app, client, app_world):
    shop_world(app, app_world)
    for user, desk, items in (("clerk1", 200, 403), ("admin1", 200, 200), ("rev1", 403, 403), ("grid1", 403, 403)):
        client.post("/logout")
        login(client, user)
        assert client.get("/desk").status_code == desk, user
        assert client.get("/desk/items").status_code == items, user


def test_stock_in_and_write_off_pages(app, client, app_world):
    w = shop_world(app, app_world)
    login(client, "clerk1")
    soap = w["items"]["SOAP"]
    r = client.post(
        "/desk/stock/in",
        data={"in-item": soap, "in-qty": 4, "in-source": "donation", "in-donor": "王老板", "in-value": "38.50"},
    )
    assert r.status_code == 303
    r = client.post("/desk/stock/writeoff", data={"off-item": soap, "off-qty": 20, "off-reason": "受潮"})
    assert r.status_code == 400 and "9" in r.get_data(as_text=True)
    assert _sql(app, "SELECT sum(qty) FROM stock_movements WHERE item_id = :i", i=soap) == [(9,)]
    assert _sql(app, "SELECT donor, value_fen FROM stock_movements WHERE source = 'donation'") == [("王老板", 3850)]


def test_public_shop_lists_items_without_names(client, app, app_world):
    shop_world(app, app_world)
    page = client.get("/shop").get_data(as_text=True)
    assert "香皂" in page and "大米" in page
    assert "向明华" not in page and "兑换员" not in page


def test_item_photo_is_checked_re_encoded_and_served_locally(app, client, app_world):
    """An item's optional photo: the evidence photos' limits (pixels checked from the header,
    nothing written when refused), re-encoded as JPEG, served by the app itself."""
    import io
    from pathlib import Path

    from PIL import Image

    from tests.security.test_f6_untrusted_files import png_bomb

    shop_world(app, app_world, stock=())
    login(client, "admin1")
    bomb = client.post(
        "/desk/items",
        data={
            "code": "OIL",
            "name": "食用油",
            "unit": "桶",
            "price": "30",
            "photo": (io.BytesIO(png_bomb()), "oil.png"),
        },
        content_type="multipart/form-data",
    )
    assert bomb.status_code == 400 and "7745" in bomb.get_data(as_text=True)
    junk = client.post(
        "/desk/items",
        data={
            "code": "OIL",
            "name": "食用油",
            "unit": "桶",
            "price": "30",
            "photo": (io.BytesIO(b"not a picture"), "oil.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert junk.status_code == 400 and "不是图片" in junk.get_data(as_text=True)
    assert _sql(app, "SELECT count(*) FROM shop_items") == [(0,)]  # nothing half-written

    png = io.BytesIO()
    Image.new("RGBA", (2400, 1200), (200, 30, 30, 255)).save(png, "PNG")
    r = client.post(
        "/desk/items",
        data={
            "code": "OIL",
            "name": "食用油",
            "unit": "桶",
            "price": "30",
            "photo": (io.BytesIO(png.getvalue()), "oil.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    ((item_id, rel),) = _sql(app, "SELECT id, photo FROM shop_items WHERE code = 'OIL'")
    stored = Path(app.instance_path) / "uploads" / rel
    assert rel.startswith(f"shop/{app_world['village']}/") and stored.is_file()
    with Image.open(stored) as im:
        assert im.format == "JPEG" and max(im.size) <= 1600

    client.post("/logout")
    page = client.get("/shop").get_data(as_text=True)  # public, no sign-in
    src = re.search(r'<img class="item-photo" src="([^"]+)"', page)[1]
    assert src.startswith(f"/shop/photo/{item_id}.jpg")
    photo = client.get(src)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data == stored.read_bytes()
    assert photo.cache_control.max_age and photo.cache_control.max_age >= 86400
    assert client.get("/shop/photo/99999.jpg").status_code == 404

    login(client, "admin1")
    edit = client.get(f"/desk/items/{item_id}").get_data(as_text=True)
    assert 'id="item-photo"' in edit and 'enctype="multipart/form-data"' in edit
    r = client.post(
        f"/desk/items/{item_id}",
        data={"code": "OIL", "name": "食用油", "unit": "桶", "price": "30", "active": "y", "remove_photo": "y"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    assert _sql(app, "SELECT photo FROM shop_items WHERE id = :i", i=item_id) == [(None,)]
    assert client.get(src).status_code == 404


def test_a_clerk_signs_in_changes_the_password_and_signs_out(app, client, app_world):
    """The clerk role (兑换员) reaches the pages every staff role has: /password and /logout,
    linked from the desk's header."""
    from tests.conftest import PASSWORD

    shop_world(app, app_world)
    r = login(client, "clerk1")
    assert r.status_code == 302 and r.headers["Location"].endswith("/desk")
    desk = client.get("/desk").get_data(as_text=True)
    assert 'href="/password"' in desk and 'action="/logout"' in desk
    assert client.get("/password").status_code == 200
    new = "clerk new password 1"
    r = client.post("/password", data={"current": PASSWORD, "new": new, "repeat": new})
    assert r.status_code == 302 and r.headers["Location"].endswith("/desk")
    assert client.get("/desk").status_code == 200  # still signed in here
    r = client.post("/logout")
    assert r.status_code == 302
    assert client.get("/desk").status_code == 302  # signed out: to the login page
    assert login(client, "clerk1").status_code == 200  # the old password is dead
    assert login(client, "clerk1", new).status_code == 302
    actions = [
        a
        for (a,) in _sql(
            app, "SELECT action FROM audit_events WHERE actor_id = :u ORDER BY id", u=app_world["users"]["clerk1"]
        )
    ]
    assert "password.change" in actions and "logout" in actions


def test_redemption_history_names_the_goods_on_the_desk_and_the_card(app, client, app_world):
    """The history lines list what was taken (香皂×2、大米×1), on the desk and on the household's card."""
    w = shop_world(app, app_world)
    login(client, "clerk1")
    hid = w["households"][0]
    page = client.get(f"/desk/h/{hid}").get_data(as_text=True)
    key = re.search(r'name="key" value="([0-9a-f]+)"', page)[1]
    client.post(
        f"/desk/h/{hid}/redeem", data={"key": key, f"qty-{w['items']['SOAP']}": "2", f"qty-{w['items']['RICE']}": "1"}
    )
    names = dict(_sql(app, "SELECT code, name FROM shop_items"))
    want = (
        f"{names['SOAP']}×2、{names['RICE']}×1"
        if w["items"]["SOAP"] < w["items"]["RICE"]
        else f"{names['RICE']}×1、{names['SOAP']}×2"
    )
    for page in (
        client.get(f"/desk/h/{hid}").get_data(as_text=True),
        client.get(f"/h/{w['tokens'][0]}").get_data(as_text=True),
    ):
        assert want in page and "built-in method" not in page
