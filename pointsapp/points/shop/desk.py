"""Finding a household at the desk: a scanned card link, a household number, or a name in
characters or pinyin (xmh, xiangminghua)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..pinyin import search_keys
from ..registry import Group, Household, Village, Villager, VillagerStatus

# A card link as a scanner types it: https://host/h/<token> (possibly with ?query or #anchor).
_CARD = re.compile(r"/h/([A-Za-z0-9_-]{16,64})(?:[/?#]|$)")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24,64}$")
MAX_MATCHES = 30

_keys = functools.lru_cache(maxsize=50_000)(search_keys)


@dataclass(frozen=True)
class Match:
    household_id: int
    number: str
    head: str
    group: str
    members: tuple[str, ...]
    how: str  # card, number, name


def card_token(text: str) -> str | None:
    """The card token in a scanned link (or a bare token), else None."""
    text = (text or "").strip()
    if m := _CARD.search(text):
        return m[1]
    return text if _TOKEN.match(text) and not text.isdigit() else None


def find_households(session: Session, village: Village, query: str) -> list[Match]:
    """Households of the village matching the query, best first (a card link gives one)."""
    query = (query or "").strip()
    if not query:
        return []
    homes = {
        h.id: h
        for h in session.execute(
            select(Household).where(Household.village_id == village.id, Household.active.is_(True))
        ).scalars()
    }
    if (token := card_token(query)) is not None:
        found = [h for h in homes.values() if h.card_token == token]
        if found or _CARD.search(query):
            return _matches(session, found, "card")
    q = query.lower()
    by_number = [h for h in homes.values() if h.number == query or (h.house_number or "") == query]
    people = session.execute(
        select(Villager.household_id, Villager.name).where(
            Villager.village_id == village.id, Villager.status == VillagerStatus.active
        )
    ).all()
    hits: list[int] = []
    for hid, name in people:
        if (
            hid in homes
            and hid not in hits
            and (q in name.lower() or any(k.startswith(q) for k in _keys(name).split()))
        ):
            hits.append(hid)
    ordered = by_number + [homes[h] for h in hits if homes[h] not in by_number]
    return _matches(session, ordered[:MAX_MATCHES], "number" if by_number else "name")


def _matches(session: Session, homes: list[Household], how: str) -> list[Match]:
    if not homes:
        return []
    groups = dict(session.execute(select(Group.id, Group.name).where(Group.id.in_({h.group_id for h in homes}))).all())
    out = []
    for h in homes:
        members = tuple(m.name for m in h.members if m.status == VillagerStatus.active)
        out.append(Match(h.id, h.number, h.head_name, groups.get(h.group_id, ""), members, how))
    return out
