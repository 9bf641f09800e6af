"""Star ratings (星级文明户), computed from the ledger each time, never stored.

A household's stars for a quarter or a year come from its honour points in that period (the
running tallies of its posted entries, as on the board), by the village's bands: either point
thresholds (★★★★★ ≥ 300) or the top N% of households. Households with no points get no star.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..periods import parse_period, quarter_key, year_key
from ..registry import Village
from ..standings import leaderboard
from .settings import Settings, get_settings


@dataclass(frozen=True)
class StarRow:
    household: int
    name: str
    group: str
    points: int
    stars: int
    rank: int | None  # None: no points, not ranked

    def as_dict(self) -> dict[str, object]:
        return {
            "household": self.household,
            "name": self.name,
            "group": self.group,
            "points": self.points,
            "stars": self.stars,
        }


def star_period(settings: Settings, today: dt.date) -> str:
    """The period whose stars are shown now: the running quarter or year."""
    return quarter_key(today) if settings.star_period == "quarter" else year_key(today)


def check_period(period: str) -> str:
    key = parse_period(period).key
    if len(key) == 4 or "-Q" in key:
        return key
    raise ValueError(f"stars are given per quarter (YYYY-Qn) or year (YYYY), not {period!r}")


def stars_for(points: int, rank: int | None, ranked: int, settings: Settings) -> int:
    """Stars of one household: ``rank`` among ``ranked`` households with points."""
    if points <= 0 or rank is None:
        return 0
    for stars, threshold in settings.bands:  # highest band first
        if settings.star_mode == "percent":
            if rank <= math.ceil(ranked * threshold / 100):
                return stars
        elif points >= threshold:
            return stars
    return 0


def star_ratings(session: Session, village: Village, period: str, settings: Settings | None = None) -> list[StarRow]:
    """Every active household of the village with its points and stars, best first."""
    key = check_period(period)
    settings = settings or get_settings(session, village)
    board = leaderboard(session, "household", key, village=village)
    ranked = sum(1 for r in board if r.points > 0)
    return [
        StarRow(r.id, r.name, r.group, r.points, stars_for(r.points, r.rank, ranked, settings), r.rank) for r in board
    ]


def stars_of(session: Session, village: Village, household_id: int, period: str) -> int:
    for row in star_ratings(session, village, period):
        if row.household == household_id:
            return row.stars
    return 0


def star_text(stars: int) -> str:
    return "★" * stars
