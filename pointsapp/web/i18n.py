"""Locale choice: Chinese (zh_Hans) by default, English on request, remembered in a cookie."""

from __future__ import annotations

from flask import has_request_context, request

LOCALES = ("zh_Hans", "en")
COOKIE = "lang"


def select_locale() -> str:
    """The request's language; Chinese outside a request (CLI commands, services called by tests)."""
    if not has_request_context():
        return "zh_Hans"
    lang = request.args.get("lang") or request.cookies.get(COOKIE)
    return lang if lang in LOCALES else "zh_Hans"


def inject_language() -> dict:
    """The language switch shown in every page's header (the other language)."""
    current = select_locale()
    if current == "en":
        return {"html_lang": "en", "other_lang_code": "zh_Hans", "other_lang_label": "中文"}
    return {"html_lang": "zh-Hans", "other_lang_code": "en", "other_lang_label": "English"}
