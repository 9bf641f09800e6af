"""Locale choice: Chinese (zh_Hans) by default, English on request, remembered in a cookie."""

from __future__ import annotations

from flask import has_request_context, request

LOCALES = ("zh_Hans", "en")
COOKIE = "lang"


def locale_of(arg: str | None, cookie: str | None) -> str:
    """The language asked for by ``?lang=`` or else the cookie; Chinese when neither names one we have."""
    lang = arg or cookie
    return lang if lang in LOCALES else "zh_Hans"


def request_locale(req) -> str:
    """The language a request asks for (Flask's request or werkzeug's, in the front door). The query and
    the cookies are parsed only when they could name one (most requests carry neither)."""
    environ = req.environ
    arg = req.args.get("lang") if "lang" in environ.get("QUERY_STRING", "") else None
    return locale_of(arg, req.cookies.get(COOKIE) if environ.get("HTTP_COOKIE") else None)


def select_locale() -> str:
    """The request's language; Chinese outside a request (CLI commands, services called by tests)."""
    if not has_request_context():
        return "zh_Hans"
    return request_locale(request)


def inject_language() -> dict:
    """The language switch shown in every page's header (the other language)."""
    current = select_locale()
    if current == "en":
        return {"html_lang": "en", "other_lang_code": "zh_Hans", "other_lang_label": "中文"}
    return {"html_lang": "zh-Hans", "other_lang_code": "en", "other_lang_label": "English"}
