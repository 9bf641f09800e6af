"""gunicorn's access log without household card tokens.

A card link (``/h/<token>``) is the household's key: anyone who reads it from a log file can
open the card and raise objections. ``scripts/serve`` runs gunicorn with
``--logger-class pointsapp.gunicorn_logging.RedactingLogger``, which writes ``/h/…`` instead
(the one rule, :func:`pointsapp.web.redact.redact`, also used by the app's error log).
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from .web.redact import redact

__all__ = ["RedactingLogger", "redact"]


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "q"):
            if key in atoms:
                atoms[key] = redact(atoms[key])
        return atoms
