"""Small helpers shared by the admin views."""
from __future__ import annotations

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..points.errors import Refused
from ..points.registry import Role
from ..web.auth import current_village

# Stable refusal codes of the admin services, in the user's language.
MESSAGES = {
    "not_allowed": lambda p: _("You do not have permission for this."),
    "not_found": lambda p: _("Not found in this village."),
    "bad_name": lambda p: _("Please enter a name of at most 50 characters."),
    "bad_sex": lambda p: _("Sex must be 男 or 女."),
    "bad_birth": lambda p: _("Please check the birth year and month."),
    "bad_phone": lambda p: _("This is not a phone number: a mobile number has 11 digits."),
    "bad_relation": lambda p: _("The relation is at most 20 characters."),
    "duplicate_group": lambda p: _("There is already a group with this name."),
    "bad_number": lambda p: _("Please enter the household number (户号)."),
    "duplicate_number": lambda p: _("This household number (户号) is already used."),
    "bad_head": lambda p: _("The head must be an active member of this household."),
    "inactive_villager": lambda p: _("This person is not active and cannot be moved."),
    "same_household": lambda p: _("The person already belongs to this household."),
    "bad_status": lambda p: _("Unknown status."),
    "bad_username": lambda p: _("A user name needs 3 to 64 letters, digits, dots, dashes or underscores."),
    "duplicate_username": lambda p: _("This user name is taken."),
    "needs_groups": lambda p: _("A grid worker needs at least one group."),
    "self_demote": lambda p: _("You cannot take the admin role away from yourself; ask another admin."),
    "self_deactivate": lambda p: _("You cannot deactivate your own account; ask another admin."),
    "bad_notice_days": lambda p: _("The objection window must be 0 to 30 days."),
    "bad_title": lambda p: _("Please enter a title of at most 200 characters."),
    "activity_cancelled": lambda p: _("This activity was cancelled."),
    "activity_has_captures": lambda p: _("The date and group cannot change once people were recorded."),
    "reason_required": lambda p: _("Please give a reason."),
    "activity_has_pending": lambda p: _("%(n)s captures of this activity still await review: reject them first.",
                                        n=p.get("count")),
    "activity_has_entries": lambda p: _("%(n)s posted entries of this activity still count: reverse them with "
                                        "corrections first.", n=p.get("count")),
}


def actor():
    return current_user._get_current_object()


def village():
    return current_village()


def ip() -> str | None:
    return request.remote_addr


def is_admin() -> bool:
    return current_user.is_authenticated and Role(current_user.role) == Role.admin


def get_or_404(model, ident: int):
    """The object with this id in the current village; another village's ids are simply not found."""
    obj = db.session.get(model, ident)
    if obj is None or getattr(obj, "village_id", None) != village().id:
        abort(404)
    return obj


def refusal_text(exc: Refused) -> str:
    make = MESSAGES.get(exc.code)
    return make(exc.params) if make else exc.message


def show_refusal(exc: Refused, form=None) -> None:
    """Put the refusal on the form field it names, or flash it."""
    db.session.rollback()
    name = exc.params.get("field")
    text = refusal_text(exc)
    if form is not None and name and name in form._fields:
        form._fields[name].errors = list(form._fields[name].errors or []) + [text]
    else:
        flash(text, "error")


def page_arg() -> int:
    page = request.args.get("page", 1, type=int)
    return page if page and page > 0 else 1
