"""Printable household cards (QR codes) and passbooks, for people without smartphones."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from pointsapp.extensions import db
from pointsapp.points.audit import AuditEvent
from pointsapp.points.ledger import LedgerEntry
from pointsapp.points.registry import Household
from pointsapp.points.standings import balance
from pointsapp.villagers.qr import card_qr_png, card_qr_svg
from tests.conftest import login

zxingcpp = pytest.importorskip("zxingcpp")


def decode_all(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def test_card_qr_decodes_to_the_card_link():
    url = "https://points.example.cn/h/" + "x7Gq-_" * 5 + "ab"
    assert decode_all(Image.open(io.BytesIO(card_qr_png(url)))) == [url]
    svg = card_qr_svg(url)
    assert svg.startswith("<svg ") and "viewBox" in svg and "crispEdges" in svg and "width=" not in svg


def _login_admin(client, scene):
    assert login(client, "admin1").status_code == 302


def test_card_sheet_has_eight_cards_a_page_with_links(app, client, scene):
    app.config["POINTSAPP_BASE_URL"] = "https://points.example.cn/"
    with app.app_context():
        for i in range(10):  # 14 households: two A4 pages
            db.session.add(
                Household(
                    village_id=scene.village,
                    group_id=db.session.get(Household, scene.households[0]).group_id,
                    number=f"1{i:02d}",
                )
            )
        db.session.commit()
        tokens = db.session.execute(select(Household.card_token)).scalars().all()
    _login_admin(client, scene)
    html = client.get("/cards?group=all").get_data(as_text=True)
    sheets = html.split('<div class="cardsheet">')[1:]
    assert [s.count('class="hcard"') for s in sheets] == [8, 6]
    assert html.count("<svg ") == 14
    urls = re.findall(r'<div class="url">([^<]+)</div>', html)
    assert sorted(urls) == sorted(f"https://points.example.cn/h/{t}" for t in tokens)
    assert "龙天坪村" in html and "第一组" in html and "向明华" in html and "微信扫一扫" in html


def test_card_sheet_uses_the_request_host_without_base_url(app, client, scene):
    _login_admin(client, scene)
    html = client.get(f"/cards?household={scene.households[1]}").get_data(as_text=True)
    assert re.findall(r'<div class="url">([^<]+)</div>', html) == [f"http://localhost/h/{scene.tokens[1]}"]
    assert client.get("/cards?group=99999").status_code == 404
    index = client.get("/cards").get_data(as_text=True)
    assert f"/cards/passbook/{scene.households[0]}" in index and "?group=" in index


def test_admin_rotates_a_lost_card(app, client, scene):
    _login_admin(client, scene)
    index = client.get("/cards").get_data(as_text=True)
    assert f'href="/cards/rotate/{scene.households[0]}"' in index  # a link to a confirm page, not a button
    confirm = client.get(f"/cards/rotate/{scene.households[0]}")
    assert confirm.status_code == 200 and 'name="confirm"' in confirm.get_data(as_text=True)
    assert "门上" in confirm.get_data(as_text=True)  # says the glued card stops working
    unticked = client.post(f"/cards/rotate/{scene.households[0]}")
    assert unticked.status_code == 400 and client.get(f"/h/{scene.tokens[0]}").status_code == 200
    resp = client.post(f"/cards/rotate/{scene.households[0]}", data={"confirm": "y"})
    assert resp.status_code == 302 and f"household={scene.households[0]}" in resp.headers["Location"]
    assert client.get(f"/h/{scene.tokens[0]}").status_code == 404
    with app.app_context():
        new = db.session.get(Household, scene.households[0]).card_token
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "household.rotate_card")).scalar_one()
        assert event.actor_id == scene.users["admin1"]
    assert new != scene.tokens[0] and client.get(f"/h/{new}").status_code == 200


def test_passbook_running_balances(app, client, scene):
    _login_admin(client, scene)
    year = scene.today.year
    html = client.get(f"/cards/passbook/{scene.households[0]}?year={year}").get_data(as_text=True)
    with app.app_context():
        bal = balance(db.session, household=db.session.get(Household, scene.households[0]))
    assert f'id="closing-honour">{bal.honour}<' in html and f'id="closing-redeemable">{bal.redeemable}<' in html
    body = re.search(r"<tbody>(.*)</tbody>", html, re.S).group(1)
    honours = [
        int(re.findall(r'<td class="num">(-?\d+)</td>', tr)[-2])
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:-1]
    ]
    points = [
        int(p)
        for p in re.findall(
            r'<td class="num">([+-]?\d+)</td><td class="num">-?\d+</td><td class="num">-?\d+</td></tr>', body
        )
    ]
    with app.app_context():
        in_year = db.session.execute(
            select(func.count())
            .select_from(LedgerEntry)
            .where(
                LedgerEntry.household_id == scene.households[0],
                LedgerEntry.occurred_on.between(dt.date(year, 1, 1), dt.date(year, 12, 31)),
            )
        ).scalar_one()
    assert len(honours) == in_year >= 2 and honours[-1] == bal.honour
    running = 0
    for p, h in zip(points, honours):
        running += p
        assert running == h
    assert "向明华" in html and "谭高" in html
    assert client.get(f"/cards/passbook/{scene.households[0]}?year={year - 1}").status_code == 200
    assert client.get("/cards/passbook/99999").status_code == 404
