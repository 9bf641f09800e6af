"""Labels of the shop's stored codes, translated."""

from __future__ import annotations

from flask_babel import gettext as _


def movement_label(kind: str) -> str:
    return {
        "in": _("Stock in"),
        "writeoff": _("Write-off"),
        "redeem": _("Redeemed"),
        "return": _("Returned (cancelled)"),
    }.get(kind, kind)


def source_label(source: str | None) -> str:
    return {"purchase": _("Purchase"), "donation": _("Donation (爱心捐赠)"), "other": _("Other")}.get(source or "", "")


def stars_text(stars: int) -> str:
    return "★" * stars if stars else "—"
