"""Browser-test support: a live server in a thread and real Chromium through Playwright.

Tests that use these fixtures skip, with the reason printed, only when Chromium or
Playwright is absent. CI installs both and sets ``POINTSAPP_CI=1``, which turns that skip into a
failure: CI cannot go green without having driven a browser.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.ci import in_ci, require_tool

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "test-output" / "screenshots"
CHROMIUM = os.environ.get("POINTSAPP_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 375, "height": 812}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 10; V2001A Build/QP1A.190711.020; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5061 "
    "MMWEBSDK/20230504 MMWEBID/2585 MicroMessenger/8.0.37.2380(0x2800253D) WeChat/arm64 "
    "Weixin NetType/4G Language/zh_CN ABI/arm64"
)


def _skip_reason() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under POINTSAPP_CI=1 a browser test that skips for any reason (a missing import too) fails."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and (item.get_closest_marker("browser") or "browser" in item.fixturenames):
        report.outcome = "failed"
        report.longrepr = f"browser test skipped in CI (POINTSAPP_CI=1): {report.longrepr}"


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    reason = _skip_reason()
    if reason:
        print(f"\nSKIP browser tests: {reason}")
        require_tool(False, reason)  # skips, or fails under POINTSAPP_CI=1
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def sign_in_page(page, url: str, username: str, password: str | None = None, *, tap=None, shot=None) -> None:
    """The browser's way to sign in (the same /login form ``tests.conftest.login`` posts to)."""
    from tests.conftest import PASSWORD

    page.goto(f"{url}/login")
    if shot:
        screenshot(page, shot)
    page.fill("#username", username)
    page.fill("#password", password or PASSWORD)
    button = page.locator("form button[type=submit]").first
    tap(button) if tap else button.click()
    page.wait_for_load_state()


def new_page(browser, viewport=PHONE, user_agent: str | None = None, locale: str = "zh-CN", bypass_csp: bool = False):
    """``bypass_csp`` only for tests that need Playwright's ``wait_for_function`` (it evaluates its
    predicate as a string, which the app's CSP forbids); the CSP itself is tested with it on."""
    ctx = browser.new_context(
        viewport=viewport, user_agent=user_agent, locale=locale, device_scale_factor=1, bypass_csp=bypass_csp
    )
    return ctx.new_page()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
