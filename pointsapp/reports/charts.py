"""Charts for the points system, drawn with matplotlib's object API.

Every function takes plain Python data (no database access) and returns a
``matplotlib.figure.Figure`` bound to the Agg canvas, ready for ``render_png`` or
``save``. This module never imports pyplot (the stateful interface): there is no global figure
state, nothing to close, and it is safe in a web server.

Three output sizes, each drawn for the size it is shown at:

* ``"projector"``: 1920×1080 px (16×9 in at 120 dpi), for a village hall;
* ``"a4"``: A4 landscape at 300 dpi, 3508×2480 px, for printing and notice boards;
* ``"web"``: 1440×960 px drawn for a 720×480 CSS px box at 2× pixel density (the staff
  dashboard shows it at that size, not a projector image shrunk to a third);
* ``"phone"``: 680×560 px for a 340×280 CSS px box at 2×, what a 360 px phone shows.

Every label (ticks, values, axis labels, legend) is at least ``MIN_LABEL_SHARE`` (3.5 %) of
the image height, so a chart reads from the back of a hall. Bar charts therefore show at
most ``max_rows(size)`` bars: the categories chart folds the rest into one bar, the other
charts say how many are not shown. ``top_households`` draws one bar per rank: households
tied on a rank share one bar, labelled with the rank and the number tied (含并列).

Titles and names are drawn exactly as given (no mathtext: ``$`` is just a dollar
sign); the caller masks names for public display. Labels this module adds itself are
Chinese. Fonts come from ``pointsapp.reports.fonts`` (shipped with the package), never
from rcParams, so the output does not depend on the machine or on a matplotlibrc.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from ..web.labels import PRINT_LOCALE, period_label
from .fonts import font_properties, register_fonts

__all__ = [
    "SIZES",
    "NO_DATA",
    "by_category",
    "groups_compared",
    "household_year",
    "render_png",
    "save",
    "top_households",
    "trend",
]

#: Text drawn instead of a chart when there is nothing to show.
NO_DATA = "暂无数据"

# Labels this module adds itself.
_POINTS = "积分"
_TOTAL = "总积分"
_PER_HEAD = "人均积分"
_POINTS_PER_HEAD = "积分/人"
_PARTICIPATION = "参与率"
_YEAR_TOTAL = "全年合计：{total} 分"
_RANK = "第{rank}名"
_TIED = "{name}等{n}户（并列）"
_TIES_NOTE = "名次相同为并列（含并列）"
_MORE = "另有 {n} 项未显示"
_OTHERS = "其他{n}类"

#: The smallest label, as a share of the image height.
MIN_LABEL_SHARE = 0.035

# Colours: calm, high contrast on a projector and in greyscale print.
_PRIMARY = "#1f5f99"
_ACCENT = "#d9822b"
_NEGATIVE = "#8a8f98"
_PALETTE = (
    "#1f5f99",
    "#d9822b",
    "#2e8b57",
    "#b03a2e",
    "#6c4f9c",
    "#2a9d8f",
    "#c9a227",
    "#8c564b",
    "#4d7ea8",
    "#7f7f7f",
)
_GRID = "#d9dde3"
_TEXT = "#222222"
_MUTED = "#666666"


@dataclass(frozen=True)
class _Size:
    width_px: int
    height_px: int
    dpi: int
    base_pt: float  # tick labels, value labels
    title_pt: float  # the figure title
    label_pt: float  # axis labels, legends, panel titles

    @property
    def figsize(self) -> tuple[float, float]:
        return self.width_px / self.dpi, self.height_px / self.dpi

    @property
    def min_pt(self) -> float:
        """The smallest label size allowed at this size (MIN_LABEL_SHARE of the height)."""
        return self.px_to_pt(self.height_px * MIN_LABEL_SHARE)

    def px_to_pt(self, px: float) -> float:
        return px * 72.0 / self.dpi


#: Known output sizes. Pixel sizes are exact.
SIZES: dict[str, _Size] = {
    # base_pt is just above MIN_LABEL_SHARE of the height: 1080 px → 37.8 px = 22.7 pt at 120 dpi
    "projector": _Size(1920, 1080, dpi=120, base_pt=23.5, title_pt=32, label_pt=25),
    "a4": _Size(3508, 2480, dpi=300, base_pt=21.5, title_pt=28, label_pt=23),
    # 720×480 CSS px at 2×: 200 dpi makes one point 100/72 CSS px, as on a 96-dpi screen
    "web": _Size(1440, 960, dpi=200, base_pt=12.6, title_pt=15.5, label_pt=13),
    # a phone's 360 px screen: 340×280 CSS px at 2×
    "phone": _Size(680, 560, dpi=200, base_pt=8.5, title_pt=10, label_pt=8.5),
}

#: Display size (CSS px) of the "web" and "phone" charts; templates use it for <img width/height>.
WEB_DISPLAY = (720, 480)
PHONE_DISPLAY = (340, 280)


# --------------------------------------------------------------------------- helpers


def _size(size: str) -> _Size:
    try:
        return SIZES[size]
    except KeyError:
        raise ValueError(f"unknown chart size {size!r}; expected one of {sorted(SIZES)}") from None


def _new_figure(spec: _Size) -> Figure:
    register_fonts()
    fig = Figure(figsize=spec.figsize, dpi=spec.dpi, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)  # binds itself as fig.canvas
    pad = 24 / spec.dpi  # ~24 px of margin around everything
    fig.get_layout_engine().set(w_pad=pad, h_pad=pad)
    return fig


def _title(fig: Figure, spec: _Size, title: str) -> None:
    if title:
        fig.suptitle(title, fontproperties=font_properties(spec.title_pt), color=_TEXT, parse_math=False)


def _empty(fig: Figure, spec: _Size, title: str) -> Figure:
    _title(fig, spec, title)
    fig.text(
        0.5,
        0.5,
        NO_DATA,
        ha="center",
        va="center",
        color=_MUTED,
        fontproperties=font_properties(spec.title_pt * 1.6),
        parse_math=False,
    )
    return fig


def _style_axes(ax, spec: _Size, *, value_axis: str, tick_pt: float | None = None) -> None:
    """Fonts on every tick label (rcParams-free), light grid on the value axis.

    ``tick_pt`` sizes the category labels; value ticks use the base size.
    """
    ax.tick_params(labelfontfamily=register_fonts(), labelsize=tick_pt or spec.base_pt, colors=_TEXT, length=0)
    ax.tick_params(axis=value_axis, labelsize=spec.base_pt, length=4, color=_GRID)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(_GRID)
    ax.grid(True, axis=value_axis, color=_GRID, linewidth=1.0)
    ax.set_axisbelow(True)
    _fix_offset_text(ax, spec)


def _fix_offset_text(ax, spec: _Size) -> None:
    for axis in (ax.xaxis, ax.yaxis):
        axis.get_offset_text().set_fontproperties(font_properties(spec.base_pt))


def _axis_label(ax, spec: _Size, which: str, text: str) -> None:
    fp = font_properties(spec.label_pt)
    if which == "x":
        ax.set_xlabel(text, fontproperties=fp, color=_TEXT)
    else:
        ax.set_ylabel(text, fontproperties=fp, color=_TEXT)


def _int_axis(axis) -> None:
    axis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}".replace("-", "−")))


def _fmt_int(v: int) -> str:
    return f"{v:,}".replace("-", "−")


def _fmt_float(v: float) -> str:
    return f"{v:,.1f}".replace("-", "−")


def _category_font_pt(spec: _Size, n: int, extent_px: float) -> float:
    """A font size for n category labels sharing extent_px pixels, never below min_pt."""
    per_row_px = extent_px / max(n, 1)
    return max(spec.min_pt, min(spec.base_pt, spec.px_to_pt(per_row_px * 0.6)))


def max_rows(size: str) -> int:
    """How many bars a horizontal bar chart of this size shows with labels at full size."""
    spec = _size(size)
    return max(3, int(_axes_height_px(spec) * 0.6 / (spec.height_px * MIN_LABEL_SHARE)))


def _text_px(text: str, spec: _Size, pt: float) -> float:
    """Rough drawn width of a text: CJK characters one em, others about 0.6 em."""
    em = pt * spec.dpi / 72
    return sum(em if ord(ch) > 0x2E80 else 0.6 * em for ch in text)


def _wrap(text: str, spec: _Size, pt: float, share: float = 0.95) -> str:
    """Break a text into lines that fit ``share`` of the image width."""
    room = spec.width_px * share
    lines, line = [], ""
    for ch in text:
        if line and _text_px(line + ch, spec, pt) > room:
            lines.append(line)
            line = ch
        else:
            line += ch
    return "\n".join([*lines, line])


def _note(fig: Figure, spec: _Size, text: str) -> None:
    """Explanation under the chart, at the base label size, wrapped to the width."""
    fig.supxlabel(_wrap(text, spec, spec.base_pt), fontproperties=font_properties(spec.base_pt), color=_MUTED)


def _bar_colors(values: Sequence[float], color: str) -> list[str]:
    return [_NEGATIVE if v < 0 else color for v in values]


def _bar_labels(ax, bars, labels: Sequence[str], spec: _Size, pt: float) -> None:
    ax.bar_label(bars, labels=list(labels), padding=3, fontproperties=font_properties(pt), color=_TEXT)


def _pad_value_axis(ax, values: Sequence[float], axis: str, frac: float = 0.14) -> None:
    """Room beyond the longest bars (both ways) for value labels; always include zero."""
    lo, hi = min(0.0, *values), max(0.0, *values)
    span = (hi - lo) or 1.0
    if lo < 0:
        lo -= span * frac
    if hi > 0 or lo == 0:
        hi += span * frac
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo, hi)


def _month_ticks(ax, spec: _Size, labels: Sequence[str]) -> None:
    """Month labels on the x axis, slanted when they would not fit side by side."""
    pt = spec.base_pt
    widest = max((_text_px(s, spec, pt) for s in labels), default=0.0)
    slanted = len(labels) * widest * 1.15 > 0.8 * spec.width_px  # the labels laid flat would touch
    ax.set_xticks(range(len(labels)), labels=list(labels), parse_math=False)
    ax.tick_params(axis="x", labelsize=pt, labelfontfamily=register_fonts())
    if slanted:
        for lbl in ax.get_xticklabels():
            lbl.set_rotation(40)
            lbl.set_horizontalalignment("right")
            lbl.set_rotation_mode("anchor")


def _axes_height_px(spec: _Size, share: float = 0.72) -> float:
    return spec.height_px * share


# --------------------------------------------------------------------------- charts


def rank_rows(rows: Sequence[tuple]) -> list[tuple[int, list[str], int]]:
    """``(name, points)`` or ``(name, points, rank)`` rows → ``(rank, names, points)`` per
    rank, best first. Without ranks, equal points share a rank (1, 2, 2, 4: competition
    ranking, as the leaderboard counts)."""
    data = [(str(r[0]), int(r[1]), int(r[2]) if len(r) > 2 else None) for r in rows]
    data.sort(key=lambda r: -r[1])
    out: list[tuple[int, list[str], int]] = []
    for i, (name, points, rank) in enumerate(data):
        if rank is None:
            rank = out[-1][0] if out and out[-1][2] == points else i + 1
        if out and out[-1][0] == rank:
            out[-1][1].append(name)
        else:
            out.append((rank, [name], points))
    return out


def rank_label(rank: int, names: Sequence[str]) -> str:
    """ "第4名  向*明户" or, for a tie, "第4名  向*明户等3户（并列）"."""
    who = names[0] if len(names) == 1 else _TIED.format(name=names[0], n=len(names))
    return f"{_RANK.format(rank=rank)}  {who}"


def top_households(rows: Sequence[tuple], title: str, size: str = "projector") -> Figure:
    """Horizontal bars of households' points, best at the top, one bar per rank.

    ``rows`` are ``(name, points)`` or ``(name, points, rank)``. Households tied on a rank
    share one bar whose label gives the rank and how many are tied, so a top 10 with ties
    stays at most ten bars (and at most ``max_rows(size)``). Names are drawn as given.
    """
    spec = _size(size)
    fig = _new_figure(spec)
    ranked = rank_rows(rows)[: max_rows(size)]
    if not ranked:
        return _empty(fig, spec, title)
    _title(fig, spec, title)
    names = [rank_label(rank, who) for rank, who, _p in ranked]
    values = [p for _r, _w, p in ranked]
    ax = fig.add_subplot()
    pt = _category_font_pt(spec, len(ranked), _axes_height_px(spec))
    bars = ax.barh(range(len(ranked)), values, height=0.66, color=_bar_colors(values, _PRIMARY))
    ax.set_yticks(range(len(ranked)), labels=names, parse_math=False)
    ax.invert_yaxis()
    _style_axes(ax, spec, value_axis="x", tick_pt=pt)
    _int_axis(ax.xaxis)
    _pad_value_axis(ax, values, "x")
    _bar_labels(ax, bars, [_fmt_int(v) for v in values], spec, pt)
    _axis_label(ax, spec, "x", _POINTS)
    if any(len(who) > 1 for _r, who, _p in ranked):
        _note(fig, spec, _TIES_NOTE)
    return fig


def groups_compared(rows: Sequence[tuple[str, int, float]], title: str, size: str = "projector") -> Figure:
    """Two panels side by side: each group's total points and points per head.

    ``rows`` are ``(group name, total, per head)``, drawn top to bottom in the order
    given.
    """
    spec = _size(size)
    fig = _new_figure(spec)
    data = [(str(name), int(total), float(per_head)) for name, total, per_head in rows]
    if not data:
        return _empty(fig, spec, title)
    _title(fig, spec, title)
    hidden = max(0, len(data) - max_rows(size))
    data = data[: max_rows(size)]
    if hidden:
        _note(fig, spec, _MORE.format(n=hidden))
    names = [r[0] for r in data]
    totals = [r[1] for r in data]
    per_head = [r[2] for r in data]
    pt = _category_font_pt(spec, len(data), _axes_height_px(spec))
    ax_total, ax_head = fig.subplots(1, 2, sharey=True)
    y = range(len(data))
    panels = (
        (ax_total, totals, _PRIMARY, _TOTAL, _POINTS, [_fmt_int(v) for v in totals], True),
        (ax_head, per_head, _ACCENT, _PER_HEAD, _POINTS_PER_HEAD, [_fmt_float(v) for v in per_head], False),
    )
    for ax, values, color, panel_title, xlabel, labels, integer in panels:
        bars = ax.barh(y, values, height=0.66, color=_bar_colors(values, color))
        _style_axes(ax, spec, value_axis="x", tick_pt=pt)
        if integer:
            _int_axis(ax.xaxis)
        _pad_value_axis(ax, values, "x", frac=0.18)
        _bar_labels(ax, bars, labels, spec, pt)
        ax.set_title(panel_title, fontproperties=font_properties(spec.label_pt), color=_TEXT)
        _axis_label(ax, spec, "x", xlabel)
    ax_total.set_yticks(list(y), labels=names, parse_math=False)
    ax_total.invert_yaxis()  # shared: applies to both panels
    ax_head.tick_params(axis="y", labelleft=False)
    return fig


def by_category(rows: Sequence[tuple[str, int]], title: str, size: str = "projector") -> Figure:
    """Points by category (党建引领, 廉洁教育, 政策宣传, …), top to bottom in the order given.

    When no value is negative, each bar also shows its share of the total.
    """
    spec = _size(size)
    fig = _new_figure(spec)
    data = [(str(name), int(points)) for name, points in rows]
    if not data:
        return _empty(fig, spec, title)
    _title(fig, spec, title)
    limit = max_rows(size)
    if len(data) > limit:
        rest = data[limit - 1 :]
        data = data[: limit - 1] + [(_OTHERS.format(n=len(rest)), sum(p for _n, p in rest))]
    names = [r[0] for r in data]
    values = [r[1] for r in data]
    total = sum(values)
    show_share = total > 0 and min(values) >= 0
    labels = [f"{_fmt_int(v)}（{v / total:.0%}）" if show_share else _fmt_int(v) for v in values]
    colors = [_NEGATIVE if v < 0 else _PALETTE[i % len(_PALETTE)] for i, v in enumerate(values)]
    pt = _category_font_pt(spec, len(data), _axes_height_px(spec))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(data)), values, height=0.66, color=colors)
    ax.set_yticks(range(len(data)), labels=names, parse_math=False)
    ax.invert_yaxis()
    _style_axes(ax, spec, value_axis="x", tick_pt=pt)
    _int_axis(ax.xaxis)
    _pad_value_axis(ax, values, "x", frac=0.22 if show_share else 0.14)
    _bar_labels(ax, bars, labels, spec, pt)
    _axis_label(ax, spec, "x", _POINTS)
    return fig


#: What the trend chart's participation means, printed on the chart.
PARTICIPATION_NOTE = "参与率：当月有积分记录（不含年度基础分）的农户占在册农户的比例"


def _month_names(keys: Sequence[str]) -> tuple[list[str], str]:
    """'2026-01' keys → ('1月', …) tick labels and an axis label naming the span of years;
    other labels are kept as given."""
    parsed = []
    for k in keys:
        y, _, m = k.partition("-")
        if not (len(y) == 4 and y.isdigit() and m.isdigit() and 1 <= int(m) <= 12):
            return list(keys), ""
        parsed.append((int(y), int(m)))
    labels = [f"{m}月" for _y, m in parsed]
    first, last = (period_label(k, PRINT_LOCALE) for k in (keys[0], keys[-1]))
    span = first if first == last else f"{first}至{last}"
    return labels, span


def _values_fit(spec: _Size, n: int, labels: Sequence[str], pt: float) -> bool:
    """Whether value labels over n side-by-side bars fit without touching."""
    slot = spec.width_px * 0.75 / max(n, 1)
    widest = max((_text_px(s, spec, pt) for s in labels), default=0.0)
    return widest < slot * 0.95


def trend(
    rows: Sequence[tuple[str, int, float | None]],
    title: str,
    size: str = "projector",
    note: str | None = PARTICIPATION_NOTE,
) -> Figure:
    """Monthly trend: points as bars (left axis), participation rate as a line (right).

    ``rows`` are ``(month label 'YYYY-MM', points, participation rate 0..1)`` in
    chronological order; a rate of ``None`` leaves a gap in the line. ``note`` (what the
    participation rate means) is printed under the chart.
    """
    spec = _size(size)
    fig = _new_figure(spec)
    data = [(str(m), int(p), math.nan if r is None else float(r)) for m, p, r in rows]
    if not data:
        return _empty(fig, spec, title)
    _title(fig, spec, title)
    months, span = _month_names([r[0] for r in data])
    points = [r[1] for r in data]
    rates = [r[2] * 100.0 for r in data]
    x = range(len(data))

    ax = fig.add_subplot()
    bars = ax.bar(x, points, width=0.62, color=_bar_colors(points, _PRIMARY), label=_POINTS)
    _style_axes(ax, spec, value_axis="y")
    _int_axis(ax.yaxis)
    _pad_value_axis(ax, points, "y", frac=0.12)
    _month_ticks(ax, spec, months)
    values = [_fmt_int(v) for v in points]
    if _values_fit(spec, len(data), values, spec.base_pt):
        _bar_labels(ax, bars, values, spec, spec.base_pt)
    _axis_label(ax, spec, "y", _POINTS)
    if span:
        _axis_label(ax, spec, "x", span)
    if note:
        _note(fig, spec, note)

    ax_rate = ax.twinx()
    (line,) = ax_rate.plot(
        list(x),
        rates,
        color=_ACCENT,
        linewidth=spec.base_pt * 0.18,
        marker="o",
        markersize=spec.base_pt * 0.5,
        label=_PARTICIPATION,
    )
    finite = [r for r in rates if not math.isnan(r)]
    ax_rate.set_ylim(0, max(100.0, *finite) * 1.05 if finite else 105.0)
    ax_rate.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    ax_rate.tick_params(labelfontfamily=register_fonts(), labelsize=spec.base_pt, colors=_TEXT, length=4)
    ax_rate.tick_params(axis="y", color=_GRID)
    for side in ("top", "left"):
        ax_rate.spines[side].set_visible(False)
    ax_rate.spines["right"].set_color(_GRID)
    ax_rate.spines["bottom"].set_visible(False)
    _fix_offset_text(ax_rate, spec)
    _axis_label(ax_rate, spec, "y", _PARTICIPATION)

    ax.legend(
        [bars, line],
        [_POINTS, _PARTICIPATION],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=2,
        frameon=False,
        prop=font_properties(spec.base_pt),
    )
    return fig


def household_year(rows: Sequence[tuple[str, int]], title: str, size: str = "projector") -> Figure:
    """One household's year: points per month as bars, with the year's total.

    ``rows`` are ``(month label, points)`` in chronological order.
    """
    spec = _size(size)
    fig = _new_figure(spec)
    data = [(str(m), int(p)) for m, p in rows]
    if not data:
        return _empty(fig, spec, title)
    _title(fig, spec, title)
    months, span = _month_names([r[0] for r in data])
    points = [r[1] for r in data]
    ax = fig.add_subplot()
    bars = ax.bar(range(len(data)), points, width=0.62, color=_bar_colors(points, _PRIMARY))
    _style_axes(ax, spec, value_axis="y")
    _int_axis(ax.yaxis)
    _pad_value_axis(ax, points, "y", frac=0.12)
    _month_ticks(ax, spec, months)
    if span:
        _axis_label(ax, spec, "x", span)
    values = [_fmt_int(v) for v in points]
    if _values_fit(spec, len(data), values, spec.base_pt):
        _bar_labels(ax, bars, values, spec, spec.base_pt)
    _axis_label(ax, spec, "y", _POINTS)
    ax.set_title(
        _YEAR_TOTAL.format(total=_fmt_int(sum(points))),
        loc="left",
        fontproperties=font_properties(spec.label_pt),
        color=_MUTED,
    )
    return fig


# --------------------------------------------------------------------------- output


def _agg_canvas(fig: Figure) -> FigureCanvasAgg:
    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(fig)
    return canvas


def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, exactly at the figure's pixel size.

    Written by the Agg canvas directly, so neither ``savefig.bbox`` nor any other
    rcParam can crop or rescale it.
    """
    buf = io.BytesIO()
    _agg_canvas(fig).print_png(buf)
    return buf.getvalue()


def save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write the figure to ``path``; the format follows the suffix (png, pdf, svg, …).

    PNG goes through ``render_png`` (exact pixel size). Returns the path.
    """
    path = Path(path)
    if path.suffix.lower() == ".png":
        path.write_bytes(render_png(fig))
    else:
        _agg_canvas(fig)
        fig.savefig(path, dpi=fig.dpi, facecolor="white", bbox_inches=fig.bbox_inches)
    return path
