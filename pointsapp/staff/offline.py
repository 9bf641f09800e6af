"""Capture without signal: the service worker script, and a CSRF check without a time limit.

The capture page keeps ticks and queued submits on the phone (localStorage) and replays a queued
submit with its idempotency key when signal returns, hours later perhaps. Flask-WTF's default
one-hour token age would refuse that replay ("the form has expired") and lose the ticks; the capture
POST therefore checks the token's signature and session binding but not its age. The idempotency key
(one batch per key) and the signed-in session still guard it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os

from flask import Response, current_app, g, jsonify, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from ..extensions import csrf
from ..web.auth import public
from .blueprint import bp

SW_FILE = "capture-sw.js"
# Static files the service worker keeps from the start (the QR decoder is kept when first used).
SW_ASSETS = ("app.css", "staff-capture.js")


def csrf_without_time_limit(view):
    """Exempt ``view`` from the app-wide CSRF check and check the token itself, of any age."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
            token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
            try:
                validate_csrf(token, time_limit=None)
            except ValidationError as exc:
                if request.headers.get("X-Capture") == "1":  # the capture script fetches a fresh token
                    return jsonify(ok=False, csrf=True, errors=[]), 400
                raise CSRFError(exc.args[0] if exc.args else "The CSRF token is invalid.") from None
            g.csrf_valid = True  # the form's own check need not repeat it
        return view(*args, **kwargs)

    csrf.exempt(wrapper)
    return wrapper


def _sw_source() -> str:
    folder = current_app.static_folder or ""
    with open(os.path.join(folder, SW_FILE), encoding="utf-8") as fh:
        source = fh.read()
    assets = [url_for("static", filename=name) for name in SW_ASSETS]
    version = hashlib.sha256("\n".join(assets).encode()).hexdigest()[:10]
    return source.replace("__VERSION__", version).replace("__ASSETS__", json.dumps(assets))


@bp.get("/capture/sw.js")
@public
def service_worker():
    """Public like any static script; it holds no data. Its scope is the whole site ("/") so it sees
    /capture and /activities/<id>/capture; it answers only those pages and versioned static files."""
    resp = Response(_sw_source(), mimetype="application/javascript")
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.cache_control.no_cache = True  # browsers check for a new worker on each visit
    return resp
