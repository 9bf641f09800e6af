"""Villager pages in real Chromium at phone sizes with WeChat's user agent, JavaScript off:
the card page (balance, objecting), the board, the 公示, a printed card sheet, and the
phone budgets (printed)."""

from __future__ import annotations

import gzip
import io
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.notice import current_notice
from pointsapp.points.objections import Objection
from pointsapp.points.registry import Household, Village
from pointsapp.points.standings import balance, leaderboard
from pointsapp.points.names import mask_name
from tests.browser import PHONE, SMALL_PHONE, WECHAT_UA, screenshot, sign_in_page

pytestmark = pytest.mark.browser
VIEWPORTS = {"360": SMALL_PHONE, "375": PHONE}
TAPPABLE = "main a, main button, main summary, main input:not([type=hidden]), main textarea, main select, header a"


def phone_page(browser, viewport, js=False):
    ctx = browser.new_context(
        viewport=viewport, user_agent=WECHAT_UA, locale="zh-CN", device_scale_factor=1, java_script_enabled=js
    )
    page = ctx.new_page()
    page.requests = []
    page.on("request", lambda req: page.requests.append(req.url))
    return page


def check_phone_budgets(page, server_url: str, name: str, width: int) -> dict:
    """Measure what the phone budgets ask; returns the figures (printed by callers)."""
    hosts = {urlparse(u).netloc for u in page.requests if not u.startswith(("data:", "about:"))}
    font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    small = page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].filter(el => {
        const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && (r.height < 44 || r.width < 44);
      }).map(el => el.tagName + ' ' + (el.textContent || el.name || '').trim().slice(0, 20) + ' '
             + Math.round(el.getBoundingClientRect().width) + 'x' + Math.round(el.getBoundingClientRect().height))""",
        TAPPABLE,
    )
    taps = page.evaluate(
        """(sel) => Math.min(...[...document.querySelectorAll(sel)].map(el => el.getBoundingClientRect())
        .filter(r => r.width > 0 && r.height > 0).map(r => Math.min(r.width, r.height)))""",
        TAPPABLE,
    )
    figures = {
        "page": name,
        "width": width,
        "other_hosts": sorted(hosts - {urlparse(server_url).netloc}),
        "requests": len(page.requests),
        "base_font_px": font,
        "scroll_width": scroll,
        "smallest_tap_px": round(taps, 1),
        "too_small": small,
    }
    print(f"\nphone budget {figures}")
    assert figures["other_hosts"] == []
    assert font >= 18
    assert scroll <= width
    assert small == []
    return figures


def gzipped_size(client, url: str) -> tuple[int, int]:
    html = client.get(url).data
    css = client.get("/static/app.css").data + client.get("/static/villagers.css").data
    return len(html) + len(css), len(gzip.compress(html + css, 9))


def test_page_weight_budget(client, scene):
    for url in (f"/h/{scene.tokens[0]}", "/board", "/board?show=people"):
        raw, packed = gzipped_size(client, url)
        print(f"\npage weight {url.split('?')[0][:8]}: HTML+CSS {raw} bytes, gzipped {packed} bytes (budget 30720)")
        assert packed <= 30 * 1024


@pytest.mark.parametrize("size", ["360", "375"])
def test_card_page_read_balance_and_object(app, live_server, browser, scene, size):
    viewport = VIEWPORTS[size]
    page = phone_page(browser, viewport)
    token, entry = scene.tokens[0], scene.entries["h0_dj"]
    page.goto(f"{live_server.url}/h/{token}")
    with app.app_context():
        bal = balance(db.session, household=db.session.get(Household, scene.households[0]))
    assert page.inner_text("#redeemable").strip() == str(bal.redeemable)
    assert page.inner_text("#honour").strip() == str(bal.honour)
    assert "可兑换" in page.inner_text("#balance")
    check_phone_budgets(page, live_server.url, "card", viewport["width"])
    screenshot(page, f"villager-card-{size}")
    item = page.locator(f"#e{entry}")
    item.locator("summary").click()
    item.locator("textarea").fill("那天我在外地，没有参加")
    screenshot(page, f"villager-card-objecting-{size}")
    item.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "异议已记录" in page.inner_text("main")
    assert "那天我在外地，没有参加" in page.locator(f"#e{entry}").inner_text()
    screenshot(page, f"villager-card-objected-{size}")
    with app.app_context():
        obj = db.session.execute(select(Objection)).scalar_one()
        assert obj.entry_id == entry and obj.reason == "那天我在外地，没有参加"
    page.context.close()


@pytest.mark.parametrize("size", ["360", "375"])
def test_board_names_masked(app, live_server, browser, scene, size):
    viewport = VIEWPORTS[size]
    page = phone_page(browser, viewport)
    page.goto(f"{live_server.url}/board")
    check_phone_budgets(page, live_server.url, "board", viewport["width"])
    screenshot(page, f"villager-board-{size}")
    text = page.inner_text("main")
    with app.app_context():
        rows = leaderboard(db.session, "household", scene.month, village=db.session.get(Village, scene.village))
    shown = [
        [c.inner_text().strip() for c in tr.query_selector_all("td")][:4]
        for tr in page.query_selector_all("#board-table tbody tr")
    ]
    assert shown == [
        [str(r.rank) if r.rank is not None else "—", mask_name(r.name), r.group, str(r.points)] for r in rows
    ]
    assert "红榜" in text and "向*华" in text and "向明华" not in text
    page.click("#list .pick a:has-text('个人')")
    screenshot(page, f"villager-board-people-{size}")
    text = page.inner_text("main")
    assert "谭*" in text and "谭高" not in text
    check_phone_budgets(page, live_server.url, "board-people", viewport["width"])
    page.context.close()


@pytest.mark.parametrize("size", ["360", "375"])
def test_notice_shows_digest(app, live_server, browser, scene, size):
    viewport = VIEWPORTS[size]
    page = phone_page(browser, viewport)
    page.goto(f"{live_server.url}/notice")
    with app.app_context():
        n = current_notice(db.session, db.session.get(Village, scene.village))
    assert page.inner_text("#notice-digest").strip() == n.digest
    assert "异议受理时间" in page.inner_text("main")
    check_phone_budgets(page, live_server.url, "notice", viewport["width"])
    screenshot(page, f"villager-notice-{size}")
    page.goto(f"{live_server.url}/rules")
    check_phone_budgets(page, live_server.url, "rules", viewport["width"])
    screenshot(page, f"villager-rules-{size}")
    page.context.close()


def test_printed_card_sheet_qr_codes_decode(app, live_server, browser, scene):
    """14 households print on two A4 pages (8 + 6 cards); every QR decodes to its card link."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    with app.app_context():
        group_id = db.session.get(Household, scene.households[0]).group_id
        db.session.add_all(
            [Household(village_id=scene.village, group_id=group_id, number=f"2{i:02d}") for i in range(10)]
        )
        db.session.commit()
        tokens = db.session.execute(select(Household.card_token)).scalars().all()
    ctx = browser.new_context(viewport={"width": 900, "height": 1200}, device_scale_factor=2, locale="zh-CN")
    page = ctx.new_page()
    sign_in_page(page, live_server.url, "admin1")
    page.goto(f"{live_server.url}/cards?group=all")
    page.emulate_media(media="print")
    cards = page.query_selector_all(".hcard")
    assert len(cards) == 14
    found = []
    for card in cards:
        image = Image.open(io.BytesIO(card.screenshot()))
        found += [r.text for r in zxingcpp.read_barcodes(image)]
    assert sorted(found) == sorted(f"{live_server.url}/h/{t}" for t in tokens)
    screenshot(page, "villager-card-sheet")
    pdf = screenshot.__globals__["SCREENSHOTS"] / "villager-card-sheet.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    try:
        import pypdf
    except ImportError:
        pypdf = None
    if pypdf is not None:
        pages = pypdf.PdfReader(str(pdf)).pages
        assert len(pages) == 2 and round(float(pages[0].mediabox.height)) == 842  # two A4 sheets
    print(f"\nprinted card sheet: {len(found)} QR codes decoded to their card links, 2 A4 pages")
    page.emulate_media(media="screen")
    page.goto(f"{live_server.url}/cards/passbook/{scene.households[0]}")
    assert "积分存折" in page.inner_text("main") and "结余" in page.inner_text("main")
    screenshot(page, "villager-passbook")
    ctx.close()


