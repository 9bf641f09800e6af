"""Routes of the staff feature: sign-in, capture, review, 公示, objections, month close.

The views live in ``views_*`` modules by concern; importing them registers their routes on ``bp``.
"""

from . import nav, offline, views_auth, views_capture, views_notice, views_review  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
