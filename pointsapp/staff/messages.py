"""Translated messages for the core's stable refusal codes and statuses.

The core explains refusals in English (``Refused.message``); pages show these translations,
falling back to the core's text for a code not listed here.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

REFUSALS = {
    "unknown_rule": _l("This rule is not in the village's rule book."),
    "unknown_subject": _l("No such person or household in this village."),
    "rule_not_in_effect": _l("The rule is not in effect on that date."),
    "role_not_allowed": _l("Your role may not record this rule."),
    "inactive_villager": _l("This person has moved out or died."),
    "needs_person": _l("This rule is recorded per person: mark people, not a household."),
    "outside_groups": _l("This household is not in your groups."),
    "conflict_of_interest": _l("Staff may not record or approve points for their own household."),
    "period_closed": _l("That month is closed; nothing more can be posted in it."),
    "bad_quantity": _l("The quantity must be a whole number of at least 1."),
    "duplicate": _l("Already recorded for this activity."),
    "bad_date": _l("A date is needed."),
    "bad_key": _l("The form is incomplete; please reload the page and try again."),
    "maker_checker": _l("You recorded this yourself; another reviewer must approve it."),
    "not_pending": _l("This capture has already been decided."),
    "not_found": _l("Not found in this village."),
    "not_allowed": _l("You do not have permission for this."),
    "reason_required": _l("Please give a reason."),
    "reason_too_long": _l("Please keep the reason under 500 characters."),
    "month_not_over": _l("The month has not ended yet."),
    "already_closed": _l("This month is already closed."),
    "pending_left": _l("Captures dated in this month still await review; review them first."),
    "bad_window": _l("The objection window must be 1 to 60 days."),
    "already_published": _l("This month has already been published for public notice."),
    "not_your_entry": _l("A household can object only to its own entries."),
    "notice_closed": _l("This entry is not under public notice now."),
    "too_many_objections": _l("At most 3 objections per household per day."),
    "already_objected": _l("An objection to this entry is already open."),
    "not_open": _l("This objection has already been resolved."),
    "bad_target": _l("Correct the original entry, not a correction."),
    "nothing_to_correct": _l("This entry has nothing left to correct."),
}


def refusal_text(code: str | None, fallback: str | None = None, **params) -> str:
    """The translated message for a refusal code."""
    if code == "pending_left" and params.get("count") is not None:
        return _("%(count)s captures dated in this month still await review; review them first.",
                 count=params["count"])
    text = REFUSALS.get(code or "")
    if text is not None:
        return str(text)
    return fallback or _("Not done.")


def refused_message(exc) -> str:
    """The translated message of a core ``Refused`` exception."""
    return refusal_text(exc.code, exc.message, **getattr(exc, "params", {}))


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
            "grid_worker": _("Grid worker"), "viewer": _("County viewer"), "clerk": _("Clerk")}


REFUSALS.update({
    "bad_group": _l("This group is not one of yours."),
    "future_date": _l("The date is in the future."),
    "no_marks": _l("Nobody was marked. Tick at least one person or household."),
})