def test_page_weight_budget_in_a_big_village(app, client, scene):
    """Paging keeps /board within budget for a village of 600 households and 1,800 people."""
    from pointsapp.points.registry import Villager

    with app.app_context():
        first = db.session.get(Household, scene.households[0])
        for n in range(600):
            h = Household(village_id=scene.village, group_id=first.group_id, number=f"9{n:03d}")
            db.session.add(h)
            db.session.flush()
            people = [Villager(village_id=scene.village, household_id=h.id, name=f"龙{n:03d}{k}") for k in range(3)]
            db.session.add_all(people)
            db.session.flush()
            h.head_id = people[0].id
        db.session.commit()
    for url in ("/board", "/board?show=people", "/board?show=people&page=18", f"/h/{scene.tokens[0]}"):
        resp = client.get(url)
        assert resp.status_code == 200
        raw, packed = gzipped_size(client, url)
        print(f"\npage weight, 600 households, {url[:24]}: HTML+CSS {raw} bytes, gzipped {packed} bytes")
        assert packed <= 30 * 1024


def test_english_pages_fit_a_small_phone(live_server, browser, scene):
    page = phone_page(browser, SMALL_PHONE)
    page.goto(f"{live_server.url}/lang/en?next=/h/{scene.tokens[1]}")
    assert "Redeemable" in page.inner_text("main")
    check_phone_budgets(page, live_server.url, "card-en", 360)
    screenshot(page, "villager-card-en-360")
    for url in ("/board", "/notice", "/rules"):
        page.goto(live_server.url + url)
        check_phone_budgets(page, live_server.url, url + "-en", 360)
    screenshot(page, "villager-rules-en-360")
    page.context.close()


