"""Translated labels of capture statuses (staff roles: ``pointsapp.web.auth.role_labels``).

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
