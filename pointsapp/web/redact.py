"""Household card tokens out of every log line.

A card link (``/h/<token>``) is the household's key: anyone who reads it from a log file can
open the card and raise objections. The access log (:mod:`pointsapp.gunicorn_logging`) and the
app's error log both write ``/h/…`` instead, through :func:`redact`.
"""
from __future__ import annotations

import re

CARD_PATH = re.compile(r"/h/[^/?#\s\"]+")
REDACTED = "/h/…"


def redact(text: str) -> str:
    return CARD_PATH.sub(REDACTED, text) if isinstance(text, str) else text
