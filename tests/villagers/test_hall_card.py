"""The card's additions for the hall issue: one headline number with a line each for 可兑换
and 荣誉, "漏记了？" (an objection naming no entry), the committee phone on the card, the
notice and the printed cards, the deduction rules, the language switch in the footer, the
admin link to /cards and the warning when POINTSAPP_BASE_URL is unset."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from pointsapp.extensions import db
from pointsapp.points.registry import Household, Village
from pointsapp.points.rules import RuleVersion
from pointsapp.points.standings import balance
from tests.conftest import login


def html_of(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_card_has_one_headline_number_and_explains_both_balances(app, client, scene):
    html = html_of(client.get(f"/h/{scene.tokens[0]}"))
    with app.app_context():
        bal = balance(db.session, household=db.session.get(Household, scene.households[0]))
    headline = html.split('id="balance"', 1)[1].split("</section>", 1)[0]
    assert len(re.findall(r'class="big[^"]*"', headline)) == 1  # one big number
    assert re.search(rf'id="redeemable">{bal.redeemable}<', headline)
    assert re.search(rf'id="honour">{bal.honour}<', headline)
    explains = re.findall(r'<p class="explain">(.*?)</p>', headline, re.S)
    assert len(explains) == 2 and "可兑换" in explains[0] and "荣誉积分" in explains[1]
    assert "兑换后会减少" in explains[0] and "兑换不会减少" in explains[1]


def test_card_lists_deduction_rules_from_the_rule_book(app, client, scene):
    html = html_of(client.get(f"/h/{scene.tokens[0]}"))
    with app.app_context():
        negative = {v.name for v in db.session.execute(select(RuleVersion)).scalars() if v.points < 0}
    assert negative
    section = html.split('id="deductions"', 1)[1].split("</ul>", 1)[0]
    assert {n for n in negative if n in section} == negative
    assert "哪些行为会扣分" in html


def test_committee_phone_on_card_notice_and_printed_cards(app, client, scene):
    for url in (f"/h/{scene.tokens[0]}", f"/notice?village={scene.village}"):
        assert 'id="phone"' not in html_of(client.get(url))  # not set: nothing shown
    with app.app_context():
        db.session.get(Village, scene.village).committee_phone = "0743-5551234"
        db.session.commit()
    for url in (f"/h/{scene.tokens[0]}", f"/notice?village={scene.village}"):
        page = html_of(client.get(url))
        assert re.search(r'id="phone".*href="tel:07435551234">0743-5551234<', page, re.S), url
    assert login(client, "admin1").status_code == 302
    cards = html_of(client.get("/cards?group=all"))
    assert cards.count("村委会电话：0743-5551234") == len(scene.households)


def test_missing_entry_report(app, client, scene):
    token = scene.tokens[2]
    resp = client.post(f"/h/{token}/missing", data={"reason": "11月3日参加了清扫村道，没有记分", "day": ""})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#missing")
    with app.app_context():
        rows = db.session.execute(
            text("SELECT entry_id, household_id, status, reason, missing_on FROM objections")
        ).all()
    assert rows == [(None, scene.households[2], "open", "11月3日参加了清扫村道，没有记分", None)]
    page = html_of(client.get(f"/h/{token}"))
    missing = page.split('id="missing"', 1)[1].split("</section>", 1)[0]
    assert "清扫村道，没有记分" in missing and "等待答复" in missing
    # a bad day and an empty reason are refused with a clear message, nothing written
    client.post(f"/h/{token}/missing", data={"reason": "漏了", "day": "1999-01-01"})
    client.post(f"/h/{token}/missing", data={"reason": "  ", "day": ""})
    page = html_of(client.get(f"/h/{token}"))
    assert "最近三个月" in page and "请简单写一下漏记了什么" in page
    with app.app_context():
        assert db.session.execute(text("SELECT COUNT(*) FROM objections")).scalar() == 1
    # staff see it, cannot "correct" it (no entry), and answer it
    client.post("/logout")
    assert login(client, "rev1").status_code == 302
    listing = html_of(client.get("/objections"))
    assert "漏记" in listing
    with app.app_context():
        oid = db.session.execute(text("SELECT id FROM objections")).scalar()
    resp = client.post(f"/objections/{oid}", data={"answer": "已补记", "outcome": "correct"}, follow_redirects=True)
    assert "请先通过录入补记积分" in resp.get_data(as_text=True)
    client.post(f"/objections/{oid}", data={"answer": "核实后已补记 5 分", "outcome": "uphold"})
    with app.app_context():
        row = db.session.execute(text("SELECT status, answer FROM objections")).one()
        assert tuple(row) == ("upheld", "核实后已补记 5 分")
    page = html_of(client.get(f"/h/{token}"))
    assert "核实后已补记 5 分" in page.split('id="missing"', 1)[1]


def test_missing_reports_share_the_daily_limit(app, client, scene):
    token = scene.tokens[3]
    for i in range(4):
        client.post(f"/h/{token}/missing", data={"reason": f"漏记 {i}"})
    with app.app_context():
        assert db.session.execute(text("SELECT COUNT(*) FROM objections")).scalar() == 3


def test_language_switch_is_in_the_footer(client, scene):
    html = html_of(client.get(f"/h/{scene.tokens[0]}"))
    header = html.split("<header", 1)[1].split("</header>", 1)[0]
    footer = html.split("<footer", 1)[1].split("</footer>", 1)[0]
    assert 'class="lang"' not in header and 'class="lang"' in footer and "English" in footer


def test_admin_pages_link_to_cards_and_warn_without_base_url(app, client, scene):
    assert login(client, "admin1").status_code == 302
    admin = html_of(client.get("/admin/settings"))
    assert 'href="/cards"' in admin
    app.config["POINTSAPP_BASE_URL"] = ""
    for url in ("/cards", "/cards?group=all"):
        page = html_of(client.get(url))
        assert 'id="base-url-warning"' in page and "POINTSAPP_BASE_URL" in page and "http://localhost/" in page
    app.config["POINTSAPP_BASE_URL"] = "https://points.example.cn"
    for url in ("/cards", "/cards?group=all"):
        assert 'id="base-url-warning"' not in html_of(client.get(url))
