"""The web's transaction boundary: one commit per request, made here and nowhere else.

Services flush; views never commit. After the view returns, :func:`finish` commits when the
response is a success (status below 400) and nothing asked for a rollback; otherwise it rolls
back. A refusal shown to the user (:func:`pointsapp.web.refusals.flash_refusal`), a dry run
(preview pages) or an error page asks for the rollback with :func:`rollback_only`. An exception
never reaches a commit: the error handlers answer with a 4xx/5xx status, which rolls back.
A failing commit propagates to the 500 handler, which rolls back and shows an error page.
"""

from __future__ import annotations

from flask import Flask, Response, g

from ..extensions import db

_FLAG = "_pointsapp_rollback_only"


def rollback_only() -> None:
    """Nothing written in this request will be committed (a refusal, a dry run)."""
    setattr(g, _FLAG, True)


def discard() -> None:
    """Roll back now what this request wrote (a dry run; an error page must not read through a failed
    transaction); nothing more is committed in this request."""
    rollback_only()
    db.session.rollback()


def finish(response: Response) -> Response:
    if response.status_code < 400 and not g.get(_FLAG, False):
        # A streamed response (CSV export) still reads its objects after this commit.
        session = db.session()
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire
    else:
        db.session.rollback()
    return response


def init_app(app: Flask) -> None:
    app.after_request(finish)
