"""The monthly award ceremony pack: projector charts (PNG), one PDF for print, one workbook.

``build_monthly_pack(session, village, "2026-10", Path("out"))`` writes into a folder:

* ``YYYY-MM-1-top10.png`` … ``YYYY-MM-5-trend.png``: 1920×1080 charts for the projector
  (the top households with full names for the ceremony, and a masked copy for public use);
* ``YYYY-MM-ceremony.pdf``: cover, charts, rankings, one 奖状 per top-N household, and the
  公示 list of the month's entries with the ledger digest and the objection window;
* ``YYYY-MM-workbook.xlsx``: 本月明细, 户积分, 小组汇总, 分类统计, 待审核, 兑换明细, 库存台账.

The shop's parts (redemptions, stock ledger, points redeemed by item, the 星级文明户 list)
come from :mod:`pointsapp.points.shop`.

It needs no Flask: give it a plain SQLAlchemy session. It only reads. An empty month gives
a valid pack that says so. Ties share a rank, so "top N" is every household ranked N or
better with points above zero (a tie at the edge can give more than N certificates).
"""
from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from ..points.awards import Tier, awarded_up_to, parse_tiers, tier_for
from ..points.notice import MonthSeal, Notice, month_seal, notice_for
from ..points.periods import local_today, parse_month
from ..points.registry import Village
from ..points.shop.report import RedemptionRow, StockRow, month_redemptions, redeemed_by_item, stock_ledger
from ..points.shop.settings import get_settings
from ..points.shop.stars import StarRow, star_period, star_ratings
from ..points.standings import BoardRow, leaderboard
from . import services  # charts (matplotlib) only where a chart is drawn
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


# --- charts -----------------------------------------------------------------------------

def chart_figures(data: PackData, size: str = "projector") -> list[tuple[str, object]]:
    """(file stem, Figure) of the pack's charts, in order."""
    from . import charts

    label = f"{data.village} {data.label}"
    top = [(PackData.household_label(r), r.points, r.rank) for r in data.top]
    public = [(PackData.household_label(r, masked=True), r.points, r.rank) for r in data.top]
    groups = [(r.name, r.points, r.per_head or 0.0) for r in data.groups] if not data.empty else []
    trend = data.trend if any(p or r for _m, p, r in data.trend) else []
    return [
        ("1-top10", charts.top_households(top, f"{label} 积分前{data.top_n}名农户", size)),
        ("2-top10-public", charts.top_households(public, f"{label} 积分前{data.top_n}名农户", size)),
        ("3-groups", charts.groups_compared(groups, f"{label} 各村民小组积分", size)),
        ("4-categories", charts.by_category([(c, p) for c, p, _n in data.categories],
                                            f"{label} 各类别积分", size)),
        ("5-trend", charts.trend(trend, f"{data.village} 每月积分与参与率", size)),
        ("6-redeemed", charts.by_category(data.redeemed_items, f"{label} 积分超市各商品兑换积分", size)),
    ]


#: Charts that go into the PDF (the masked copy is for public display only).
PDF_CHARTS = ("1-top10", "3-groups", "4-categories", "5-trend", "6-redeemed")


# --- the pack ---------------------------------------------------------------------------

@dataclass
class PackResult:
    village: str
    month: str
    out_dir: Path
    pngs: list[Path]
    pdf: Path
    xlsx: Path
    pdf_pages: int
    sections: dict[str, int]     # PDF pages per section
    entries: int
    total_points: int
    certificates: int
    empty: bool
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        return [*self.pngs, self.pdf, self.xlsx]

    def lines(self) -> list[str]:
        head = (f"{self.village} {self.month}: no posted entries" if self.empty else
                f"{self.village} {self.month}: {self.entries} entries, {self.total_points} points, "
                f"{self.certificates} certificates")
        return [head, *(f"  {p}" for p in self.files),
                f"  PDF {self.pdf_pages} pages; built in {self.seconds:.1f} s"]


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_description_str(self, desc: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(progress, total: int, desc: str):
    """``progress`` may be None (tqdm on a terminal), False (none), a factory
    ``progress(total, desc) -> bar`` (the CLI's), or a bar with ``update``."""
    if progress is False:
        return _NoBar()
    if progress is None:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="step", leave=False, disable=not sys.stderr.isatty())
    if hasattr(progress, "update"):
        return progress
    return progress(total, desc)


def build_monthly_pack(session: Session, village: Village, month: str, out_dir: Path, *,
                       top_n: int | None = None, progress=None, now: dt.datetime | None = None) -> PackResult:
    """Write the ceremony pack of ``village`` for ``month`` (YYYY-MM) into ``out_dir``.

    Raises ValueError for a bad month or top_n. Reads only; the caller owns the session.
    """
    from . import charts
    from .pdf import build_pdf
    from .workbook import build_workbook

    start = time.perf_counter()
    key = parse_month(month).key
    if top_n is not None and (top_n < 1 or top_n > 100):
        raise ValueError(f"top N must be 1-100, got {top_n}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    bar = _progress_bar(progress, 4, f"{village.name} {key}")

    def step(name: str, t0: float) -> float:
        timings[name] = round(time.perf_counter() - t0, 3)
        bar.update(1)
        return time.perf_counter()

    try:
        t = time.perf_counter()
        data = gather(session, village, key, top_n=top_n, now=now)
        t = step("gather", t)
        pngs: dict[str, tuple[Path, bytes]] = {}
        for stem, fig in chart_figures(data):
            png = charts.render_png(fig)
            path = out_dir / f"{key}-{stem}.png"
            path.write_bytes(png)
            pngs[stem] = (path, png)
        t = step("charts", t)
        pdf_path = out_dir / f"{key}-ceremony.pdf"
        sections = build_pdf(data, [pngs[s][1] for s in PDF_CHARTS], pdf_path)
        t = step("pdf", t)
        xlsx_path = out_dir / f"{key}-workbook.xlsx"
        build_workbook(data, xlsx_path)
        step("workbook", t)
    finally:
        bar.close()
    return PackResult(
        village=village.name, month=key, out_dir=out_dir, pngs=[p for p, _b in pngs.values()],
        pdf=pdf_path, xlsx=xlsx_path, pdf_pages=sum(sections.values()), sections=sections,
        entries=len(data.entries), total_points=data.summary.points, certificates=sections["certificates"],
        empty=data.empty, seconds=round(time.perf_counter() - start, 3), timings=timings)
