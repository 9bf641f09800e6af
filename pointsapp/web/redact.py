"""Household card tokens out of every log line.

A card link (``/h/<token>``) is the household's key: anyone who reads it from a log file can
open the card and raise objections. The access log (:mod:`pointsapp.gunicorn_logging`) and the
app's error log both write ``/h/…`` instead, through :func:`redact`.
"""

from __future__ import annotations

import re

# /h/<token>, also percent-encoded as a query value (the desk's search box gets the scanned card
# URL: /desk?q=http%3A%2F%2Fhost%2Fh%2F<token>).
CARD_PATH = re.compile(r"(/|%2[fF])h(/|%2[fF])[^/?#&%\s\"]+")
PLAIN_CARD_PATH = re.compile(r"/h/[^/?#&%\s\"]+")  # the same where nothing is percent-encoded (faster)
REDACTED = "/h/…"


def redact(text: str) -> str:
    if not isinstance(text, str) or ("h/" not in text and "h%2" not in text):  # most log fields: no regex
        return text
    if "%2" not in text:
        return PLAIN_CARD_PATH.sub(REDACTED, text)
    return CARD_PATH.sub(r"\1h\2…", text)
