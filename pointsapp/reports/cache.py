"""Charts for web pages, rendered once per (village, period, chart, filters, data).

A chart's file name carries a fingerprint of the data it shows: the number of posted
entries and the points of the village (or group) in each period the chart covers, read
from the running tallies (a few rows). Posting an entry for that period changes the
fingerprint, so the next request renders a new file; the same data is never rendered
twice. Files live under ``<cache_dir>/<village id>/``; older files of the same chart and
filters are removed when a new one is written.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..points.periods import month_range
from ..points.registry import Group, Village
from ..points.standings import Tally, leaderboard
from ..web.labels import PRINT_LOCALE, period_label
from . import services  # charts (matplotlib) only where a chart is drawn

CHART_NAMES = ("top_households", "groups", "categories", "trend")

#: Renders per chart name since start-up (tests and monitoring read it).
RENDERS: Counter[str] = Counter()

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class ChartRequest:
    village: Village
    chart: str
    period: str  # a normalised period key
    group: Group | None = None
    size: str = "web"

    def periods(self, village: Village) -> list[str]:
        if self.chart == "trend":
            return month_range(services.period_end_month(self.period, village))
        return [self.period]

    @property
    def stem(self) -> str:
        return f"{self.chart}-{self.period}-{self.group.id if self.group else 'all'}-{self.size}"


def fingerprint(session: Session, req: ChartRequest) -> str:
    """Entries and points per covered period, from the group tallies (the same for a
    village-wide chart and its group filter, as a group's change shows in its row)."""
    keys = req.periods(req.village)
    q = (
        select(Tally.period, func.sum(Tally.entries), func.sum(Tally.points))
        .where(Tally.village_id == req.village.id, Tally.kind == "g", Tally.period.in_(keys))
        .group_by(Tally.period)
        .order_by(Tally.period)
    )
    if req.group is not None:
        q = q.where(Tally.subject_id == req.group.id)
    text = ";".join(f"{p}:{n}:{s}" for p, n, s in session.execute(q))
    # the covered months are part of the key: a trend moves on at the turn of a month
    return hashlib.sha256(f"{req.stem}|{','.join(keys)}|{text}".encode()).hexdigest()[:16]


def _title(req: ChartRequest) -> str:
    where = req.village.name + (f" {req.group.name}" if req.group else "")
    label = period_label(req.period, PRINT_LOCALE)  # chart images are in Chinese
    return {
        "top_households": f"{where} {label} 积分前十名农户",
        "groups": f"{req.village.name} {label} 各村民小组积分",
        "categories": f"{where} {label} 各类别积分",
        "trend": f"{where} 每月积分与参与率",
    }[req.chart]


def build_figure(session: Session, req: ChartRequest):
    """The matplotlib Figure of a chart request (data from the core)."""
    from . import charts

    title, v = _title(req), req.village
    if req.chart == "top_households":
        rows = leaderboard(session, "household", req.period, village=v, group=req.group)
        data = [
            (f"{r.name}户（{r.group}）", r.points, r.rank)
            for r in rows
            if r.rank is not None and r.rank <= 10 and r.points > 0
        ]
        return charts.top_households(data, title, req.size)
    if req.chart == "groups":
        rows = leaderboard(session, "group", req.period, village=v)
        data = [(r.name, r.points, r.per_head or 0.0) for r in rows]
        if not any(r.points for r in rows):
            data = []
        return charts.groups_compared(data, title, req.size)
    if req.chart == "categories":
        data = [(c, p) for c, p, _n in services.category_totals(session, v, req.period, req.group)]
        return charts.by_category(data, title, req.size)
    if req.chart == "trend":
        rows = services.trend(session, v, services.period_end_month(req.period, v), group=req.group)
        return charts.trend(rows if any(p or r for _m, p, r in rows) else [], title, req.size)
    raise ValueError(f"unknown chart {req.chart!r}; expected one of {', '.join(CHART_NAMES)}")


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def chart_png(session: Session, req: ChartRequest, cache_dir: Path) -> tuple[Path, bool]:
    """The cached PNG of a chart request: (path, True if it was rendered now)."""
    from . import charts

    if req.chart not in CHART_NAMES:
        raise ValueError(f"unknown chart {req.chart!r}; expected one of {', '.join(CHART_NAMES)}")
    folder = Path(cache_dir) / str(req.village.id)
    return cached_png(
        folder, req.stem, fingerprint(session, req), req.chart, lambda: charts.render_png(build_figure(session, req))
    )


def cached_png(folder: Path, stem: str, fp: str, counter: str, render) -> tuple[Path, bool]:
    """Return ``folder/stem-fp.png``, rendering it once (under a lock) if it is missing.

    Older files of the same stem (other data) are removed; ``RENDERS[counter]`` counts renders.
    """
    path = folder / f"{stem}-{fp}.png"
    if path.exists():
        return path, False
    with _lock(str(path)):
        if path.exists():
            return path, False
        folder.mkdir(parents=True, exist_ok=True)
        png = render()
        RENDERS[counter] += 1
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(png)
        os.replace(tmp, path)
        for old in folder.glob(f"{stem}-*.png"):
            if old != path:
                old.unlink(missing_ok=True)
    return path, True
