"""Browser tests in real Chromium at desktop size: a rule edit with dry run and confirm, and a
roster import with a bad row (the preview shows it; the fixed file is then imported)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pointsapp.extensions import db
from pointsapp.points.registry import Household, Role, StaffUser, Village, Villager
from pointsapp.points.rules import Rule
from tests.browser import DESKTOP, new_page, screenshot, sign_in_page
from tests.conftest import PASSWORD

from .test_roster import GOOD, xlsx

pytestmark = pytest.mark.browser


def test_rule_edit_with_dry_run_and_confirm(app, app_world, live_server, browser):
    page = new_page(browser, DESKTOP)
    sign_in_page(page, live_server.url, "admin1")
    page.goto(f"{live_server.url}/admin/rules")
    assert page.locator("text=党建引领").first.is_visible()
    screenshot(page, "admin-rules-table")
    page.locator("a[href$='/admin/rules/DJ-01/edit']").click()
    page.wait_for_url("**/admin/rules/DJ-01/edit")
    page.fill("#points", "8")
    page.fill("#effective_from", "2026-12-01")
    page.fill("#version_note", "2026年11月村民代表大会")
    page.locator("#preview").click()
    page.wait_for_load_state()
    diff = page.locator("#diff")
    assert diff.is_visible()
    assert "8" in diff.inner_text() and "2026-12-01" in diff.inner_text()
    with app.app_context():  # the dry run saved nothing
        rule = db.session.execute(select(Rule).where(Rule.code == "DJ-01")).scalar_one()
        assert len(rule.versions) == 1
    screenshot(page, "admin-rule-dry-run")
    page.locator("#confirm").click()
    page.wait_for_url("**/admin/rules/DJ-01")
    assert page.locator("#history tbody tr").count() == 2
    assert "2026-12-01" in page.locator("#history").inner_text()
    screenshot(page, "admin-rule-version-2")
    with app.app_context():
        rule = db.session.execute(select(Rule).where(Rule.code == "DJ-01")).scalar_one()
        assert [(v.version, v.points) for v in rule.versions] == [(1, 5), (2, 8)]
    page.goto(f"{live_server.url}/admin/audit")
    assert "rule.change" in page.locator("#audit").inner_text()
    screenshot(page, "admin-audit-log")
    page.goto(f"{live_server.url}/admin/users")
    screenshot(page, "admin-users")


@pytest.fixture
def fresh(app):
    with app.app_context():
        v = Village(name="新村")
        db.session.add(v)
        db.session.flush()
        u = StaffUser(username="fresh-admin", role=Role.admin, village_id=v.id)
        u.set_password(PASSWORD)
        db.session.add(u)
        db.session.commit()
        return v.id


def _count(app, village_id):
    with app.app_context():
        return db.session.execute(select(func.count(Villager.id)).where(Villager.village_id == village_id)).scalar()


def test_roster_import_with_a_bad_row(app, fresh, live_server, browser, tmp_path):
    bad_rows = [list(r) for r in GOOD]
    bad_rows[1][6] = "X"  # Excel row 4: sex must be 男 or 女
    bad = tmp_path / "花名册.xlsx"
    bad.write_bytes(xlsx(bad_rows))
    good = tmp_path / "花名册-改正.xlsx"
    good.write_bytes(xlsx(GOOD))

    page = new_page(browser, DESKTOP)
    sign_in_page(page, live_server.url, "fresh-admin")
    page.goto(f"{live_server.url}/admin/roster")
    screenshot(page, "admin-roster-upload")
    page.set_input_files("#file", str(bad))
    page.locator("form[enctype] button[type=submit]").click()
    page.wait_for_url("**/admin/roster/preview/**")
    errors = page.locator("#errors tbody tr")
    assert errors.count() == 1
    cells = errors.first.locator("td").all_inner_texts()
    assert cells[:3] == ["4", "性别", "X"]
    assert page.locator("#confirm").count() == 0
    screenshot(page, "admin-roster-preview-bad-row")
    assert _count(app, fresh) == 0

    page.goto(f"{live_server.url}/admin/roster")
    page.set_input_files("#file", str(good))
    page.locator("form[enctype] button[type=submit]").click()
    page.wait_for_url("**/admin/roster/preview/**")
    assert page.locator("#errors").count() == 0
    assert page.locator("#rows tbody tr").count() == 3
    screenshot(page, "admin-roster-preview-ok")
    page.locator("#confirm").click()
    page.wait_for_url("**/admin/roster")
    assert page.locator(".flash.success").is_visible()
    screenshot(page, "admin-roster-imported")
    assert _count(app, fresh) == 3
    with app.app_context():
        assert db.session.execute(select(func.count(Household.id)).where(Household.village_id == fresh)).scalar() == 2


def test_admin_pages_fit_a_small_phone(app, app_world, live_server, browser):
    from tests.browser import SMALL_PHONE

    page = new_page(browser, SMALL_PHONE)
    sign_in_page(page, live_server.url, "admin1")
    for path in (
        "/admin/",
        "/admin/households",
        f"/admin/villagers/{app_world['people'][0][0]}",
        "/admin/rules",
        "/admin/rules/DJ-01/edit",
        "/admin/users",
        "/admin/audit",
        "/admin/roster",
    ):
        page.goto(f"{live_server.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)
    page.goto(f"{live_server.url}/admin/households")
    screenshot(page, "admin-households-small-phone")
    page.goto(f"{live_server.url}/admin/villagers/{app_world['people'][0][0]}")
    screenshot(page, "admin-villager-small-phone")
