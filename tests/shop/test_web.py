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
    form = {"key": key, f"qty-{w['items']['SOAP']}": "2", f"qty-{w['items']['RICE']}": "1",
            "collector": str(w["people"][0][1])}
    r = client.post(f"/desk/h/{hid}/redeem", data=form)
    assert r.status_code == 303
    receipt = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="receipt-points">45<' in receipt and 'id="receipt-balance">15<' in receipt and "谭高" in receipt
    again = client.post(f"/desk/h/{hid}/redeem", data=form)       # a double tap
    assert again.status_code == 303 and again.headers["Location"] == r.headers["Location"]
    assert _sql(app, "SELECT count(*), sum(points) FROM redemptions") == [(1, 45)]
    assert _sql(app, "SELECT sum(points) FROM ledger_entries WHERE household_id = :h", h=hid) == [(15,)]


def test_overspending_is_refused_with_a_clear_message_and_nothing_written(app, client, app_world):
    w = shop_world(app, app_world)
    login(client, "clerk1")
    hid = w["households"][1]                     # 20 points
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
    r = client.post("/desk/stock/in", data={"in-item": soap, "in-qty": 4, "in-source": "donation",
                                             "in-donor": "王老板", "in-value": "38.50"})
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
