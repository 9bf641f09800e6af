"""The courtyard in real Chromium at phone size: a dead signal, a 150-person group, a slow link, a QR card.

Every step is checked against the database with raw SQL, never through the app's own services.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import time

import pytest
from sqlalchemy import select, text
from werkzeug.serving import make_server

from pointsapp.extensions import db
from pointsapp.points.capture import Line, capture
from pointsapp.points.registry import Group, Household, StaffUser, Village, Villager
from tests.browser import SCREENSHOTS, new_page, screenshot, sign_in_page
from tests.staff.conftest import PASSWORD, make_activity, today

pytestmark = pytest.mark.browser
PHONE_390 = {"width": 390, "height": 844}
PHONE_360 = {"width": 360, "height": 740}
# The page's queue in localStorage (staff-capture.js): one per signed-in user.
QUEUE_KEY = "'pa1:' + document.querySelector('form.capture-form').dataset.user + ':queue'"


class Signal:
    """A live server that can be switched off and on again on the same port (a dead signal that no
    browser emulation can leak through: the service worker's own fetches fail too)."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = None
        self._run()

    def _run(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def off(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def on(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._run()


@pytest.fixture
def signal(app):
    s = Signal(app)
    yield s
    try:
        s.off()
    except Exception:  # already off
        pass


def sql(app, query: str, **params):
    with app.app_context():
        return db.session.execute(text(query), params).all()


SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛"
GIVEN = ["建国", "秀英", "桂兰", "志强", "春梅", "德明", "玉珍", "海波", "丽华", "永红", "小龙", "金凤"]


def big_group(app, world, people: int = 150, per_household: int = 3) -> list[int]:
    """Fill grid1's group (第一组, 5 people) up to ``people`` with unique names; returns all its person ids."""
    with app.app_context():
        group = db.session.execute(select(Group).order_by(Group.sort_key)).scalars().first()
        existing = (
            db.session.execute(
                select(Villager.id)
                .join(Household, Villager.household_id == Household.id)
                .where(Household.group_id == group.id)
            )
            .scalars()
            .all()
        )
        n, hh_no = len(existing), 200
        while n < people:
            hh_no += 1
            h = Household(
                village_id=world["village"], group_id=group.id, number=str(hh_no), house_number=f"{hh_no:03d}"
            )
            db.session.add(h)
            db.session.flush()
            members = []
            for i in range(min(per_household, people - n)):
                name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]
                v = Villager(
                    village_id=world["village"], household_id=h.id, name=name, relation="户主" if i == 0 else "家属"
                )
                db.session.add(v)
                members.append(v)
                n += 1
            db.session.flush()
            h.head_id = members[0].id
        db.session.commit()
        ids = (
            db.session.execute(
                select(Villager.id)
                .join(Household, Villager.household_id == Household.id)
                .where(Household.group_id == group.id)
                .order_by(Villager.id)
            )
            .scalars()
            .all()
        )
    assert len(ids) == people
    return list(ids)


def _png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 200)).save(buf, "PNG")
    return buf.getvalue()


# --- 1. the dead signal ---------------------------------------------------------------------


def test_offline_capture_queues_survives_reload_and_syncs_once(app, world, signal, browser):
    people = big_group(app, world, 30)
    aid = make_activity(app, world, title="清廉党课")
    page = new_page(browser, PHONE_390, bypass_csp=True)  # wait_for_function evaluates strings
    ctx = page.context
    sign_in_page(page, signal.url, "grid1")
    assert page.url.endswith("/capture")
    # The start page has the worker's phone keep today's capture pages (each with its roster).
    page.wait_for_function(
        f"() => caches.open('pa-pages-v1').then(c => c.match('/activities/{aid}/capture')).then(r => !!r)",
        timeout=20000,
    )

    # 1. Open the capture page (with signal); the service worker keeps it for later.
    page.goto(f"{signal.url}/activities/{aid}/capture")
    page.wait_for_function(
        "() => navigator.serviceWorker.ready.then(r => r.active.state === 'activated')", timeout=20000
    )
    page.wait_for_function(
        "() => caches.open('pa-pages-v1').then(c => c.match(location.pathname)).then(r => !!r)", timeout=20000
    )
    page.wait_for_function("() => caches.keys().then(k => k.some(n => n.startsWith('pa-static-')))", timeout=20000)
    # Chromium on Linux has no BarcodeDetector: the bundled QR decoder is kept too, for scanning offline.
    page.wait_for_function(
        "() => caches.match(document.querySelector('form.capture-form').dataset.qrLib).then(r => !!r)", timeout=20000
    )
    screenshot(page, "courtyard-1-open")

    # 2. Go offline: the server is unreachable and the browser says so.
    signal.off()
    ctx.set_offline(True)
    assert page.evaluate("navigator.onLine") is False

    # 3. Tick 10 people and submit.
    marks = page.locator("label.mark:has(input[name=p])")
    for i in range(10):
        marks.nth(i).click()
    assert page.locator("#marked-count").inner_text() == "10"
    page.locator("summary").click()  # a photo of the sign-in sheet goes with the batch
    page.set_input_files(
        "input[name=photo]", files=[{"name": "sheet.png", "mimeType": "image/png", "buffer": _png_bytes()}]
    )
    page.locator("#submit-capture").click()
    status = page.locator("#sync")
    status.wait_for(state="visible")
    assert status.inner_text() == "已保存在手机上，有信号后自动提交 · 待提交 1 批"
    assert page.url.endswith(f"/activities/{aid}/capture")  # no browser error page
    assert page.locator("input[name=p]:checked:disabled").count() == 10
    assert page.locator("b.tag.queued").count() == 10
    assert page.locator("#marked-count").inner_text() == "0"
    queued = page.evaluate(f"JSON.parse(localStorage.getItem({QUEUE_KEY}))")
    assert len(queued) == 1 and len(queued[0]["p"]) == 10
    key = queued[0]["k"]
    assert sql(app, "SELECT count(*) FROM submissions WHERE activity_id = :a", a=aid) == [(0,)]
    # and two more ticks, not yet submitted
    marks.nth(10).click()
    marks.nth(11).click()
    screenshot(page, "courtyard-3-queued-offline")

    # 4. Reload while offline: the page opens from the phone; ticks and the queued batch are there.
    page.reload()
    page.wait_for_selector("#marked-count")
    page.wait_for_function("() => document.getElementById('marked-count').textContent === '2'")
    assert page.locator("input[name=p]:checked:disabled").count() == 10
    assert page.locator("b.tag.queued").count() == 10
    assert marks.nth(10).locator("input").is_checked() and marks.nth(11).locator("input").is_checked()
    assert status.inner_text() == "已保存在手机上，有信号后自动提交 · 待提交 1 批"
    assert sql(app, "SELECT count(*) FROM submissions WHERE activity_id = :a", a=aid) == [(0,)]
    screenshot(page, "courtyard-4-reloaded-offline")

    # 5. Signal returns: the batch is sent by itself, once.
    signal.on()
    ctx.set_offline(False)
    page.wait_for_function("() => document.querySelectorAll('b.tag.queued').length === 0", timeout=30000)
    status.wait_for(state="hidden")
    rows = sql(
        app,
        "SELECT s.villager_id FROM submissions s JOIN capture_batches b ON b.id = s.batch_id "
        "WHERE s.activity_id = :a AND b.key = :k AND s.status = 'pending'",
        a=aid,
        k=key,
    )
    ticked = sorted(int(v) for v in queued[0]["p"])
    assert sorted(r[0] for r in rows) == ticked and set(ticked) <= set(people)
    assert sql(app, "SELECT count(*) FROM capture_batches WHERE key = :k", k=key) == [(1,)]
    assert sql(app, "SELECT count(*) FROM submissions WHERE activity_id = :a", a=aid) == [(10,)]
    assert page.locator("input[name=p]:checked:not(:disabled)").count() == 2  # the unsent ticks stay
    [(batch_id,)] = sql(app, "SELECT id FROM capture_batches WHERE key = :k", k=key)
    from pointsapp.web.photos import capture_photo_rel, photo_path

    assert photo_path(app.instance_path, capture_photo_rel(world["village"], batch_id)) is not None  # the photo too
    screenshot(page, "courtyard-5-synced")

    # 6. Replay the same batch (e.g. a second tab kept it): nothing more is recorded.
    page.evaluate(f"q => localStorage.setItem({QUEUE_KEY}, JSON.stringify(q))", queued)
    page.reload()
    page.wait_for_function(f"() => localStorage.getItem({QUEUE_KEY}) === null", timeout=30000)
    assert sql(app, "SELECT count(*) FROM capture_batches WHERE key = :k", k=key) == [(1,)]
    assert sql(app, "SELECT count(*) FROM submissions WHERE activity_id = :a", a=aid) == [(10,)]
    assert sql(app, "SELECT count(*) FROM submissions") == [(10,)]
    # After the sync the page shows the ten as recorded: they can't be ticked again.
    assert page.locator("label.mark:has(input[name=p]:disabled) b.tag").count() == 10
    assert page.locator("#marked-count").inner_text() == "2"
    screenshot(page, "courtyard-6-replayed")


def test_a_capture_token_hours_old_still_submits(app, world, signal, browser, monkeypatch):
    """The form never expires: the ticks of a half-day activity are submitted hours later."""
    app.config["WTF_CSRF_ENABLED"] = True
    aid = make_activity(app, world)
    page = new_page(browser, PHONE_360)
    sign_in_page(page, signal.url, "grid1")
    import flask_wtf.csrf
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class FiveHoursAgo(TimestampSigner):
        def get_timestamp(self):
            return super().get_timestamp() - 5 * 3600

    class OldTokens(URLSafeTimedSerializer):
        default_signer = FiveHoursAgo

    with monkeypatch.context() as m:
        m.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", OldTokens)
        page.goto(f"{signal.url}/activities/{aid}/capture")  # its token signed 5 hours ago
    token = page.locator("form.capture-form input[name=csrf_token]").input_value()
    other_form = page.evaluate(
        "t => fetch('/logout', {method: 'POST', redirect: 'manual', body: new URLSearchParams("
        "{csrf_token: t}), credentials: 'same-origin'}).then(r => r.status)",
        token,
    )
    assert other_form == 400  # any other form refuses a token this old ("the form has expired")
    page.locator("label.mark:has(input[name=p])").first.click()
    page.locator("#submit-capture").click()
    page.wait_for_url("**/capture/result/**")
    assert sql(app, "SELECT count(*) FROM submissions WHERE activity_id = :a", a=aid) == [(1,)]


# --- 2. thirty of a 150-person group --------------------------------------------------------


def test_thirty_of_150_in_at_most_40_taps_and_3_screens(app, world, signal, browser):
    people = big_group(app, world, 150)
    regulars = people[5:150:4][:36]  # 36 people who came to the last two 党课
    earlier = [(today() - dt.timedelta(days=days), f"earlier-{days}") for days in (10, 3)]
    olds = [make_activity(app, world, held_on=held, title=f"党课 {key}") for held, key in earlier]
    with app.app_context():
        village = db.session.get(Village, world["village"])
        grid = db.session.get(StaffUser, world["users"]["grid1"])
        for aid_old, (held, key) in zip(olds, earlier, strict=True):
            capture(
                db.session,
                actor=grid,
                village=village,
                key=key,
                rule_code="LJ-01",
                occurred_on=held,
                activity_id=aid_old,
                lines=[Line(villager_id=p) for p in regulars],
            )
        db.session.commit()
    came = regulars[:26] + [p for p in people if p not in regulars][40:44]  # 26 regulars + 4 others
    aid = make_activity(app, world, title="清廉党课")
    with app.app_context():
        names = dict(db.session.execute(select(Villager.id, Villager.name).where(Villager.id.in_(came))).all())

    page = new_page(browser, PHONE_360)
    sign_in_page(page, signal.url, "grid1")
    taps = 1  # signing in
    page.locator(f"a[href$='/activities/{aid}/capture']").click()
    taps += 1
    page.wait_for_url(f"**/activities/{aid}/capture")
    page.evaluate("""() => { window.__scrolled = 0; let last = window.scrollY;
        window.addEventListener('scroll', () => { window.__scrolled += Math.abs(window.scrollY - last);
                                                   last = window.scrollY; }, {passive: true}); }""")
    assert page.locator("label.mark:has(input[name=p])").count() == 150
    screenshot(page, "courtyard-150-top")
    for pid in came[26:]:  # the four who don't usually come: found with the search box
        page.locator("#find").click()
        taps += 1
        page.fill("#find", names[pid])
        page.locator(f"label.mark:has(input[value='{pid}'])").click()
        taps += 1
    page.locator("#find").click()
    page.fill("#find", "")
    taps += 1  # clearing the search box (its ✕)
    for pid in came[:26]:  # the regulars are listed first
        page.locator(f"label.mark:has(input[value='{pid}'])").click()
        taps += 1
    assert page.locator("#marked-count").inner_text() == "30"
    screens = page.evaluate("window.__scrolled / window.innerHeight")
    screenshot(page, "courtyard-150-ticked")
    page.locator("#submit-capture").click()
    taps += 1
    page.wait_for_url("**/capture/result/**")
    print(f"\n30 of 150 people: {taps} taps, {screens:.2f} screens of scrolling (360x740)")
    assert taps <= 40
    assert screens <= 3
    rows = sql(app, "SELECT villager_id FROM submissions WHERE activity_id = :a AND status = 'pending'", a=aid)
    assert sorted(r[0] for r in rows) == sorted(came)


# --- 3. weight on a slow link ---------------------------------------------------------------


def test_capture_page_weight_and_cold_load_on_a_slow_link(app, world, signal, browser):
    big_group(app, world, 150)
    aid = make_activity(app, world, title="清廉党课")
    ctx = browser.new_context(viewport=PHONE_360, locale="zh-CN", device_scale_factor=1)
    resp = ctx.request.post(f"{signal.url}/login", data={"username": "grid1", "password": PASSWORD})
    assert resp.ok
    started = time.monotonic()
    assert ctx.request.get(f"{signal.url}/activities/{aid}/capture").ok  # the server warm (pinyin tables loaded)
    server_s = time.monotonic() - started
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 800, "downloadThroughput": 100_000 / 8, "uploadThroughput": 100_000 / 8},
    )
    urls, sizes, encodings = {}, {}, {}

    def received(e):
        urls[e["requestId"]] = e["response"]["url"]
        headers = {k.lower(): v for k, v in e["response"]["headers"].items()}
        encodings[e["requestId"]] = headers.get("content-encoding", "")

    cdp.on("Network.responseReceived", received)
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    started = time.monotonic()
    page.goto(f"{signal.url}/activities/{aid}/capture", wait_until="load", timeout=60000)
    cold = time.monotonic() - started
    timing = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {load: n.loadEventEnd, dcl: n.domContentLoadedEventEnd, html: n.encodedBodySize,"
        " decoded: n.decodedBodySize}; })()"
    )
    page.wait_for_timeout(500)
    loaded = {urls[r]: (sizes.get(r, 0), encodings.get(r, "")) for r in urls if r in sizes}
    path = f"/activities/{aid}/capture"
    lines = [f"  {size:>7,} B  {enc or 'identity':8} {u.replace(signal.url, '')}" for u, (size, enc) in loaded.items()]
    first_load = {u: v for u, v in loaded.items() if "/capture/sw.js" not in u}
    total = sum(size for size, _enc in first_load.values())
    report = (
        f"capture page, 150 people, cold on 100 kbit/s + 800 ms: load event {timing['load'] / 1000:.2f} s "
        f"(DOMContentLoaded {timing['dcl'] / 1000:.2f} s, wall {cold:.2f} s); HTML {timing['html']:,} B "
        f"gzipped of {timing['decoded']:,} B; all requests {total:,} B on the wire; "
        f"server render without throttling {server_s:.2f} s\n" + "\n".join(lines)
    )
    print("\n" + report)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "capture-weight.txt").write_text(report + "\n")
    assert loaded[f"{signal.url}{path}"][1] == "gzip"
    assert timing["html"] <= 10 * 1024  # the page itself: at most 10 KB compressed
    assert all(enc == "gzip" for u, (size, enc) in loaded.items() if size > 1500 and "/static/" in u)
    assert timing["load"] / 1000 < 4.0  # was 7.3 s before gzip and versioned static files
    screenshot(page, "courtyard-cold-load")
    ctx.close()


