"""Charts: real CJK glyphs (including rare name characters), exact pixel sizes, empty
data, no pyplot, and no dependence on matplotlib's font cache. No Flask app needed."""

from __future__ import annotations

import ast
import os
import struct
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from pointsapp.reports import charts, fonts

REPO = Path(__file__).resolve().parents[2]

# 䶮 is CJK Ext A (U+4DAE), 𠮷 is CJK Ext B (U+20BB7, outside the BMP).
HOUSEHOLDS = [
    ("杨明𠮷", 117),
    ("贾德䶮", 128),
    ("欧阳兰宏", 96),
    ("张三", 88),
    ("李四", 75),
    ("王五", 60),
    ("赵六", 52),
    ("钱七", 40),
    ("孙八", 21),
    ("周九", -5),
]
GROUPS = [
    ("第一村民小组（贾德䶮）", 1520, 38.0),
    ("第二村民小组（杨明𠮷）", 1310, 41.25),
    ("第三村民小组", 980, 29.7),
    ("第四村民小组", -15, -0.5),
]
CATEGORIES = [
    ("党建引领", 820),
    ("廉洁教育", 410),
    ("政策宣传", 365),
    ("人居环境", 1210),
    ("乡风文明", 640),
    ("平安建设", 280),
]
TREND = [
    (f"2024-{m:02d}", p, r)
    for m, p, r in zip(
        range(1, 13),
        [320, 410, 380, 455, 500, 470, 390, 520, 610, 580, 640, -20],
        [0.42, 0.48, None, 0.51, 0.55, 0.53, 0.47, 0.58, 0.63, 0.61, 0.66, 1.0],
    )
]
HOUSEHOLD_YEAR = [(f"2024-{m:02d}", p) for m, p in zip(range(1, 13), [5, 8, 0, 12, 6, -3, 9, 10, 4, 7, 11, 15])]

