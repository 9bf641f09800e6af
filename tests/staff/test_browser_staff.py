"""Browser tests in real Chromium: the grid worker on a phone, the reviewer on a desktop."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pointsapp.extensions import db
from pointsapp.points.capture import Line, capture
from pointsapp.points.ledger import LedgerEntry, Submission, SubmissionStatus
from pointsapp.points.objections import Objection, raise_objection
from pointsapp.points.periods import month_key
from pointsapp.points.registry import Group, Household, StaffUser, Village, Villager
from tests.browser import DESKTOP, PHONE, new_page, screenshot, sign_in_page
from tests.staff.conftest import add_people, last_month_day, make_activity

pytestmark = pytest.mark.browser
LIVE = (SubmissionStatus.pending, SubmissionStatus.approved)


class Taps:
    """Counts the taps (clicks) the test performs, as a user would."""

    def __init__(self):
        self.count = 0

    def __call__(self, locator):
        locator.click()
        self.count += 1


def test_grid_worker_captures_30_people_on_a_phone(app, world, live_server, browser):
    add_people(app, world, 26)  # 第一组 now has 5 + 26 = 31 people
    aid = make_activity(app, world, title="清廉党课")
    with app.app_context():
        g1 = db.session.execute(select(Group).order_by(Group.sort_key)).scalars().first()
        people = list(
            db.session.execute(
                select(Villager.id)
                .join(Household, Villager.household_id == Household.id)
                .where(Household.group_id == g1.id)
            ).scalars()
        )
    assert len(people) == 31
    page = new_page(browser, PHONE)
    tap = Taps()
    sign_in_page(page, live_server.url, "grid1", tap=tap, shot="staff-login-phone")
    assert page.url.endswith("/capture")
    screenshot(page, "staff-capture-start-phone")
    tap(page.get_by_role("link", name="清廉党课"))
    page.wait_for_url(f"**/activities/{aid}/capture")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
    marks = page.locator("label.mark:has(input[name=p])")
    assert marks.count() == 31
    box = marks.first.bounding_box()
    assert box["height"] >= 44
    for i in range(30):
        tap(marks.nth(i))
    assert page.locator("#marked-count").inner_text() == "30"
    screenshot(page, "staff-capture-marked-phone")
    tap(page.locator("#submit-capture"))
    page.wait_for_url("**/capture/result/**")
    result_url = page.url
    print(f"\ntaps to record 30 people (sign-in, activity, 30 marks, submit): {tap.count}")
    assert tap.count <= 40
    assert page.locator("tr[data-status=pending]").count() == 30
    screenshot(page, "staff-capture-result-phone")

    # Back: the 30 are shown as recorded and can't be ticked again; the count is right (0).
    page.go_back()
    page.wait_for_url(f"**/activities/{aid}/capture")
    page.wait_for_function("() => document.getElementById('marked-count').textContent === '0'")
    recorded = page.locator("input[name=p]:checked:disabled")
    assert recorded.count() == 30
    assert page.locator("label.mark:has(input[name=p]:disabled) b.tag").count() == 30
    marks.first.click(force=True)  # a tap on a recorded person changes nothing
    assert page.locator("#marked-count").inner_text() == "0"
    screenshot(page, "staff-capture-back-phone")
    # A double tap on submit: both submits carry the one key; one batch.
    page.locator("label.mark:has(input[name=p]:not(:disabled))").first.click()
    assert page.locator("#marked-count").inner_text() == "1"
    key = page.locator("input[name=key]").input_value()
    page.locator("#submit-capture").dblclick()
    page.wait_for_url("**/capture/result/**")
    with app.app_context():
        from pointsapp.points.ledger import CaptureBatch

        assert (
            db.session.execute(
                select(func.count()).select_from(CaptureBatch).where(CaptureBatch.key == key)
            ).scalar_one()
            == 1
        )
    with app.app_context():
        counts = dict(
            db.session.execute(
                select(Submission.villager_id, func.count())
                .where(Submission.status.in_(LIVE))
                .group_by(Submission.villager_id)
            ).all()
        )
    assert {p: counts.get(p, 0) for p in people} == dict.fromkeys(people, 1)
    page.goto(result_url)
    assert page.locator("tr[data-status=pending]").count() == 30


def test_search_by_pinyin_initials_on_a_phone(app, world, live_server, browser):
    aid = make_activity(app, world, group_index=None, by="admin1")
    page = new_page(browser, PHONE)
    sign_in_page(page, live_server.url, "admin1")
    page.goto(f"{live_server.url}/activities/{aid}/capture")
    page.fill("#find", "xmh")
    visible = page.locator("[data-person]:visible")
    assert visible.count() == 1 and "向明华" in visible.inner_text()
    page.fill("#find", "ymj")  # 杨明𠮷: a character pypinyin does not know
    assert "杨明𠮷" in page.locator("[data-person]:visible").inner_text()
    page.fill("#find", "䶮")
    assert "贾德䶮" in page.locator("[data-person]:visible").inner_text()
    screenshot(page, "staff-capture-search-phone")
    page.fill("#find", "")
    page.locator("fieldset.hh").nth(1).locator("input[data-household]").check()  # one tap: whole household
    assert page.locator("#marked-count").inner_text() == "3"
    page.locator("#submit-capture").click()
    page.wait_for_url("**/capture/result/**")
    assert page.locator("tr[data-status=pending]").count() == 3
    page.goto(f"{live_server.url}/activities/{aid}/sheet")
    page.emulate_media(media="print")
    screenshot(page, "staff-sign-in-sheet-print")
    page.emulate_media(media="screen")
    page.goto(f"{live_server.url}/activities/new")
    screenshot(page, "staff-activity-new-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.goto(f"{live_server.url}/awards/new")
    screenshot(page, "staff-award-phone")
    page.goto(f"{live_server.url}/close")
    screenshot(page, "staff-month-close-phone")
    page.goto(f"{live_server.url}/capture/mine")
    screenshot(page, "staff-my-captures-phone")


def test_reviewer_approves_publishes_and_corrects_on_a_desktop(app, world, live_server, browser):
    with app.app_context():
        village = db.session.get(Village, world["village"])
        grid = db.session.get(StaffUser, world["users"]["grid1"])
        capture(
            db.session,
            actor=grid,
            village=village,
            key="desk",
            lines=[Line(villager_id=p) for p in world["people"][0] + world["people"][1]],
            rule_code="LJ-01",
            occurred_on=last_month_day(),
        )
        db.session.commit()
    page = new_page(browser, DESKTOP)
    sign_in_page(page, live_server.url, "rev1")
    assert page.url.endswith("/review")
    screenshot(page, "staff-review-queue-desktop")
    page.locator("#tick-all").check()
    page.locator("#approve").click()
    page.wait_for_load_state()
    assert "已审核通过 5 条记录" in page.content()
    screenshot(page, "staff-review-approved-desktop")

    month = month_key(last_month_day())
    page.goto(f"{live_server.url}/notices")
    page.select_option("#month", month)
    page.locator("#publish").click()
    page.wait_for_load_state()
    screenshot(page, "staff-notice-confirm-desktop")
    page.locator("#confirm").check()
    page.locator("#publish-confirm").click()
    page.wait_for_url(f"**/notices/{month}")
    assert "向明华" in page.content() and "异议受理时间" in page.content()
    screenshot(page, "staff-notice-desktop")
    page.goto(f"{live_server.url}/notices/{month}/print")
    page.emulate_media(media="print")
    screenshot(page, "staff-notice-print-a4")
    page.emulate_media(media="screen")

    with app.app_context():  # a villager objects from their card page (villagers feature)
        entry = db.session.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars().first()
        raise_objection(db.session, entry, db.session.get(Household, entry.household_id), "那天我不在村里")
        db.session.commit()
        entry_id = entry.id
    page.goto(f"{live_server.url}/objections")
    screenshot(page, "staff-objections-desktop")
    page.get_by_role("link", name="待处理").click()
    page.locator("input[value=correct]").check()
    page.fill("#answer", "核对签到表后确认缺席，予以更正")
    page.locator("#resolve").click()
    page.wait_for_load_state()
    assert page.locator("#objection-status").inner_text() == "已更正"
    screenshot(page, "staff-objection-corrected-desktop")
    with app.app_context():
        obj = db.session.execute(select(Objection)).scalar_one()
        correction = db.session.get(LedgerEntry, obj.correction_id)
        assert correction.corrects_id == entry_id and correction.points == -3
