"""The CSP (no inline script or style) keeps every page working, in real Chromium at phone size:
no CSP violation and no script error on the pages of each role, the print buttons and the
review page's "tick all" still work, and the dashboard's bars keep their widths."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.capture import Line, capture
from pointsapp.points.periods import month_key
from pointsapp.points.registry import Household, StaffUser, Village
from tests.browser import PHONE, new_page, screenshot
from tests.security.conftest import PASSWORD
from tests.staff.conftest import make_activity, today

pytestmark = pytest.mark.browser


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if (m.type == "error" and "Failed to load resource" not in m.text) or "Content Security Policy" in m.text
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} for {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    return problems


def _sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("button[type=submit]").last.click()
    page.wait_for_load_state()


@pytest.fixture
def world(app, app_world):
    from pointsapp.points.rules import Rule

    with app.app_context():
        rules = {r.code: r.id for r in db.session.execute(select(Rule)).scalars()}
    return {**app_world, "rules": rules}


def test_pages_work_under_the_csp(app, world, live_server, browser):
    aid = make_activity(app, world)
    with app.app_context():
        village = db.session.get(Village, world["village"])
        grid = db.session.get(StaffUser, world["users"]["grid1"])
        capture(
            db.session,
            actor=grid,
            village=village,
            key="csp",
            lines=[Line(villager_id=p) for p in world["people"][0]],
            rule_code="LJ-01",
            occurred_on=today(),
        )
        token = db.session.execute(select(Household.card_token)).scalars().first()
        db.session.commit()
    base = live_server.url
    month = month_key(today())
    pages = {
        None: ["/", "/board", "/rules", "/notice", f"/h/{token}", "/login"],
        "admin1": [
            "/staff",
            "/dashboard",
            "/admin/",
            "/admin/users",
            "/admin/rules",
            "/admin/households",
            "/cards",
            f"/cards/passbook/{world['households'][0]}",
            "/review",
            f"/activities/{aid}/capture",
            f"/activities/{aid}/sheet",
            "/notices",
            "/close",
            "/awards/new",
            "/admin/audit",
        ],
        "rev1": ["/review", "/objections"],
        "grid1": ["/capture", f"/activities/{aid}/capture", "/capture/mine", "/dashboard"],
    }
    for who, urls in pages.items():
        page = new_page(browser, PHONE)
        problems = _watch(page)
        if who:
            _sign_in(page, base, who)
        for url in urls:
            resp = page.goto(base + url)
            page.wait_for_load_state()
            assert resp.status < 400, f"{url} as {who}: {resp.status}"
            assert "'unsafe-inline'" not in (resp.headers.get("content-security-policy") or "")
        assert not problems, f"as {who}:\n" + "\n".join(problems)
        if who == "admin1":
            # the sign-in sheet's print button is shown and wired by page.js (not an onclick)
            page.goto(f"{base}/activities/{aid}/sheet")
            assert page.locator("[data-print]").is_visible()
            # the review page's tick-all
            page.goto(f"{base}/review")
            page.locator("#tick-all").check()
            boxes = page.locator("input[name=sub]")
            assert boxes.count() > 0 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
            # the dashboard's participation bars are sized by CSS classes (no style attributes)
            page.goto(f"{base}/dashboard")
            widths = page.eval_on_selector_all(".bar > span", "els => els.map(e => e.getBoundingClientRect().width)")
            assert widths and all(w >= 0 for w in widths)
            screenshot(page, "security-csp-dashboard-phone")
        page.context.close()
    assert month
