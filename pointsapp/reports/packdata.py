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
from ..points.names import mask_name
from ..points.notice import MonthSeal, Notice, awaiting_notice, month_seal, notice_for
from ..points.periods import DEFAULT_TZ, local_today, parse_month, previous_month
from ..points.registry import Village
from ..points.shop.report import RedemptionRow, StockRow, month_redemptions, redeemed_by_item, stock_ledger
from ..points.shop.settings import get_settings
from ..points.shop.stars import StarRow, star_period, star_ratings
from ..points.standings import BoardRow, leaderboard
from ..web.labels import PRINT_LOCALE, period_label
from . import services
from .services import EntryRow, GroupParticipation, Pending, Summary

#: How many households / villagers the PDF's ranking pages list.
RANKING_ROWS = 30


def date_label(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass
class NoticeSection:
    """One table of the PDF's 公示 part: a published notice and exactly the entries it lists
    (``notice`` set), or entries that no published notice lists (``notice`` None)."""

    title: str
    subtitle: str
    lead: list[str]
    entries: list[EntryRow]
    notice: Notice | None = None


def notice_name(n: Notice) -> str:
    return "公示" if n.number == 1 else f"补充公示{n.number - 1}"


@dataclass
class PackData:
    """Everything the pack shows, gathered once from the core."""

    village: str
    month: str
    issued_on: dt.date
    top_n: int
    summary: Summary
    previous: Summary
    households: list[BoardRow]  # every active household, ranked
    household_details: dict[int, tuple[str, str | None, int]]
    household_entries: dict[int, int]
    villagers: list[BoardRow]  # top RANKING_ROWS villagers
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
    stars: list[StarRow] = field(default_factory=list)  # households with at least one star
    tiers: list[Tier] = field(default_factory=list)
    certificate_date: dt.date | None = None  # the village's setting; None: the day of issue
    timezone: str = DEFAULT_TZ
    notice_sections: list[NoticeSection] = field(default_factory=list)

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
        return period_label(self.month, PRINT_LOCALE)

    def seal_lines(self) -> list[str]:
        """The month's 公示 check codes, one line per published notice (what villagers compare)."""
        d = self.digest
        if not d.published:
            return ["公示校验码：本月尚未发布公示（not published）"]
        out = []
        for n in d.notices:
            out.append(
                f"{notice_name(n)}校验码（{date_label(n.opens_on)}发布，{n.entry_count} 条，"
                f"账本截至第 {n.head_seq} 条{'，已结账' if d.closed else ''}）："
            )
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
        name = mask_name(row.name) if masked else row.name
        return f"{name}户（{row.group}）"


def notice_sections(
    session: Session, village: Village, month: str, seal: MonthSeal, entries: list[EntryRow]
) -> list[NoticeSection]:
    """The 公示 part of the PDF: what each notice of the month published, as published (its
    frozen list, its check code, its window), then what no notice lists yet, clearly apart.
    Before the month is published: a draft of the month's entries (``entries``)."""
    label = period_label(month, PRINT_LOCALE)
    if not seal.notices:
        draft = [e for e in entries if e.kind not in services.SPENDING]  # shop spending is never on a 公示
        return [
            NoticeSection(
                f"{label} 积分公示（草稿）",
                "本月尚未发布公示：以下是本月已审核的记录，不是已发布的公示",
                ["公示校验码：本月尚未发布公示，发布后才有校验码。"],
                draft,
            )
        ]
    out = []
    for n in seal.notices:
        rows = services.notice_entry_rows(session, village, n.id)
        out.append(
            NoticeSection(
                f"{label} 积分{notice_name(n)}",
                f"{date_label(n.opens_on)}发布的{notice_name(n)}所列记录，按账本顺序",
                [
                    f"{notice_name(n)}校验码（{n.entry_count} 条，账本截至第 {n.head_seq} 条）：",
                    n.digest,
                    f"公示期：{date_label(n.opens_on)} 至 {date_label(n.closes_on)}，期间村民可对本户记录提出异议",
                ],
                rows,
                n,
            )
        )
    if seal.unpublished:
        seqs = [e.seq for e in awaiting_notice(session, village, month)]
        out.append(
            NoticeSection(
                f"{label} 公示后入账、尚未公示的记录",
                "以下记录不在已发布的公示内，等待补充公示",
                [f"共 {len(seqs)} 条：在公示发布之后审核入账（或更正本月记录），发布补充公示后才进入公示。"],
                services.entry_rows_by_seq(session, village, seqs),
            )
        )
    return out


def gather(
    session: Session, village: Village, month: str, *, top_n: int | None = None, now: dt.datetime | None = None
) -> PackData:
    """``top_n`` defaults to the last rank of the village's award tiers."""
    p = parse_month(month)
    key = p.key
    tiers = parse_tiers(village.award_tiers)
    top_n = top_n or awarded_up_to(tiers)
    households = leaderboard(session, "household", key, village=village)
    groups = leaderboard(session, "group", key, village=village)
    stars_key = star_period(get_settings(session, village), p.start)
    entries = services.month_entries(session, village, key)
    seal = month_seal(session, village, key)
    return PackData(
        village=village.name,
        month=key,
        issued_on=local_today(village.timezone, now),
        top_n=top_n,
        summary=services.summary(session, village, key),
        previous=services.summary(session, village, previous_month(key)),
        households=households,
        household_details=services.household_details(session, village),
        household_entries=services.tally_entries(session, village, key, "h"),
        villagers=[
            r for r in leaderboard(session, "villager", key, village=village, limit=RANKING_ROWS) if r.points != 0
        ],
        groups=groups,
        group_participation=services.group_participation(session, village, key),
        categories=services.category_totals(session, village, key),
        trend=services.trend(session, village, key),
        entries=entries,
        digest=seal,
        notice=notice_for(session, village, key),
        pending=services.pending(session, village, key),
        redemptions=month_redemptions(session, village, p.start, p.end),
        stock=stock_ledger(session, village, p.start, p.end),
        redeemed_items=redeemed_by_item(session, village, p.start, p.end),
        star_period=stars_key,
        stars=[r for r in star_ratings(session, village, stars_key) if r.stars > 0],
        tiers=tiers,
        certificate_date=village.certificate_date,
        timezone=village.timezone,
        notice_sections=notice_sections(session, village, key, seal, entries),
    )


#: Charts that go into the PDF (the masked copy is for public display only).
PDF_CHARTS = ("1-top10", "3-groups", "4-categories", "5-trend", "6-redeemed")
