"""Translated labels of capture statuses and staff roles.

Refusal messages are not here: they live in the one catalog, ``pointsapp.web.refusals``.
"""
from __future__ import annotations

from flask_babel import gettext as _


def status_labels() -> dict[str, str]:
    return {
        "pending": _("Recorded, waiting for review"),
        "capped": _("Cap reached"),
        "posted": _("Posted"),
        "approved": _("Posted"),
        "duplicate": _("Already recorded"),
        "refused": _("Not recorded"),
        "rejected": _("Rejected"),
    }


def role_labels() -> dict[str, str]:
    return {"admin": _("Village admin"), "reviewer": _("Reviewer"),
            "grid_worker": _("Grid worker"), "viewer": _("County viewer"),
            "clerk": _("Shop clerk")}

