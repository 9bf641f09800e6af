"""The card at 360 px in Chromium (WeChat's user agent, no JavaScript): the headline, the
committee phone, reporting a missing entry, the language switch in the footer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.objections import Objection
from pointsapp.points.registry import Village
from tests.browser import SMALL_PHONE, screenshot
from tests.villagers.test_browser import check_phone_budgets, phone_page

pytestmark = pytest.mark.browser


def test_card_headline_phone_and_missing_entry_at_360(app, live_server, browser, scene):
    with app.app_context():
        db.session.get(Village, scene.village).committee_phone = "0743-5551234"
        db.session.commit()
    page = phone_page(browser, SMALL_PHONE)
    page.goto(f"{live_server.url}/h/{scene.tokens[1]}")
    headline = page.locator("#balance")
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.headline-number')).fontSize)")
    assert size >= 40 and headline.is_visible()
    assert page.locator("#balance").bounding_box()["y"] < SMALL_PHONE["height"]  # above the fold
    assert "0743-5551234" in page.inner_text("#phone")
    assert page.locator("footer a.lang").is_visible() and page.locator("header a.lang").count() == 0
    check_phone_budgets(page, live_server.url, "card-hall", SMALL_PHONE["width"])
    screenshot(page, "hall-card-360")
    page.locator("#missing summary").click()
    page.fill("#missing-reason", "上周六参加了清扫村道，卡上没有")
    screenshot(page, "hall-card-missing-360")
    page.locator("#missing button[type=submit]").click()
    page.wait_for_load_state()
    assert "已收到" in page.inner_text("main")
    assert "上周六参加了清扫村道" in page.inner_text("#missing")
    screenshot(page, "hall-card-missing-sent-360")
    with app.app_context():
        obj = db.session.execute(select(Objection)).scalar_one()
        assert obj.entry_id is None and obj.household_id == scene.households[1]
    page.context.close()
