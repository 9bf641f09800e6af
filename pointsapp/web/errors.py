"""Error pages: a clear message, never a traceback."""

from __future__ import annotations

import logging

from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..points.errors import Refused
from . import refusals
from .redact import redact
from .transaction import discard

log = logging.getLogger(__name__)


def _page(status: int, title: str, message: str):
    return render_template("error.html", title=title, message=message, status=status), status


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _page(400, _("The form has expired"), _("Please go back, reload the page and try again."))

    @app.errorhandler(Refused)
    def refused(exc):
        status = refusals.http_status(exc)
        title = {403: _("Not allowed"), 404: _("Not found")}.get(status, _("Not done"))
        return _page(status, title, refusals.message(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        titles = {
            404: _("Not found"),
            403: _("Not allowed"),
            413: _("File too large"),
            429: _("Too many attempts"),
            405: _("Not allowed"),
            400: _("Bad request"),
        }
        messages = {
            404: _("This page does not exist or was moved."),
            403: _("You do not have permission for this."),
            413: _("The uploaded file is larger than allowed."),
            429: _("Please wait a little and try again."),
            405: _("This action is not available here."),
            400: _("The request could not be understood."),
        }
        code = exc.code or 500
        return _page(code, titles.get(code, _("Error")), messages.get(code, _("Something went wrong.")))

    @app.errorhandler(Exception)
    def unexpected(exc):
        discard()  # the session may be unusable until rolled back; the page below may read
        log.exception("unhandled error on %s %s", request.method, redact(request.path))
        return _page(500, _("Something went wrong"), _("The error was logged. Nothing was saved; please try again."))