def test_a_card_from_the_front_door_takes_an_objection_with_its_card_token(browser, tmp_path, monkeypatch, db_url):
    """CSRF checks on, as in production: the card page sets no cookie (its form token is bound to the card
    link), a second visit is answered from the page cache before Flask, and the objection posted from that
    page is recorded; a form whose token was tampered with is refused with the Chinese message."""
    from flask import request_started

    from tests.browser import LiveServer
    from tests.conftest import _reset_pg, close_app, make_app
    from tests.villagers.conftest import build_scene

    url = db_url if "postgresql" in db_url else f"sqlite:///{tmp_path}/csrf.db"
    app = make_app(url, tmp_path / "instance-csrf", monkeypatch, WTF_CSRF_ENABLED=True)
    with app.app_context():
        sc = build_scene(db.session)
    reached: list[str] = []
    request_started.connect(lambda sender, **_: reached.append("flask"), app)
    try:
        with LiveServer(app) as server:
            page = phone_page(browser, SMALL_PHONE)
            token, entry = sc.tokens[0], sc.entries["h0_dj"]
            page.goto(f"{server.url}/h/{token}")
            assert page.context.cookies() == []
            reached.clear()
            page.goto(f"{server.url}/h/{token}")
            assert reached == [], "the second visit should come from the front door"
            item = page.locator(f"#e{entry}")
            item.locator("summary").click()
            item.locator("textarea").fill("这条记错了")
            item.locator("input[name=csrf_token]").evaluate("el => el.value = el.value.slice(0, -2) + 'xx'")
            item.locator("button[type=submit]").click()
            page.wait_for_load_state()
            assert "表单已过期" in page.inner_text("main")
            screenshot(page, "villager-card-expired-form-360")
            page.goto(f"{server.url}/h/{token}")
            item = page.locator(f"#e{entry}")
            item.locator("summary").click()
            item.locator("textarea").fill("这条记错了")
            item.locator("button[type=submit]").click()
            page.wait_for_load_state()
            assert "异议已记录" in page.inner_text("main")
            page.context.close()
        with app.app_context():
            rows = db.session.execute(select(Objection.entry_id, Objection.reason)).all()
            assert rows == [(entry, "这条记错了")]
    finally:
        close_app(app)
        if "postgresql" in db_url:
            _reset_pg(db_url)
