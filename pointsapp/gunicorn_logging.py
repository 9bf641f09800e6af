"""gunicorn's access log without household card tokens.

A card link (``/h/<token>``) is the household's key: anyone who reads it from a log file can
open the card and raise objections. ``scripts/serve`` runs gunicorn with
``--logger-class pointsapp.gunicorn_logging.RedactingLogger``, which writes ``/h/…`` instead.
"""
from __future__ import annotations

import re

from gunicorn.glogging import Logger

CARD_PATH = re.compile(r"/h/[^/?#\s\"]+")
REDACTED = "/h/…"


def redact(text: str) -> str:
    return CARD_PATH.sub(REDACTED, text) if isinstance(text, str) else text


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "q"):
            if key in atoms:
                atoms[key] = redact(atoms[key])
        return atoms
