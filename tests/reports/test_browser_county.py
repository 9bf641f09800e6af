"""The county page at 360 px: the process-health table scrolls inside its box, the page does not."""

from __future__ import annotations

import pytest

from tests.browser import SMALL_PHONE, new_page, screenshot, sign_in_page
from tests.reports.test_browser_dashboard import UA
from tests.reports.test_web import seeded  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_county_health_at_360(app, seeded, live_server, browser):  # noqa: F811
    page = new_page(browser, viewport=SMALL_PHONE, user_agent=UA)
    sign_in_page(page, live_server.url, "county1")
    page.goto(f"{live_server.url}/county")
    assert page.locator("[data-testid=health] tbody tr").count() == 2
    assert "未发布" in page.inner_text("[data-testid=health]")
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    page.locator(".charts img").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('.charts img').naturalWidth === 680", timeout=60_000)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "hall-county-360")
    page.context.close()
