"""Award tiers of the monthly 评比 and the wording certificates need.

A village sets its tiers as text, one tier a line or separated by ";": a name and the
last rank it covers, e.g. "一等奖:3;二等奖:6;三等奖:10" or "积分示范户:10". Ranks are the
leaderboard's competition ranks (ties share a rank), so every household tied on a rank gets
the same tier, and a tie at the last rank can give more certificates than the bound.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import Refused

DEFAULT_TIERS = "一等奖:3;二等奖:6;三等奖:10"
MAX_TIERS = 10
MAX_RANK = 100
_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Tier:
    name: str
    up_to: int  # the last rank this tier covers


def parse_tiers(text: str | None) -> list[Tier]:
    """Tiers from the village's setting (None or blank: the default). Refuses bad text
    with a message naming the line."""
    text = (text or "").strip() or DEFAULT_TIERS
    tiers: list[Tier] = []
    parts = [p.strip() for p in re.split(r"[;；\n]+", text) if p.strip()]
    for part in parts:
        m = re.fullmatch(r"(.+?)\s*[:：\s]\s*(?:前|第)?\s*(\d{1,3})\s*名?", part)
        if not m:
            raise Refused(
                "bad_award_tiers", f"tier {part!r}: write a name and the last rank, e.g. 一等奖:3", value=part
            )
        name, up_to = m.group(1).strip(), int(m.group(2))
        if not 1 <= up_to <= MAX_RANK:
            raise Refused("bad_award_tiers", f"tier {part!r}: the last rank must be 1 to {MAX_RANK}", value=part)
        if len(name) > 20:
            raise Refused("bad_award_tiers", f"tier {part!r}: the name is longer than 20 characters", value=part)
        if tiers and up_to <= tiers[-1].up_to:
            raise Refused("bad_award_tiers", f"tier {part!r}: ranks must go up from tier to tier", value=part)
        tiers.append(Tier(name, up_to))
    if len(tiers) > MAX_TIERS:
        raise Refused("bad_award_tiers", f"at most {MAX_TIERS} tiers", value=text)
    return tiers


def format_tiers(tiers: list[Tier]) -> str:
    return ";".join(f"{t.name}:{t.up_to}" for t in tiers)


def tier_for(rank: int, tiers: list[Tier]) -> Tier | None:
    """The tier of a rank (None: no award)."""
    for t in tiers:
        if rank <= t.up_to:
            return t
    return None


def awarded_up_to(tiers: list[Tier]) -> int:
    return tiers[-1].up_to if tiers else 0


def chinese_year(year: int) -> str:
    """2026 → 二〇二六."""
    return "".join(_DIGITS[int(d)] for d in str(year))


def chinese_number(n: int) -> str:
    """1..31 → 一 … 三十一 (months and days as written on certificates)."""
    if not 1 <= n <= 99:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def chinese_month(day: dt.date) -> str:
    """二〇二六年十二月."""
    return f"{chinese_year(day.year)}年{chinese_number(day.month)}月"


def chinese_date(day: dt.date) -> str:
    """二〇二六年十二月一日."""
    return f"{chinese_month(day)}{chinese_number(day.day)}日"
