"""A village's shop settings: the yearly reset day, the points budget and the star bands.

A village that never saved its settings uses :data:`DEFAULT_BANDS` (points over the year), so
stars appear without any configuration; the settings page shows these defaults.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import Refused
from ..registry import StaffUser, Village
from .models import ShopSettings

# (stars, threshold): points in the period, or the top percentage of households.
DEFAULT_BANDS: dict[str, list[tuple[int, int]]] = {
    "points": [(5, 300), (4, 200), (3, 120), (2, 60), (1, 20)],
    "percent": [(5, 5), (4, 15), (3, 30), (2, 50), (1, 70)],
}
STAR_PERIODS = ("year", "quarter")
STAR_MODES = ("points", "percent")
RESET_WARN_DAYS = 60  # the card warns this many days before the reset


@dataclass(frozen=True)
class Settings:
    reset_month: int | None = None
    reset_day: int | None = None
    points_budget: int | None = None
    star_period: str = "year"
    star_mode: str = "points"
    bands: tuple[tuple[int, int], ...] = field(default_factory=lambda: tuple(DEFAULT_BANDS["points"]))
    saved: bool = False

    @property
    def reset_on(self) -> bool:
        return self.reset_month is not None and self.reset_day is not None

    def reset_date(self, year: int) -> dt.date | None:
        """The day the redeemable points earned up to the end of ``year`` are cleared.

        A day in the new year (e.g. 1 January to 10 January) falls in ``year + 1``; 31 December
        falls in ``year`` itself.
        """
        if not self.reset_on:
            return None
        assert self.reset_month is not None and self.reset_day is not None
        if (self.reset_month, self.reset_day) == (12, 31):
            return dt.date(year, 12, 31)
        return _safe_date(year + 1, self.reset_month, self.reset_day)


def _safe_date(year: int, month: int, day: int) -> dt.date:
    """29 February in a common year is taken as 28 February."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return dt.date(year, month, 28)


def parse_bands(text: str | list[list[int]], mode: str) -> tuple[tuple[int, int], ...]:
    """Bands as [[stars, threshold], ...] (JSON or a list). Raises Refused naming the bad value."""
    try:
        raw = json.loads(text) if isinstance(text, str) else text
        bands = [(int(s), int(t)) for s, t in raw]
    except (TypeError, ValueError) as exc:
        raise Refused("bad_bands", f"star bands must be pairs of [stars, threshold]: {exc}") from None
    if not bands:
        raise Refused("bad_bands", "give at least one star band")
    stars = [s for s, _ in bands]
    if any(not 1 <= s <= 5 for s in stars) or len(set(stars)) != len(stars):
        raise Refused("bad_bands", "stars must be 1 to 5, each at most once")
    bands.sort(reverse=True)
    thresholds = [t for _, t in bands]
    if mode == "percent":
        if any(not 1 <= t <= 100 for t in thresholds) or thresholds != sorted(thresholds):
            raise Refused("bad_bands", "top-percentage bands must be 1-100 and widen as stars go down")
    elif any(t < 1 for t in thresholds) or thresholds != sorted(thresholds, reverse=True):
        raise Refused("bad_bands", "point thresholds must be at least 1 and fall as stars go down")
    if len(set(thresholds)) != len(thresholds):
        raise Refused("bad_bands", "two bands have the same threshold")
    return tuple(bands)


def get_settings(session: Session, village: Village) -> Settings:
    row = session.get(ShopSettings, village.id)
    if row is None:
        return Settings()
    return Settings(
        row.reset_month,
        row.reset_day,
        row.points_budget,
        row.star_period,
        row.star_mode,
        tuple(tuple(b) for b in json.loads(row.star_bands)),
        True,
    )


def save_settings(
    session: Session,
    village: Village,
    actor: StaffUser,
    *,
    reset_month: int | None,
    reset_day: int | None,
    points_budget: int | None,
    star_period: str,
    star_mode: str,
    bands: str | list[list[int]],
) -> Settings:
    """Validate and store the settings (the caller checks the ``shop.manage`` permission)."""
    if (reset_month is None) != (reset_day is None):
        raise Refused("bad_reset_day", "give both the month and the day of the reset, or neither")
    if reset_month is not None and reset_day is not None:
        if not 1 <= reset_month <= 12:
            raise Refused("bad_reset_day", f"month {reset_month} is not 1-12")
        try:
            dt.date(2024, reset_month, reset_day)  # a leap year allows 29 February
        except ValueError:
            raise Refused("bad_reset_day", f"{reset_month}-{reset_day} is not a day of the year") from None
    if points_budget is not None and points_budget < 0:
        raise Refused("bad_budget", "the points budget cannot be negative")
    if star_period not in STAR_PERIODS:
        raise Refused("bad_bands", f"star period must be one of {', '.join(STAR_PERIODS)}")
    if star_mode not in STAR_MODES:
        raise Refused("bad_bands", f"star mode must be one of {', '.join(STAR_MODES)}")
    parsed = parse_bands(bands, star_mode)
    row = session.get(ShopSettings, village.id)
    if row is None:
        row = ShopSettings(village_id=village.id)
        session.add(row)
    row.reset_month, row.reset_day, row.points_budget = reset_month, reset_day, points_budget
    row.star_period, row.star_mode = star_period, star_mode
    row.star_bands = json.dumps([list(b) for b in parsed])
    row.updated_at, row.updated_by_id = utcnow(), actor.id
    session.flush()
    return get_settings(session, village)
