"""The monthly award ceremony pack: projector charts (PNG), one PDF for print, one workbook.

``build_monthly_pack(session, village, "2026-10", Path("out"))`` writes into a folder:

* ``YYYY-MM-1-top10.png`` … ``YYYY-MM-5-trend.png``: 1920×1080 charts for the projector
  (the top households with full names for the ceremony, and a masked copy for public use);
* ``YYYY-MM-ceremony.pdf``: cover, charts, rankings, one 奖状 per top-N household, and the
  公示: each published notice of the month (main, then supplements) with exactly the entries
  it lists, its own check code and objection window; entries posted since, which no notice
  lists yet, follow under their own title (a draft of the month while nothing is published);
* ``YYYY-MM-workbook.xlsx``: 本月明细, 户积分, 小组汇总, 分类统计, 待审核, 兑换明细, 库存台账.

The shop's parts (redemptions, stock ledger, points redeemed by item, the 星级文明户 list)
come from :mod:`pointsapp.points.shop`.

It needs no Flask: give it a plain SQLAlchemy session. It only reads. An empty month gives
a valid pack that says so. Ties share a rank, so "top N" is every household ranked N or
better with points above zero (a tie at the edge can give more than N certificates).

What the pack shows is gathered in :mod:`.packdata`.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from ..points.periods import parse_month
from ..points.registry import Village
from .packdata import PDF_CHARTS, PackData, gather
from .pdf import build_pdf
from .workbook import build_workbook


# --- charts -----------------------------------------------------------------------------


def chart_figures(data: PackData, size: str = "projector") -> list[tuple[str, object]]:
    """(file stem, Figure) of the pack's charts, in order."""
    from . import charts  # matplotlib only where a chart is drawn

    label = f"{data.village} {data.label}"
    top = [(PackData.household_label(r), r.points, r.rank) for r in data.top]
    public = [(PackData.household_label(r, masked=True), r.points, r.rank) for r in data.top]
    groups = [(r.name, r.points, r.per_head or 0.0) for r in data.groups] if not data.empty else []
    trend = data.trend if any(p or r for _m, p, r in data.trend) else []
    return [
        ("1-top10", charts.top_households(top, f"{label} 积分前{data.top_n}名农户", size)),
        ("2-top10-public", charts.top_households(public, f"{label} 积分前{data.top_n}名农户", size)),
        ("3-groups", charts.groups_compared(groups, f"{label} 各村民小组积分", size)),
        ("4-categories", charts.by_category([(c, p) for c, p, _n in data.categories], f"{label} 各类别积分", size)),
        ("5-trend", charts.trend(trend, f"{data.village} 每月积分与参与率", size)),
        ("6-redeemed", charts.by_category(data.redeemed_items, f"{label} 积分超市各商品兑换积分", size)),
    ]


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
    sections: dict[str, int]  # PDF pages per section
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
        head = (
            f"{self.village} {self.month}: no posted entries"
            if self.empty
            else f"{self.village} {self.month}: {self.entries} entries, {self.total_points} points, "
            f"{self.certificates} certificates"
        )
        return [head, *(f"  {p}" for p in self.files), f"  PDF {self.pdf_pages} pages; built in {self.seconds:.1f} s"]


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


def build_monthly_pack(
    session: Session,
    village: Village,
    month: str,
    out_dir: Path,
    *,
    top_n: int | None = None,
    progress=None,
    now: dt.datetime | None = None,
) -> PackResult:
    """Write the ceremony pack of ``village`` for ``month`` (YYYY-MM) into ``out_dir``.

    Raises ValueError for a bad month or top_n. Reads only; the caller owns the session.
    """
    from . import charts  # matplotlib only where a chart is drawn

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
        village=village.name,
        month=key,
        out_dir=out_dir,
        pngs=[p for p, _b in pngs.values()],
        pdf=pdf_path,
        xlsx=xlsx_path,
        pdf_pages=sum(sections.values()),
        sections=sections,
        entries=len(data.entries),
        total_points=data.summary.points,
        certificates=sections["certificates"],
        empty=data.empty,
        seconds=round(time.perf_counter() - start, 3),
        timings=timings,
    )
