"""The desk in real Chromium at phone size: scan (type) a card link, redeem two items, print the
receipt, try to overspend and see the refusal. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

from sqlalchemy import text

from pointsapp.extensions import db
from tests.browser import PHONE, new_page, screenshot
from tests.shop.web_helpers import PASSWORD, shop_world


def _sql(app, q, **p):
    with app.app_context():
        return db.session.execute(text(q), p).all()


def test_clerk_redeems_at_the_desk_on_a_phone(app, app_world, live_server, browser):
    w = shop_world(app, app_world, points=(60, 20, 0, 0))
    hid, token = w["households"][0], w["tokens"][0]
    page = new_page(browser, PHONE)
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "clerk1")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith("/desk")  # a clerk lands on the desk
    # The scan field has the focus: a scanner types the card link and presses Enter. (Autofocus lands
    # when the page has loaded: on a loaded machine that is after the navigation returns, so wait for it.)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'q'", timeout=5000)
    assert page.evaluate("document.activeElement.id") == "q"
    screenshot(page, "shop-desk-phone")
    page.keyboard.type(f"{live_server.url}/h/{token}")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/desk/h/{hid}")
    assert page.inner_text("#desk-redeemable").strip() == "60"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    page.fill(f"#qty-{w['items']['SOAP']}", "2")
    page.fill(f"#qty-{w['items']['RICE']}", "1")
    screenshot(page, "shop-household-phone")
    with page.expect_navigation():
        page.click("#redeem-submit")
    assert "/desk/receipt/" in page.url
    assert page.inner_text("#receipt-points").strip() == "45"
    assert page.inner_text("#receipt-balance").strip() == "15"
    assert "香皂" in page.inner_text("#receipt") and "大米" in page.inner_text("#receipt")
    screenshot(page, "shop-receipt-phone")
    # Print: the button calls the browser's print; the printed page shows the receipt only.
    page.evaluate("window.__printed = false; window.print = () => { window.__printed = true; }")
    page.click("#print")
    assert page.evaluate("window.__printed") is True
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden() and page.locator("#receipt").is_visible()
    screenshot(page, "shop-receipt-print")
    page.emulate_media(media="screen")
    # Try to overspend: 15 points left, rice costs 25.
    page.goto(f"{live_server.url}/desk/h/{hid}")
    page.fill(f"#qty-{w['items']['RICE']}", "1")
    with page.expect_navigation():
        page.click("#redeem-submit")
    refusal = page.inner_text(".flash.error")
    assert "积分不够" in refusal and "15" in refusal and "25" in refusal
    screenshot(page, "shop-refused-phone")
    assert _sql(app, "SELECT count(*), sum(points) FROM redemptions") == [(1, 45)]
    assert _sql(app, "SELECT sum(points) FROM ledger_entries WHERE household_id = :h", h=hid) == [(15,)]
    page.context.close()
