"""The liability guard on the dashboard and the county page equals raw SQL over the entries."""

import re

from sqlalchemy import text

from pointsapp.extensions import db
from pointsapp.points.registry import Role, StaffUser
from tests.conftest import login
from tests.shop.web_helpers import PASSWORD, shop_world

OUTSTANDING_SQL = (
    "SELECT coalesce(sum(b), 0) FROM (SELECT household_id, sum(points) AS b FROM ledger_entries "
    "WHERE village_id = :v GROUP BY household_id) per WHERE b > 0"
)
STOCK_SQL = (
    "SELECT coalesce(sum(m.qty * i.price), 0) FROM stock_movements m JOIN shop_items i ON i.id = m.item_id "
    "WHERE i.village_id = :v AND i.active"
)


def test_dashboard_and_county_show_the_sql_figures(app, client, app_world):
    w = shop_world(app, app_world, points=(60, 40, 0, 0), stock=(("SOAP", "香皂", 10, 5, "块"),))
    login(client, "clerk1")
    client.post(f"/desk/h/{w['households'][0]}/redeem", data={"key": "k1", f"qty-{w['items']['SOAP']}": "2"})
    with app.app_context():
        outstanding = db.session.execute(text(OUTSTANDING_SQL), {"v": w["village"]}).scalar_one()
        stock = db.session.execute(text(STOCK_SQL), {"v": w["village"]}).scalar_one()
        viewer = StaffUser(username="county1", role=Role.viewer, village_id=None)
        viewer.set_password(PASSWORD)
        db.session.add(viewer)
        db.session.commit()
    assert (outstanding, stock) == (80, 30)
    client.post("/logout")
    login(client, "admin1")
    page = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'data-testid="outstanding">(\d+)<', page)[1] == str(outstanding)
    assert re.search(r'data-testid="stock-value">(\d+)<', page)[1] == str(stock)
    assert 'data-level="short"' in page  # no budget set: 80 points against 30 of stock
    client.post("/logout")
    login(client, "county1")
    page = client.get("/county").get_data(as_text=True)
    row = re.search(
        rf'<tr class="liability short" data-village="{w["village"]}"><td>[^<]+</td>'
        r'<td class="num">(\d+)</td><td class="num">(\d+)</td>',
        page,
    )
    assert row and (int(row[1]), int(row[2])) == (outstanding, stock)
