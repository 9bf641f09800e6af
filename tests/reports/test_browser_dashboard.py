"""The staff dashboard in real Chromium at desktop size, with a screenshot kept."""

from __future__ import annotations

import datetime as dt

import pytest

from pointsapp.extensions import db
from pointsapp.points.registry import Village
from tests.browser import DESKTOP, SMALL_PHONE, new_page, screenshot, sign_in_page
from tests.reports.conftest import post

pytestmark = pytest.mark.browser
UA = "Mozilla/5.0 (X11; Linux x86_64) pointsapp-tests Chrome/120 Safari/537.36"


def test_dashboard_at_desktop_size(app, app_world, live_server, browser):
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        p, h = app_world["people"], app_world["households"]
        today = dt.datetime.now(dt.timezone.utc)
        day = (today + dt.timedelta(hours=8)).date()
        post(
            db.session,
            v,
            [
                (p[0][0], "DJ-01", day, 1),
                (p[1][0], "ZY-01", day, 1),
                (("h", h[2]), "WM-02", day, 1),
                (p[3][1], "LJ-01", day, 1),
            ],
            now=today,
        )
        db.session.commit()
    page = new_page(browser, viewport=DESKTOP, user_agent=UA)
    sign_in_page(page, live_server.url, "admin1")
    page.goto(f"{live_server.url}/dashboard")
    assert page.locator("h1").inner_text().startswith("龙天坪村")
    images = page.locator(".charts img")
    assert images.count() == 4
    for i in range(4):
        images.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.charts img')].every(i => i.complete && i.naturalWidth === 1440)",
        timeout=60_000,
    )
    assert page.locator("[data-testid=board] tbody tr").count() == 4
    # drawn at the size shown: 720 CSS px wide on a desktop, at 2x pixel density
    assert page.evaluate("[...document.querySelectorAll('.charts img')].map(i => i.clientWidth)") == [720] * 4
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.select_option("#period", "all")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**period=all**")
    for i in range(4):  # lazy images load as they come into view
        page.locator(".charts img").nth(i).scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.charts img')].every(i => i.complete && i.naturalWidth === 1440)",
        timeout=60_000,
    )
    path = screenshot(page, "reports-dashboard")
    assert path.stat().st_size > 20_000
    page.context.close()

    phone = new_page(browser, viewport=SMALL_PHONE, user_agent=UA)  # phone first: no sideways scroll
    sign_in_page(phone, live_server.url, "admin1")
    phone.goto(f"{live_server.url}/dashboard")
    wide = phone.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
        .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 5)""")
    assert phone.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"], wide
    # on a phone the charts come in the phone size, drawn for the box they are shown in
    for i in range(4):
        phone.locator(".charts img").nth(i).scroll_into_view_if_needed()
    phone.wait_for_function(
        "() => [...document.querySelectorAll('.charts img')].every(i => i.complete && i.naturalWidth === 680)",
        timeout=60_000,
    )
    assert all(
        "size=phone" in src
        for src in phone.evaluate("[...document.querySelectorAll('.charts img')].map(i => i.currentSrc)")
    )
    shown = phone.evaluate("[...document.querySelectorAll('.charts img')].map(i => i.clientWidth)")
    assert all(300 <= w <= 340 for w in shown), shown  # about half the drawn pixels: 2x density
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, "hall-dashboard-360")
    phone.context.close()
