"""What the monthly ceremony pack shows, gathered once from the core: :class:`PackData` and
:func:`gather`, with the labels and constants that the pack's PDF and workbook share.

Kept apart from :mod:`.pack`, which builds the files, so that :mod:`.pdf` and :mod:`.workbook` import
the data without importing the module that imports them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..points.awards import Tier, awarded_up_to, parse_tiers, tier_for
from ..points.notice import MonthSeal, Notice, month_seal, notice_for
from ..points.periods import local_today, parse_month
from ..points.registry import Village
from ..points.shop.report import RedemptionRow, StockRow, month_redemptions, redeemed_by_item, stock_ledger
from ..points.shop.settings import get_settings
from ..points.shop.stars import StarRow, star_period, star_ratings
from ..points.standings import BoardRow, leaderboard
from . import services
from .services import EntryRow, GroupParticipation, Pending, Summary

#: How many households / villagers the PDF's ranking pages list.
RANKING_ROWS = 30


def month_label(month: str) -> str:
    p = parse_month(month)
    return f"{p.start.year}年{p.start.month}月"


def date_label(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass
class PackData:
    """Everything the pack shows, gathered once from the core."""

    village: str
    month: str
    issued_on: dt.date
    top_n: int
    summary: Summary
    previous: Summary
    households: list[BoardRow]          # every active household, ranked
    household_details: dict[int, tuple[str, str | None, int]]
    household_entries: dict[int, int]
    villagers: list[BoardRow]           # top RANKING_ROWS villagers
    groups: list[BoardRow]
    group_participation: list[GroupParticipation]
    categories: list[tuple[str, int, int]]
    trend: list[tuple[str, int, float | None]]
    entries: list[EntryRow]
    digest: MonthSeal
    notice: Notice | None
    pending: Pending
    redemptions: list[RedemptionRow] = field(default_factory=list)
    stock: list[StockRow] = field(default_factory=list)
    redeemed_items: list[tuple[str, int]] = field(default_factory=list)
    star_period: str = ""
    stars: list[StarRow] = field(default_factory=list)   # households with at least one star
    tiers: list[Tier] = field(default_factory=list)
    certificate_date: dt.date | None = None     # the village's setting; None: the day of issue
    timezone: str = "Asia/Shanghai"

    @property
    def certificate_day(self) -> dt.date:
        return self.certificate_date or self.issued_on

    def tier_of(self, rank: int) -> str | None:
        t = tier_for(rank, self.tiers)
        return t.name if t and rank <= self.top_n else None

    @property
    def tier_ranges(self) -> list[tuple[int, Tier]]:
        """(first rank, tier) of each tier."""
        out, lo = [], 1
        for t in self.tiers:
            out.append((lo, t))
            lo = t.up_to + 1
        return out

    @property
    def label(self) -> str:
        return month_label(self.month)

    def seal_lines(self) -> list[str]:
        """The month's 公示 check codes, one line per published notice (what villagers compare)."""
        d = self.digest
        if not d.published:
            return ["公示校验码：本月尚未发布公示（not published）"]
        out = []
        for n in d.notices:
            name = "公示" if n.number == 1 else f"补充公示{n.number - 1}"
            out.append(f"{name}校验码（{date_label(n.opens_on)}发布，{n.entry_count} 条，"
                       f"账本截至第 {n.head_seq} 条{'，已结账' if d.closed else ''}）：")
            out.append(n.digest)
        if d.unpublished:
            out.append(f"另有 {d.unpublished} 条本月记录在公示之后入账，等待补充公示。")
        return out

    @property
    def empty(self) -> bool:
        return not self.entries

    @property
    def top(self) -> list[BoardRow]:
        """Households ranked top_n or better with an award tier and points above zero (ties
        included: a tie on a rank shares its tier)."""
        return [r for r in self.households if r.rank is not None and r.points > 0 and self.tier_of(r.rank)]

    @staticmethod
    def household_label(row: BoardRow, masked: bool = False) -> str:
        name = services.mask_name(row.name) if masked else row.name
        return f"{name}户（{row.group}）"


def gather(session: Session, village: Village, month: str, *, top_n: int | None = None,
           now: dt.datetime | None = None) -> PackData:
    """``top_n`` defaults to the last rank of the village's award tiers."""
    p = parse_month(month)
    key = p.key
    tiers = parse_tiers(village.award_tiers)
    top_n = top_n or awarded_up_to(tiers)
    households = leaderboard(session, "household", key, village=village)
    groups = leaderboard(session, "group", key, village=village)
    stars_key = star_period(get_settings(session, village), p.start)
    return PackData(
        village=village.name, month=key, issued_on=local_today(village.timezone, now), top_n=top_n,
        summary=services.summary(session, village, key),
        previous=services.summary(session, village, services.previous_month(key)),
        households=households,
        household_details=services.household_details(session, village),
        household_entries=services.tally_entries(session, village, key, "h"),
        villagers=[r for r in leaderboard(session, "villager", key, village=village, limit=RANKING_ROWS)
                   if r.points != 0],
        groups=groups,
        group_participation=services.group_participation(session, village, key),
        categories=services.category_totals(session, village, key),
        trend=services.trend(session, village, key),
        entries=services.month_entries(session, village, key),
        digest=month_seal(session, village, key),
        notice=notice_for(session, village, key),
        pending=services.pending(session, village, key),
        redemptions=month_redemptions(session, village, p.start, p.end),
        stock=stock_ledger(session, village, p.start, p.end),
        redeemed_items=redeemed_by_item(session, village, p.start, p.end),
        star_period=stars_key,
        stars=[r for r in star_ratings(session, village, stars_key) if r.stars > 0],
        tiers=tiers, certificate_date=village.certificate_date, timezone=village.timezone,
    )


#: Charts that go into the PDF (the masked copy is for public display only).
PDF_CHARTS = ("1-top10", "3-groups", "4-categories", "5-trend", "6-redeemed")
