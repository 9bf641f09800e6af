"""The one refusal catalog: a refusal code (from the core's ``Refused`` or an import row
error) → the message a user reads, in their language, with the refusal's parameters.

The core explains refusals in English for logs and the command line; every page shows the
text from here. A code not listed falls back to a general "not done" message, never to the
core's English sentence.

Add a new refusal code here (with its Chinese translation in ``pointsapp/translations``)
when you add it to a service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import flash
from flask_babel import gettext as _

from ..points.errors import Refused
from .transaction import rollback_only

Params = Mapping[str, object]
Message = Callable[[Params], str]

CATALOG: dict[str, Message] = {
    # permissions and lookups
    "not_allowed": lambda p: _("You do not have permission for this."),
    "not_found": lambda p: _("Not found in this village."),
    # capture
    "unknown_rule": lambda p: _("This rule is not in the village's rule book."),
    "unknown_subject": lambda p: _("No such person or household in this village."),
    "rule_not_in_effect": lambda p: _("The rule is not in effect on that date."),
    "role_not_allowed": lambda p: _("Your role may not record this rule."),
    "inactive_villager": lambda p: _("This person has moved out or died."),
    "needs_person": lambda p: _("This rule is recorded per person: mark people, not a household."),
    "outside_groups": lambda p: _("This household is not in your groups."),
    "conflict_of_interest": lambda p: _("Staff may not record or approve points for their own household."),
    "period_closed": lambda p: (
        _("%(month)s is closed: nothing can be dated in it or before it.", month=p["month"])
        if p.get("month")
        else _("That month is closed; nothing more can be posted in it.")
    ),
    "bad_quantity": lambda p: _("The quantity must be a whole number of at least 1."),
    "duplicate": lambda p: _("Already recorded for this activity."),
    "bad_date": lambda p: _("A date is needed."),
    "bad_key": lambda p: _("The form is incomplete; please reload the page and try again."),
    "bad_group": lambda p: _("This group is not one of yours."),
    "future_date": lambda p: _("The date is in the future."),
    "quantity_per_occasion": lambda p: _("This rule counts one occasion at a time: the quantity must be 1."),
    "quantity_too_large": lambda p: (
        _("This rule allows at most %(limit)s %(unit)s at a time.", limit=p["limit"], unit=p.get("unit") or "")
        if p.get("limit") is not None
        else _("The quantity is more than this rule allows at a time.")
    ),
    "move_before_last": lambda p: _(
        "This person last moved on %(last)s; a move cannot be dated earlier.", last=p.get("last")
    ),
    "no_marks": lambda p: _("Nobody was marked. Tick at least one person or household."),
    "activity_cancelled": lambda p: _("This activity was cancelled."),
    "already_imported": lambda p: (
        _("This score sheet was already imported by %(by)s; nothing was awarded again.", by=p["by"])
        if p.get("by")
        else _("This score sheet was already imported.")
    ),
    # review and corrections
    "maker_checker": lambda p: _("You recorded this yourself; another reviewer must approve it."),
    "not_pending": lambda p: _("This capture has already been decided."),
    "reason_required": lambda p: _("Please give a reason."),
    "reason_too_long": lambda p: _("Please keep the reason under 500 characters."),
    "bad_target": lambda p: _("Correct the original entry, not a correction."),
    "nothing_to_correct": lambda p: _("This entry has nothing left to correct."),
    # month close, 公示 and objections
    "month_not_over": lambda p: _("The month has not ended yet."),
    "already_closed": lambda p: _("This month is already closed."),
    "pending_left": lambda p: (
        _("%(count)s captures dated in this month still await review; review them first.", count=p["count"])
        if p.get("count") is not None
        else _("Captures dated in this month still await review; review them first.")
    ),
    "bad_window": lambda p: _("The objection window must be 0 to 30 days."),
    "bad_notice_days": lambda p: _("The objection window must be 0 to 30 days."),
    "month_running": lambda p: (
        _("%(month)s is still running; only a finished month can be published.", month=p["month"])
        if p.get("month")
        else _("This month is still running; only a finished month can be published.")
    ),
    "nothing_new": lambda p: _(
        "Nothing has been posted for this month since its last notice; there is nothing to publish."
    ),
    "not_published": lambda p: _("This month has not been published for public notice yet."),
    "notice_window_open": lambda p: (
        _(
            "The objection window of supplementary notice %(n)s runs until %(date)s.",
            n=int(p["notice"]) - 1,
            date=p["until"],
        )
        if p.get("until") and int(p.get("notice") or 1) > 1
        else _("The objection window runs until %(date)s.", date=p["until"])
        if p.get("until")
        else _("The objection window of this month's notice is still open.")
    ),
    "awaiting_supplement": lambda p: (
        _(
            "%(count)s entries of this month were posted after its notice; publish a supplementary notice first.",
            count=p["count"],
        )
        if p.get("count")
        else _("Entries of this month were posted after its notice; publish a supplementary notice first.")
    ),
    "open_objections": lambda p: (
        _("%(count)s objections on this month's entries are not answered yet.", count=p["count"])
        if p.get("count")
        else _("Objections on this month's entries are not answered yet.")
    ),
    "already_published": lambda p: _("This month has already been published for public notice."),
    "not_your_entry": lambda p: _("A household can object only to its own entries."),
    "notice_closed": lambda p: _("This entry is not under public notice now."),
    "too_many_objections": lambda p: _("At most 3 objections per household per day."),
    "already_objected": lambda p: _("An objection to this entry is already open."),
    "not_open": lambda p: _("This objection has already been resolved."),
    "no_entry_to_correct": lambda p: _(
        "This report names no entry: record the missing points through capture, then answer it."
    ),
    "bad_missing_date": lambda p: _("Please choose a day within the last three months, or leave the day empty."),
    # village administration
    "bad_name": lambda p: _("Please enter a name of at most 50 characters."),
    "bad_sex": lambda p: _("Sex must be 男 or 女."),
    "bad_birth": lambda p: _("Please check the birth year and month."),
    "bad_phone": lambda p: _("This is not a phone number: a mobile number has 11 digits."),
    "bad_relation": lambda p: _("The relation is at most 20 characters."),
    "duplicate_group": lambda p: _("There is already a group with this name."),
    "bad_number": lambda p: _("Please enter the household number (户号)."),
    "duplicate_number": lambda p: _("This household number (户号) is already used."),
    "bad_head": lambda p: _("The head must be an active member of this household."),
    "same_household": lambda p: _("The person already belongs to this household."),
    "bad_status": lambda p: _("Unknown status."),
    "bad_username": lambda p: _("A user name needs 3 to 64 letters, digits, dots, dashes or underscores."),
    "duplicate_username": lambda p: _("This user name is taken."),
    "needs_groups": lambda p: _("A grid worker needs at least one group."),
    "self_demote": lambda p: _("You cannot take the admin role away from yourself; ask another admin."),
    "self_deactivate": lambda p: _("You cannot deactivate your own account; ask another admin."),
    "bad_title": lambda p: _("Please enter a title of at most 200 characters."),
    "bad_committee_phone": lambda p: _("This is not a phone number: use digits, for example 0743-1234567."),
    "bad_award_tiers": lambda p: _(
        "Award tiers: “%(value)s” is not right. Write each tier as a name and the last "
        "rank, separated by semicolons, for example 一等奖:3;二等奖:6;三等奖:10.",
        value=p.get("value", ""),
    ),
    "bad_certificate_date": lambda p: _("Please enter a date such as 2026-12-01."),
    "activity_has_captures": lambda p: _("The date and group cannot change once people were recorded."),
    "activity_has_pending": lambda p: _(
        "%(n)s captures of this activity still await review: reject them first.", n=p.get("count")
    ),
    "activity_has_entries": lambda p: _(
        "%(n)s posted entries of this activity still count: reverse them with corrections first.", n=p.get("count")
    ),
    # 积分超市: catalogue, stock, redemption, the yearly reset, settings
    "insufficient_points": lambda p: _(
        "Not enough points: the household has %(have)s redeemable points, these items cost %(want)s.",
        have=p.get("have"),
        want=p.get("want"),
    ),
    "out_of_stock": lambda p: _(
        "Not enough stock: %(item)s has only %(have)s left, %(want)s asked.",
        item=p.get("item"),
        have=p.get("have"),
        want=p.get("want"),
    ),
    "unknown_item": lambda p: _("There is no item %(item)s in the shop.", item=p.get("item")),
    "item_inactive": lambda p: _("%(item)s is no longer offered.", item=p.get("item")),
    "item_exists": lambda p: _("An item with code %(item)s already exists.", item=p.get("item")),
    "nothing_picked": lambda p: _("Pick at least one item and its quantity."),
    "household_inactive": lambda p: _("This household is no longer active."),
    "bad_collector": lambda p: _("The person collecting must be a member of this household."),
    "already_cancelled": lambda p: _("This redemption is already cancelled."),
    "cancel_needs_admin": lambda p: _(
        "Only on the day of the redemption can a clerk cancel it; after that, ask an administrator."
    ),
    "donor_required": lambda p: _("A donation needs the donor's name."),
    "bad_donor": lambda p: _("The donor's name is at most 100 characters."),
    "bad_value": lambda p: _("The value must be an amount in yuan, such as 25 or 12.50."),
    "bad_source": lambda p: _("Choose where the goods came from."),
    "bad_item": lambda p: _("Check the item's code, name and unit."),
    "bad_price": lambda p: _("The price must be a whole number of points of at least 1."),
    "bad_bands": lambda p: _("Check the star bands: each band is stars:threshold, 1 to 5 stars, highest first."),
    "bad_reset_day": lambda p: _("Check the reset day: give a month and a day that exist."),
    "bad_budget": lambda p: _("The points budget cannot be negative."),
    "reset_off": lambda p: _("The yearly reset is off for this village; set its day in the shop settings first."),
    "reset_not_due": lambda p: _("The reset of this year is due on %(due)s, not before.", due=p.get("due")),
    "bad_year": lambda p: _("Check the year."),
    "shop_entry": lambda p: _("Redemptions are cancelled at the points shop desk; expired points are not corrected."),
    # import rows (row.*) and files (file.*)
    "row.empty": lambda p: _("is empty"),
    "row.too_long": lambda p: _("is longer than %(n)s characters", n=p.get("n")),
    "row.bad_sex": lambda p: _("must be 男 or 女"),
    "row.bad_birth": lambda p: _("not a birth month like 1958-05 or 1958年5月") + f" ({p.get('detail')})",
    "row.bad_phone": lambda p: _("not a phone number: a mobile number has 11 digits") + f" ({p.get('detail')})",
    "row.head_mismatch": lambda p: _("is marked 户主 but the 户主姓名 column says %(name)s", name=p.get("name")),
    "row.group_differs": lambda p: _(
        "household %(number)s is in %(group)s on row %(row)s",
        number=p.get("number"),
        group=p.get("group"),
        row=p.get("row"),
    ),
    "row.head_differs": lambda p: _(
        "household %(number)s has head %(name)s on row %(row)s",
        number=p.get("number"),
        name=p.get("name"),
        row=p.get("row"),
    ),
    "row.head_not_member": lambda p: _(
        "the head of household %(number)s is not listed as a member", number=p.get("number")
    ),
    "row.same_name_no_birth": lambda p: _(
        "%(name)s is listed %(count)s times in household %(number)s: people of "
        "the same name need their 出生年月 to tell them apart",
        name=p.get("name"),
        count=p.get("count"),
        number=p.get("number"),
    ),
    "row.two_heads": lambda p: _(
        "household %(number)s has two heads named %(name)s (also row %(row)s)",
        number=p.get("number"),
        name=p.get("name"),
        row=p.get("row"),
    ),
    "row.head_leaves": lambda p: _(
        "%(name)s is the head of household %(number)s, which this file does not list: "
        "add household %(number)s with its new head (户主姓名), or move %(name)s on the "
        "registry page",
        name=p.get("name"),
        number=p.get("number"),
    ),
    "row.listed_twice": lambda p: _(
        "listed twice in household %(number)s (also row %(row)s)", number=p.get("number"), row=p.get("row")
    ),
    "file.missing_columns": lambda p: _(
        "%(file)s: the column(s) %(names)s are missing", file=p.get("file"), names=p.get("names")
    ),
    "file.no_data": lambda p: _("%(file)s: the file has no data", file=p.get("file")),
    "file.bad_xlsx": lambda p: _(
        "%(file)s: not a valid Excel or OpenDocument file; save it again from Excel, WPS or LibreOffice",
        file=p.get("file"),
    ),
    "file.bad_encoding": lambda p: _(
        "%(file)s: the text cannot be read; save it as a UTF-8 CSV or an .xlsx file", file=p.get("file")
    ),
    "file.too_large": lambda p: _(
        "%(file)s: the sheet is too large: it has filled cells as far as %(row_cell)s "
        "and %(column_cell)s. Delete what lies outside the table (or copy the table into "
        "a new sheet), save, and upload again",
        file=p.get("file"),
        row_cell=p.get("row_cell"),
        column_cell=p.get("column_cell"),
    ),
    "file.unsupported_type": lambda p: _(
        "%(file)s: this kind of file cannot be imported; use Excel (.xlsx, .xls), OpenDocument (.ods) or .csv",
        file=p.get("file"),
    ),
    "file.broken_csv": lambda p: _(
        "%(file)s: the CSV file is damaged near line %(line)s", file=p.get("file"), line=p.get("line")
    ),
    "cell.formula_without_value": lambda p: _(
        "is a formula saved without its value: open the file in Excel or "
        "WPS, save it, and upload it again (or paste the cells as values)"
    ),
    "cell.error_value": lambda p: _("is an error value (such as #N/A), not data: correct the cell and upload again"),
}

# Villagers read some refusals on their card page, where the village committee is the next step.
VILLAGER: dict[str, Message] = {
    "reason_required": lambda p: _("Please say briefly what is wrong."),
    "notice_closed": lambda p: _(
        "This entry is not under public notice now, so it can no longer be objected to "
        "here. Please ask the village committee."
    ),
    "too_many_objections": lambda p: _(
        "A household can object at most 3 times a day. Please try again tomorrow or ask the village committee."
    ),
    "already_objected": lambda p: _("An objection to this entry is already waiting for an answer."),
    "not_your_entry": lambda p: _("This entry is not on your household's card."),
    "not_found": lambda p: _("This entry is not on your household's card."),
    "reason_too_long": lambda p: _("Please keep the reason under 500 characters."),
}
# ... and "漏记了？" reports, which name no entry.
VILLAGER_MISSING: dict[str, Message] = {
    "reason_required": lambda p: _("Please say briefly what is missing."),
}


def refusal_text(code: str | None, params: Params | None = None, *, villager: bool = False) -> str:
    """The translated message for a refusal code (``villager``: the card page's wording)."""
    params = params or {}
    make = (VILLAGER.get(code or "") if villager else None) or CATALOG.get(code or "")
    return make(params) if make is not None else _("Not done.")


def coded_text(error, fallback: str | None = None) -> str:
    """The translated text of anything with ``code`` and ``params`` (an import row error, a
    ``ReadError``); without a code, ``fallback`` (the core's own words)."""
    code = getattr(error, "code", None)
    if code is None or code not in CATALOG:
        return fallback if fallback is not None else str(error)
    return refusal_text(code, getattr(error, "params", None))


def message(exc: Refused, *, villager: bool = False) -> str:
    """The translated message of a ``Refused``."""
    return refusal_text(exc.code, exc.params, villager=villager)


def http_status(exc: Refused) -> int:
    """A refused permission is 403, an unknown id 404, any other refusal 409."""
    return {"not_allowed": 403, "not_found": 404}.get(exc.code, 409)


def flash_refusal(exc: Refused, form=None, *, villager: bool = False) -> None:
    """Show a refusal (on the form field it names, else as a flash); nothing of the request is committed."""
    rollback_only()
    text = message(exc, villager=villager)
    name = exc.params.get("field")
    if form is not None and name and name in form._fields:
        form._fields[name].errors = list(form._fields[name].errors or []) + [text]
    else:
        flash(text, "error")
