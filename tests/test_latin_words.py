"""No English leaks into Chinese: every msgstr of every Chinese catalog, and the error pages
and refusal messages as rendered in Chinese, hold no Latin words beyond a short list of
technical names a clerk sees on screen anyway (file formats, keys, settings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[1]
CATALOGS = sorted(REPO.glob("pointsapp/**/translations/zh_Hans/LC_MESSAGES/messages.po"))

#: Names that stay in Latin letters in Chinese text: file formats and programs villages use,
#: units, date patterns shown as examples, and the names of keys and settings a user types.
ALLOWED = {
    "xlsx",
    "xls",
    "ods",
    "csv",
    "CSV",
    "yaml",
    "YAML",
    "Excel",
    "WPS",
    "PDF",
    "JPEG",
    "PNG",
    "UTF",
    "MB",
    "KB",
    "IP",
    "QR",
    "Ctrl",
    "YYYY",
    "MM",
    "DD",
    "HTTPS",
    "URL",
    "ID",
    "OpenDocument",
    "LibreOffice",
    "effective_from",  # a column of the rule book file
    "xmh",  # an example of pinyin initials to type
}
ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")  # POINTSAPP_BASE_URL
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|\{\w*\}")
WORD = re.compile(r"[A-Za-z][A-Za-z_]*[A-Za-z]")


def latin_words(text: str) -> list[str]:
    text = ENV_NAME.sub(" ", PLACEHOLDER.sub(" ", text))
    text = re.sub(r"https?://\S+", " ", text)
    return [w for w in WORD.findall(text) if w not in ALLOWED]


def test_the_check_finds_english():
    assert latin_words("请选择 the month（%(month)s）") == ["the", "month"]
    assert latin_words("设置 POINTSAPP_BASE_URL 后，另存为 .xlsx") == []


def test_catalogs_exist():
    assert {p.parts[-5] for p in CATALOGS} >= {"admin", "staff", "villagers", "reports"}


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.parts[-5])
def test_no_latin_words_in_chinese_catalogs(path):
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans")
    leaks = []
    for message in catalog:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for s in strings:
            if words := latin_words(s or ""):
                leaks.append((s, words))
    assert not leaks, "\n".join(f"{words}: {s}" for s, words in leaks)


def main_text(html: str) -> str:
    body = html.split("<main>", 1)[-1].split("</main>", 1)[0]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"&\w+;|&#\d+;", " ", body)


@pytest.fixture
def zh_client(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    return client


def test_rendered_errors_are_chinese(app, zh_client, app_world):
    from tests.conftest import login

    pages = {}
    pages["404"] = zh_client.get("/no/such/page")
    pages["bad card"] = zh_client.get("/h/AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert login(zh_client, "admin1").status_code == 302
    pages["bad period"] = zh_client.get("/dashboard?period=2026-13")
    pages["bad chart"] = zh_client.get("/reports/chart/123.png")
    pages["bad month"] = zh_client.get("/reports/monthly?month=13")
    pages["bad top"] = zh_client.get("/reports/monthly?top=999")
    pages["bad notice month"] = zh_client.get("/reports/notice/2026-13.pdf")
    pages["405"] = zh_client.delete("/dashboard")
    zh_client.post("/logout")
    assert login(zh_client, "grid1").status_code == 302
    pages["403"] = zh_client.get("/reports/notice/2026-11.pdf")
    for name, resp in pages.items():
        assert resp.status_code >= 400, (name, resp.status_code)
        html = resp.get_data(as_text=True)
        text = main_text(html) if "<main>" in html else html
        assert re.search(r"[\u4e00-\u9fff]", text), (name, text[:300])
        assert not latin_words(text), (name, latin_words(text), text[:500])


def test_every_refusal_message_is_chinese(app):
    """The one refusal catalog (and the villagers' wording), rendered in Chinese."""
    from pointsapp.web import refusals

    class AnyParams(dict):
        """Every parameter a message may ask for: digits unless named here."""

        def __missing__(self, key):
            return "5"

        def get(self, key, default=None):
            return self[key]

    params = AnyParams(value="甲", file="花名册.xlsx", names="姓名", name="张三", group="第一组", column="姓名")
    catalogs = {
        "catalog": refusals.CATALOG,
        "villager": refusals.VILLAGER,
        "missing": getattr(refusals, "VILLAGER_MISSING", {}),
    }
    with app.test_request_context(headers={"Accept-Language": "zh-CN,zh;q=0.9"}):
        leaks = []
        for name, catalog in catalogs.items():
            for code, make in catalog.items():
                text = make(params)
                assert re.search(r"[\u4e00-\u9fff]", text), (name, code, text)
                if words := latin_words(text):
                    leaks.append((name, code, words, text))
        assert refusals.refusal_text("no_such_code") == "未办成。" or not latin_words(refusals.refusal_text("x"))
    assert not leaks, leaks
