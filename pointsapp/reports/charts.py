"""Charts for the points system, drawn with matplotlib's object API.

Every function takes plain Python data (no database access) and returns a
``matplotlib.figure.Figure`` bound to the Agg canvas, ready for ``render_png`` or
``save``. This module never imports pyplot (the stateful interface): there is no global figure
state, nothing to close, and it is safe in a web server.

Two output sizes:

* ``"projector"``: 1920×1080 px (16×9 in at 120 dpi), large text for a village hall;
* ``"a4"``: A4 portrait at 300 dpi, 2480×3508 px, for printing and notice boards;
* ``"web"``: 1280×720 px, the projector layout scaled down, for web pages.

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

# Colours: calm, high contrast on a projector and in greyscale print.
_PRIMARY = "#1f5f99"
_ACCENT = "#d9822b"
_NEGATIVE = "#8a8f98"
_PALETTE = ("#1f5f99", "#d9822b", "#2e8b57", "#b03a2e", "#6c4f9c",
            "#2a9d8f", "#c9a227", "#8c564b", "#4d7ea8", "#7f7f7f")
_GRID = "#d9dde3"
_TEXT = "#222222"
_MUTED = "#666666"


@dataclass(frozen=True)
class _Size:
    width_px: int
    height_px: int
    dpi: int
    base_pt: float      # tick labels, value labels
    title_pt: float     # the figure title
    label_pt: float     # axis labels, legends, panel titles

    @property
    def figsize(self) -> tuple[float, float]:
        return self.width_px / self.dpi, self.height_px / self.dpi

    def px_to_pt(self, px: float) -> float:
        return px * 72.0 / self.dpi


#: Known output sizes. Pixel sizes are exact.
SIZES: dict[str, _Size] = {
    "projector": _Size(1920, 1080, dpi=120, base_pt=17, title_pt=28, label_pt=19),
    "a4": _Size(2480, 3508, dpi=300, base_pt=10, title_pt=17, label_pt=11.5),
    # Web pages: the projector layout at two thirds of its pixels (same inches, lower dpi).
    "web": _Size(1280, 720, dpi=80, base_pt=17, title_pt=28, label_pt=19),
}


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
        fig.suptitle(title, fontproperties=font_properties(spec.title_pt),
                     color=_TEXT, parse_math=False)


def _empty(fig: Figure, spec: _Size, title: str) -> Figure:
    _title(fig, spec, title)
    fig.text(0.5, 0.5, NO_DATA, ha="center", va="center", color=_MUTED,
             fontproperties=font_properties(spec.title_pt * 1.6), parse_math=False)
    return fig


def _style_axes(ax, spec: _Size, *, value_axis: str, tick_pt: float | None = None) -> None:
    """Fonts on every tick label (rcParams-free), light grid on the value axis.

    ``tick_pt`` sizes the category labels; value ticks use the base size.
    """
    ax.tick_params(labelfontfamily=register_fonts(), labelsize=tick_pt or spec.base_pt,
                   colors=_TEXT, length=0)
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
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}".replace("-", "−")))


def _fmt_int(v: int) -> str:
    return f"{v:,}".replace("-", "−")


def _fmt_float(v: float) -> str:
    return f"{v:,.1f}".replace("-", "−")


def _category_font_pt(spec: _Size, n: int, extent_px: float) -> float:
    """A font size for n category labels sharing extent_px pixels."""
    per_row_px = extent_px / max(n, 1)
    return max(4.0, min(spec.base_pt, spec.px_to_pt(per_row_px * 0.6)))


def _bar_colors(values: Sequence[float], color: str) -> list[str]:
    return [_NEGATIVE if v < 0 else color for v in values]


def _bar_labels(ax, bars, labels: Sequence[str], spec: _Size, pt: float) -> None:
    ax.bar_label(bars, labels=list(labels), padding=3,
                 fontproperties=font_properties(pt), color=_TEXT)


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
    n = len(labels)
    longest = max((len(s) for s in labels), default=0)
    pt = spec.base_pt if n <= 24 else max(5.0, spec.base_pt * 24 / n)
    text_in = n * longest * 0.62 * pt / 72.0  # rough width of the labels laid flat
    slanted = text_in > 0.8 * spec.figsize[0]
    ax.set_xticks(range(n), labels=list(labels), parse_math=False)
    ax.tick_params(axis="x", labelsize=pt, labelfontfamily=register_fonts())
    if slanted:
        for lbl in ax.get_xticklabels():
            lbl.set_rotation(40)
            lbl.set_horizontalalignment("right")
            lbl.set_rotation_mode("anchor")


def _axes_height_px(spec: _Size, share: float = 0.78) -> float:
    return spec.height_px * share


# --------------------------------------------------------------------------- charts

def top_households(rows: Sequence[tuple[str, int]], title: str, size: str = "projector") -> Figure:
    """Horizontal bars of households' points, best at the top.

    ``rows`` are ``(name, points)``; they are sorted by points (highest first, ties in
    the order given). Names are drawn as given.
    """
    spec = _size(size)
    fig = _new_figure(spec)
    data = sorted(((str(name), int(points)) for name, points in rows), key=lambda r: -r[1])
    if not data:
        return _empty(fig, spec, title)
    _title(fig, spec, title)
    names = [r[0] for r in data]
    values = [r[1] for r in data]
    ax = fig.add_subplot()
    pt = _category_font_pt(spec, len(data), _axes_height_px(spec))
    bars = ax.barh(range(len(data)), values, height=0.66, color=_bar_colors(values, _PRIMARY))
    ax.set_yticks(range(len(data)), labels=names, parse_math=False)
    ax.invert_yaxis()
    _style_axes(ax, spec, value_axis="x", tick_pt=pt)
    _int_axis(ax.xaxis)
    _pad_value_axis(ax, values, "x")
    _bar_labels(ax, bars, [_fmt_int(v) for v in values], spec, pt)
    _axis_label(ax, spec, "x", _POINTS)
    return fig


def groups_compared(rows: Sequence[tuple[str, int, float]], title: str,
                    size: str = "projector") -> Figure:
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
    names = [r[0] for r in data]
    totals = [r[1] for r in data]
    per_head = [r[2] for r in data]
    pt = _category_font_pt(spec, len(data), _axes_height_px(spec))
    ax_total, ax_head = fig.subplots(1, 2, sharey=True)
    y = range(len(data))
    panels = (
        (ax_total, totals, _PRIMARY, _TOTAL, _POINTS, [_fmt_int(v) for v in totals], True),
        (ax_head, per_head, _ACCENT, _PER_HEAD, _POINTS_PER_HEAD,
         [_fmt_float(v) for v in per_head], False),
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


def trend(rows: Sequence[tuple[str, int, float | None]], title: str,
          size: str = "projector") -> Figure:
    """Monthly trend: points as bars (left axis), participation rate as a line (right).

    ``rows`` are ``(month label 'YYYY-MM', points, participation rate 0..1)`` in
    chronological order; a rate of ``None`` leaves a gap in the line.
    """
    spec = _size(size)
    fig = _new_figure(spec)
    data = [(str(m), int(p), math.nan if r is None else float(r)) for m, p, r in rows]
    if not data:
        return _empty(fig, spec, title)
    _title(fig, spec, title)
    months = [r[0] for r in data]
    points = [r[1] for r in data]
    rates = [r[2] * 100.0 for r in data]
    x = range(len(data))

    ax = fig.add_subplot()
    bars = ax.bar(x, points, width=0.62, color=_bar_colors(points, _PRIMARY), label=_POINTS)
    _style_axes(ax, spec, value_axis="y")
    _int_axis(ax.yaxis)
    _pad_value_axis(ax, points, "y", frac=0.12)
    _month_ticks(ax, spec, months)
    value_pt = spec.base_pt if len(data) <= 12 else spec.base_pt * 0.8
    if len(data) <= 24:
        _bar_labels(ax, bars, [_fmt_int(v) for v in points], spec, value_pt)
    _axis_label(ax, spec, "y", _POINTS)

    ax_rate = ax.twinx()
    (line,) = ax_rate.plot(list(x), rates, color=_ACCENT, linewidth=spec.base_pt * 0.18,
                           marker="o", markersize=spec.base_pt * 0.5, label=_PARTICIPATION)
    finite = [r for r in rates if not math.isnan(r)]
    ax_rate.set_ylim(0, max(100.0, *finite) * 1.05 if finite else 105.0)
    ax_rate.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    ax_rate.tick_params(labelfontfamily=register_fonts(), labelsize=spec.base_pt,
                        colors=_TEXT, length=4)
    ax_rate.tick_params(axis="y", color=_GRID)
    for side in ("top", "left"):
        ax_rate.spines[side].set_visible(False)
    ax_rate.spines["right"].set_color(_GRID)
    ax_rate.spines["bottom"].set_visible(False)
    _fix_offset_text(ax_rate, spec)
    _axis_label(ax_rate, spec, "y", _PARTICIPATION)

    ax.legend([bars, line], [_POINTS, _PARTICIPATION], loc="lower right",
              bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False,
              prop=font_properties(spec.base_pt))
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
    months = [r[0] for r in data]
    points = [r[1] for r in data]
    ax = fig.add_subplot()
    bars = ax.bar(range(len(data)), points, width=0.62, color=_bar_colors(points, _PRIMARY))
    _style_axes(ax, spec, value_axis="y")
    _int_axis(ax.yaxis)
    _pad_value_axis(ax, points, "y", frac=0.12)
    _month_ticks(ax, spec, months)
    if len(data) <= 24:
        _bar_labels(ax, bars, [_fmt_int(v) for v in points], spec, spec.base_pt)
    _axis_label(ax, spec, "y", _POINTS)
    ax.set_title(_YEAR_TOTAL.format(total=_fmt_int(sum(points))), loc="left",
                 fontproperties=font_properties(spec.label_pt), color=_MUTED)
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
