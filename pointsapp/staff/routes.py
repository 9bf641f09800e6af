"""Routes of the staff feature: sign-in, capture, review, 公示, objections, month close.

The views live in ``views_*`` modules by concern; importing them registers their routes on ``bp``.
"""
from flask import Blueprint

bp = Blueprint("staff", __name__, template_folder="templates")

from . import nav, offline, views_auth, views_capture, views_notice, views_review  # noqa: E402,F401