CHARTS = {
    "top_households": (charts.top_households, HOUSEHOLDS, "积分排行榜 贾德䶮 杨明𠮷 欧阳兰宏"),
    "groups_compared": (charts.groups_compared, GROUPS, "各村民小组积分对比"),
    "by_category": (charts.by_category, CATEGORIES, "各类别积分（含 $ 与 % 符号）"),
    "trend": (charts.trend, TREND, "近十二个月积分与参与率"),
    "household_year": (charts.household_year, HOUSEHOLD_YEAR, "杨明𠮷户 2024 年积分"),
}
EXPECTED_PX = {"projector": (1920, 1080), "a4": (3508, 2480), "web": (1440, 960)}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header (the IHDR chunk comes first)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def render_recording_warnings(build) -> tuple[bytes, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.render_png(build())
    return png, list(caught)


def glyph_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.mark.parametrize("size", sorted(EXPECTED_PX))
@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_renders_real_glyphs_at_exact_size(name, size):
    fn, rows, title = CHARTS[name]
    png, caught = render_recording_warnings(lambda: fn(rows, title, size))
    assert not glyph_warnings(caught), glyph_warnings(caught)
    assert png_size(png) == EXPECTED_PX[size]


@pytest.mark.parametrize("size", sorted(EXPECTED_PX))
@pytest.mark.parametrize("name", sorted(CHARTS))
def test_empty_data_still_renders(name, size):
    fn, _rows, title = CHARTS[name]
    fig = fn([], title, size)
    assert any(t.get_text() == charts.NO_DATA for t in fig.texts)
    png, caught = render_recording_warnings(lambda: fig)
    assert not glyph_warnings(caught), glyph_warnings(caught)
    assert png_size(png) == EXPECTED_PX[size]


def test_missing_glyph_warning_is_detected():
    """The glyph check above is not vacuous: a character no shipped font has (CJK Ext G
    U+30000) does raise matplotlib's warning and is reported by missing_chars."""
    absent = "\U00030000"
    assert fonts.missing_chars(f"贾德䶮杨明𠮷{absent}") == [absent]
    _png, caught = render_recording_warnings(lambda: charts.top_households([(f"王{absent}", 3)], "测试", "projector"))
    assert glyph_warnings(caught)


def test_rare_name_characters_are_covered():
    assert fonts.missing_chars("贾德䶮 杨明𠮷 欧阳兰宏 积分 参与率 暂无数据 −12,345 67% （）：") == []


def test_register_fonts_is_idempotent_and_uses_the_shipped_file():
    from matplotlib.font_manager import FontProperties, fontManager

    families = fonts.register_fonts()
    assert fonts.register_fonts() == families
    assert families[0] == "PointsApp Noto Sans CJK SC"
    assert families[-1] == "DejaVu Sans"
    shipped = fonts.font_paths()[0].resolve()
    assert sum(Path(f.fname).resolve() == shipped for f in fontManager.ttflist) == 1
    found = fontManager.findfont(FontProperties(family=families[0]), fallback_to_default=False)
    assert Path(found).resolve() == shipped
    assert fonts.font_properties(12).get_family() == families


def test_font_licence_ships_with_the_font():
    for path in fonts.font_paths():
        assert path.is_file()
        licence = path.parent / "OFL.txt"
        assert "SIL OPEN FONT LICENSE Version 1.1" in licence.read_text(encoding="utf-8")


def test_top_households_best_at_top_and_names_as_given():
    fig = charts.top_households(HOUSEHOLDS, "排行", "projector")
    charts.render_png(fig)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    expected = [name for name, _ in sorted(HOUSEHOLDS, key=lambda r: -r[1])]
    assert labels == [f"第{i}名  {name}" for i, name in enumerate(expected, start=1)]
    assert ax.yaxis_inverted()  # first label (the best) is at the top


def test_titles_are_not_mathtext():
    fig = charts.by_category(CATEGORIES, "收入 $5$ 元", "projector")
    charts.render_png(fig)
    (title,) = [t for t in fig.texts if t.get_text() == "收入 $5$ 元"]
    assert title.get_parse_math() is False


def test_unknown_size_is_rejected():
    with pytest.raises(ValueError, match="unknown chart size"):
        charts.top_households(HOUSEHOLDS, "排行", "letter")


def test_save_png_pdf_svg(tmp_path):
    fig = charts.trend(TREND, "趋势 贾德䶮", "a4")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for ext in ("png", "pdf", "svg"):
            out = charts.save(fig, tmp_path / f"trend.{ext}")
            assert out.stat().st_size > 1000
    assert not glyph_warnings(list(caught))
    assert png_size((tmp_path / "trend.png").read_bytes()) == EXPECTED_PX["a4"]
    assert (tmp_path / "trend.pdf").read_bytes().startswith(b"%PDF")


def test_a_rerender_gives_the_same_png(capsys):
    """Rendering the same data twice gives byte-identical PNGs at the size's pixels (so a cached chart
    equals a fresh one). Prints the warm render times for information; timing limits live in benchmarks."""
    lines = []
    for size in ("projector", "a4"):
        for name, (fn, rows, title) in sorted(CHARTS.items()):
            first = charts.render_png(fn(rows, title, size))  # also warms up
            start = time.perf_counter()
            again = charts.render_png(fn(rows, title, size))
            lines.append(f"{name}/{size} {(time.perf_counter() - start) * 1000:.0f} ms")
            assert png_size(again) == EXPECTED_PX[size], (name, size)
            assert again == first, f"{name}/{size} renders differently the second time"
    with capsys.disabled():
        print("\nwarm chart render (build + PNG): " + ", ".join(lines))


def test_no_pyplot_and_no_font_cache_needed(tmp_path):
    """In a fresh interpreter with an empty MPLCONFIGDIR (no font cache, no
    matplotlibrc) and with every machine font hidden from matplotlib (only the fonts
    matplotlib itself ships are left, as on a machine without CJK fonts), charts still
    draw rare characters from the shipped font, and matplotlib.pyplot is never
    imported."""
    script = textwrap.dedent("""
        import sys, warnings
        from pathlib import Path
        import matplotlib
        from matplotlib import font_manager
        from matplotlib.font_manager import FontProperties, fontManager
        bundled = Path(matplotlib.get_data_path()).resolve()
        fontManager.ttflist = [f for f in fontManager.ttflist
                               if Path(f.fname).resolve().is_relative_to(bundled)]
        fontManager._findfont_cached.cache_clear()
        font_manager._get_font.cache_clear()
        warnings.filterwarnings("error", message=".*missing from font")
        from pointsapp.reports import charts, fonts
        fig = charts.top_households([("贾德䶮", 128), ("杨明𠮷", 117), ("欧阳兰宏", 96)],
                                    "积分排行榜", "projector")
        png = charts.render_png(fig)
        assert png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        used = fontManager.findfont(FontProperties(family=fonts.register_fonts()[0]),
                                    fallback_to_default=False)
        assert Path(used).resolve() == fonts.font_paths()[0].resolve(), used
        assert "matplotlib.pyplot" not in sys.modules
        print("OK", len(png))
    """)
    config_dir = tmp_path / "mplconfig"
    config_dir.mkdir()
    env = dict(
        os.environ,
        MPLCONFIGDIR=str(config_dir),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    env.pop("MPLBACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK")


@pytest.mark.parametrize("module", ["charts.py", "fonts.py"])
def test_no_pyplot_import_in_source(module):
    tree = ast.parse((REPO / "pointsapp" / "reports" / module).read_text(encoding="utf-8"))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported += [f"{node.module}.{alias.name}" for alias in node.names]
    assert not [name for name in imported if "pyplot" in name or "pylab" in name]
