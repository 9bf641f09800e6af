"""Translated messages for the shop's refusal codes (the core explains them in English)."""
from __future__ import annotations

from flask_babel import gettext as _

from ..points.errors import Refused


def shop_refusal(exc: Refused) -> str:
    p = exc.params
    texts = {
        "insufficient_points": lambda: _("Not enough points: the household has %(have)s redeemable points, "
                                         "these items cost %(want)s.", have=p.get("have"), want=p.get("want")),
        "out_of_stock": lambda: _("Not enough stock: %(item)s has only %(have)s left, %(want)s asked.",
                                  item=p.get("item"), have=p.get("have"), want=p.get("want")),
        "unknown_item": lambda: _("There is no item %(item)s in the shop.", item=p.get("item")),
        "item_inactive": lambda: _("%(item)s is no longer offered.", item=p.get("item")),
        "item_exists": lambda: _("An item with code %(item)s already exists.", item=p.get("item")),
        "bad_quantity": lambda: _("The quantity must be a whole number of at least 1."),
        "nothing_picked": lambda: _("Pick at least one item and its quantity."),
        "household_inactive": lambda: _("This household is no longer active."),
        "conflict_of_interest": lambda: _("Staff may not redeem for their own household; ask another clerk."),
        "bad_collector": lambda: _("The person collecting must be a member of this household."),
        "period_closed": lambda: _("This month is closed; nothing more can be posted in it."),
        "already_cancelled": lambda: _("This redemption is already cancelled."),
        "cancel_needs_admin": lambda: _("Only on the day of the redemption can a clerk cancel it; "
                                        "after that, ask an administrator."),
        "reason_required": lambda: _("Please give a reason."),
        "donor_required": lambda: _("A donation needs the donor's name."),
        "bad_value": lambda: _("The value must be an amount in yuan, such as 25 or 12.50."),
        "bad_source": lambda: _("Choose where the goods came from."),
        "bad_item": lambda: _("Check the item's code, name and unit."),
        "bad_price": lambda: _("The price must be a whole number of points of at least 1."),
        "bad_bands": lambda: _("Check the star bands: %(detail)s", detail=exc.message),
        "bad_reset_day": lambda: _("Check the reset day: %(detail)s", detail=exc.message),
        "bad_budget": lambda: _("The points budget cannot be negative."),
        "reset_off": lambda: _("The yearly reset is off for this village; set its day in the shop settings first."),
        "reset_not_due": lambda: _("The reset of this year is due on %(due)s, not before.", due=p.get("due")),
        "bad_year": lambda: _("Check the year."),
        "bad_key": lambda: _("The form is incomplete; please reload the page and try again."),
        "not_allowed": lambda: _("You do not have permission for this."),
        "not_found": lambda: _("Not found in this village."),
    }
    make = texts.get(exc.code)
    return make() if make else exc.message
