"""Villager-facing services: card links, token lookup, and objections.

Flask-free: the CLI (``pointsapp household link|rotate-link``) and the views call these.
Services check authorization themselves, flush, and never commit.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..points.audit import record
from ..points.errors import NotFound, Refused
from ..points.ledger import LedgerEntry
from ..points.objections import Objection, raise_objection, report_missing_entry
from ..points.policy import require
from ..points.registry import Group, Household, StaffUser, Village

# new_card_token() gives 32 URL-safe characters; anything else is not worth a query.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def card_path(household: Household) -> str:
    """The URL path of a household's card page (what its QR code points to)."""
    return f"/h/{household.card_token}"


def card_url(base_url: str, household: Household) -> str:
    """The absolute card link: ``base_url`` is POINTSAPP_BASE_URL or the request's host URL."""
    return base_url.rstrip("/") + card_path(household)


def rotate_card(
    session: Session, household: Household, actor: StaffUser | None = None, *, ip: str | None = None
) -> str:
    """Issue a new card token (a lost card); the old link stops working at once. Audit-logged.

    ``actor=None`` is the command line (run by whoever administers the server); a web
    actor must be an admin of the household's village.
    """
    if actor is not None:
        village = session.get(Village, household.village_id)
        require(actor, village, "card.rotate")
    household.rotate_card()
    record(
        session,
        actor,
        "household.rotate_card",
        village_id=household.village_id,
        target=f"household {household.id}",
        ip=ip,
        number=household.number,
    )
    session.flush()
    return card_path(household)


def token_looks_valid(token: str) -> bool:
    """The shape of a card token (anything else is not worth a query)."""
    return bool(token) and _TOKEN.match(token) is not None


def household_by_token(session: Session, token: str) -> Household | None:
    """The active household whose card token this is, or None (wrong, rotated or malformed)."""
    if not token_looks_valid(token):
        return None
    return (
        session.execute(
            select(Household)
            .where(Household.card_token == token, Household.active.is_(True))
            .options(joinedload(Household.group).joinedload(Group.village), joinedload(Household.members))
        )
        .unique()
        .scalar_one_or_none()
    )


def object_to_entry(
    session: Session, household: Household, entry_id: int, reason: str, *, ip: str | None = None
) -> Objection:
    """A household (through its card page) objects to one of its own entries.

    The core checks the notice window, ownership and the per-household daily limit.
    """
    entry = session.get(LedgerEntry, entry_id)
    if entry is None or entry.household_id != household.id:
        raise NotFound("entry", entry_id)
    objection = raise_objection(session, entry, household, reason)
    record(
        session,
        None,
        "objection.raise",
        village_id=household.village_id,
        target=f"entry {entry.id}",
        ip=ip,
        household=household.id,
        objection=objection.id,
    )
    session.flush()
    return objection


def report_missing(
    session: Session, household: Household, reason: str, missing_on=None, *, ip: str | None = None
) -> Objection:
    """ "漏记了？" from the card page: a report that names no entry."""
    objection = report_missing_entry(session, household, reason, missing_on=missing_on)
    record(
        session,
        None,
        "objection.missing",
        village_id=household.village_id,
        target=f"household {household.id}",
        ip=ip,
        objection=objection.id,
    )
    session.flush()
    return objection


__all__ = [
    "token_looks_valid",
    "card_path",
    "report_missing",
    "card_url",
    "rotate_card",
    "household_by_token",
    "object_to_entry",
    "Refused",
]
