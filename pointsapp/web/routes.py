"""Home page, language switch and health check."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from ..extensions import db
from ..points.registry import Village
from .auth import public
from .i18n import COOKIE, LOCALES
from .security import safe_next

bp = Blueprint("web", __name__)


@bp.get("/")
@public
def index():
    villages = db.session.execute(select(Village.id, Village.name).order_by(Village.name)).all()
    return render_template("index.html", villages=villages)


@bp.get("/lang/<code>")
@public
def set_language(code: str):
    target = safe_next(request.args.get("next")) or url_for("web.index")
    resp = make_response(redirect(target))
    if code in LOCALES:
        resp.set_cookie(
            COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return resp


@bp.get("/healthz")
@public
def healthz():
    db.session.execute(select(1))
    return {"ok": True}