# --- 4. scanning a household card ---------------------------------------------------------


def _y4m(png: bytes, path) -> None:
    """A one-frame Y4M video (Chromium's fake camera loops it) showing the QR code on white."""
    from PIL import Image

    w, h = 640, 480
    qr = Image.open(io.BytesIO(png)).convert("L")
    frame = Image.new("L", (w, h), 255)
    frame.paste(qr, ((w - qr.width) // 2, (h - qr.height) // 2))
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        fh.write(b"FRAME\n" + frame.tobytes() + bytes([128]) * (w * h // 2))


def test_scanning_a_household_card_ticks_the_household(app, world, signal, browser, tmp_path):
    import segno

    from tests.browser import CHROMIUM

    aid = make_activity(app, world, "WM-02")  # a per-household rule
    h1 = world["households"][0]
    with app.app_context():
        token = db.session.get(Household, h1).card_token
    buf = io.BytesIO()
    segno.make(f"https://points.example.cn/h/{token}", error="m").save(buf, kind="png", scale=8, border=4)
    video = tmp_path / "card.y4m"
    _y4m(buf.getvalue(), video)
    if True:  # a browser of its own: the fake camera is a launch option
        b = browser.browser_type.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
        )
        try:
            ctx = b.new_context(viewport=PHONE_390, locale="zh-CN", permissions=["camera"], bypass_csp=True)
            page = ctx.new_page()
            sign_in_page(page, signal.url, "grid1")
            page.goto(f"{signal.url}/activities/{aid}/capture")
            assert not page.locator(f"input[name=h][value='{h1}']").is_checked()
            detector = page.evaluate("'BarcodeDetector' in window")
            page.locator("#scan").click()
            page.wait_for_function(
                f"() => document.querySelector(\"input[name=h][value='{h1}']\").checked", timeout=20000
            )
            used_bundled = page.evaluate("typeof window.jsQR === 'function'")
            print(
                f"\nscanned with {'the bundled jsQR' if used_bundled else 'BarcodeDetector'}"
                f" (BarcodeDetector present: {detector})"
            )
            assert "向明华" in page.locator("#scan-msg").inner_text()
            screenshot(page, "courtyard-scan")
            page.locator("#scan-stop").click()
            page.locator("#submit-capture").click()
            page.wait_for_url("**/capture/result/**")
        finally:
            b.close()
    assert sql(app, "SELECT household_id, villager_id FROM submissions WHERE activity_id = :a", a=aid) == [(h1, None)]


# --- 5. hours tick the person ---------------------------------------------------------------


def test_typing_hours_ticks_the_person(app, world, signal, browser):
    aid = make_activity(app, world, "ZY-02")  # points per hour
    a = world["people"][0][0]
    page = new_page(browser, PHONE_360)
    sign_in_page(page, signal.url, "grid1")
    page.goto(f"{signal.url}/activities/{aid}/capture")
    page.fill(f"input[name='q-{a}']", "3")
    assert page.locator(f"input[name=p][value='{a}']").is_checked()
    assert page.locator("#marked-count").inner_text() == "1"
    page.locator("#submit-capture").click()
    page.wait_for_url("**/capture/result/**")
    assert sql(app, "SELECT villager_id, quantity FROM submissions WHERE activity_id = :a", a=aid) == [(a, 3)]


def test_without_a_service_worker_ticks_and_queue_still_hold(app, world, signal, browser):
    """Plain http on a village LAN (http://192.168.x.x) gets no service worker: the page still keeps
    ticks and the queue on the phone, and its retry loop sends the batch once the server answers."""
    aid = make_activity(app, world, title="清廉党课")
    ctx = browser.new_context(viewport=PHONE_360, locale="zh-CN", service_workers="block", bypass_csp=True)
    page = ctx.new_page()
    sign_in_page(page, signal.url, "grid1")
    page.goto(f"{signal.url}/activities/{aid}/capture")
    marks = page.locator("label.mark:has(input[name=p])")
    marks.nth(0).click()
    marks.nth(1).click()
    page.reload()  # a refresh keeps the ticks
    page.wait_for_function("() => document.getElementById('marked-count').textContent === '2'")
    assert page.evaluate("navigator.serviceWorker ? navigator.serviceWorker.controller : null") is None
    signal.off()  # the signal drops; the phone does not notice (no offline event)
    page.locator("#submit-capture").click()
    page.locator("#sync").wait_for(state="visible")
    assert "待提交 1 批" in page.locator("#sync").inner_text()
    assert sql(app, "SELECT count(*) FROM submissions WHERE activity_id = :a", a=aid) == [(0,)]
    screenshot(page, "courtyard-no-sw-queued")
    signal.on()  # the retry loop (every 15 s) finds the server again
    page.wait_for_function("() => document.querySelectorAll('b.tag.queued').length === 0", timeout=40000)
    assert sql(app, "SELECT count(*) FROM submissions WHERE activity_id = :a", a=aid) == [(2,)]
    assert sql(app, "SELECT count(*) FROM capture_batches") == [(1,)]
    ctx.close()


def test_whole_household_includes_its_members_listed_at_the_top(app, world, signal, browser):
    head, member = world["people"][0]  # 向明华 and 谭高, one household
    held = today() - dt.timedelta(days=4)
    old = make_activity(app, world, held_on=held, title="上次党课")
    with app.app_context():
        capture(
            db.session,
            actor=db.session.get(StaffUser, world["users"]["grid1"]),
            village=db.session.get(Village, world["village"]),
            key="k-came",
            rule_code="LJ-01",
            occurred_on=held,
            activity_id=old,
            lines=[Line(villager_id=member)],
        )
        db.session.commit()
    aid = make_activity(app, world, title="清廉党课")
    page = new_page(browser, PHONE_360)
    sign_in_page(page, signal.url, "grid1")
    page.goto(f"{signal.url}/activities/{aid}/capture")
    top = page.locator(".pp").first
    assert top.locator(f"input[value='{member}']").count() == 1  # 谭高 came last time: listed first
    fieldset = page.locator(f"fieldset.hh:has(input[value='{head}'])")
    assert fieldset.locator(f"input[value='{member}']").count() == 0  # and only there
    fieldset.locator("input[data-household]").check()
    assert page.locator(f"input[value='{member}']").is_checked() and page.locator(f"input[value='{head}']").is_checked()
    assert page.locator("#marked-count").inner_text() == "2"
    screenshot(page, "courtyard-whole-household")


def test_a_queued_batch_the_server_refuses_gives_the_ticks_back(app, world, signal, browser):
    aid = make_activity(app, world, title="清廉党课")
    page = new_page(browser, PHONE_360, bypass_csp=True)  # wait_for_function evaluates strings
    sign_in_page(page, signal.url, "grid1")
    page.goto(f"{signal.url}/activities/{aid}/capture")
    marks = page.locator("label.mark:has(input[name=p])")
    marks.nth(0).click()
    marks.nth(1).click()
    signal.off()
    page.locator("#submit-capture").click()
    page.locator("b.tag.queued").first.wait_for()
    with app.app_context():  # meanwhile the activity is cancelled at the office
        db.session.execute(
            text("UPDATE activities SET cancelled_at = CURRENT_TIMESTAMP, cancel_reason = 'x' WHERE id = :a"),
            {"a": aid},
        )
        db.session.commit()
    signal.on()
    page.wait_for_function("() => document.querySelectorAll('b.tag.queued').length === 0", timeout=40000)
    assert "有一批没有记上" in page.locator("#sync").inner_text()
    assert page.locator("input[name=p]:checked:not(:disabled)").count() == 2  # the ticks are back
    assert page.locator("#marked-count").inner_text() == "2"
    assert sql(app, "SELECT count(*) FROM submissions") == [(0,)]
    page.reload()  # and kept on the phone
    page.wait_for_function("() => document.getElementById('marked-count').textContent === '2'")
    screenshot(page, "courtyard-refused-batch")
