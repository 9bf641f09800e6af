"""Charts that read from the back of a hall: every label at least 3.5 % of the image height,
rank numbers with ties noted, at most one bar per rank, no months before the first entry
and no annual base points in the trend."""

from __future__ import annotations

import pytest
from matplotlib.text import Text

from pointsapp.reports import charts

SIZES = ("projector", "a4", "web", "phone")


def visible_texts(fig):
    fig.canvas.draw()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def smallest_label_share(fig) -> tuple[float, str]:
    """(smallest text height in px / image height, that text): size in points → pixels."""
    height = fig.get_size_inches()[1] * fig.dpi
    sizes = [(t.get_fontsize() * fig.dpi / 72 / height, t.get_text()) for t in visible_texts(fig)]
    return min(sizes)


# a top 10 with ties: 3 at rank 2, 15 at rank 8 (29 households, as seen in the hall)
TIED = (
    [("甲户", 90, 1)]
    + [(f"乙{i}户", 80, 2) for i in range(3)]
    + [(f"丙{i}户", 70 - i, 5 + i) for i in range(3)]
    + [(f"丁{i}户", 50, 8) for i in range(15)]
    + [(f"戊{i}户", 40, 23) for i in range(7)]
)
MANY_GROUPS = [(f"第{i}组", 100 * i, i / 3) for i in range(1, 40)]
MANY_CATEGORIES = [(f"类别{i}", 500 - i) for i in range(25)]
TREND = [(f"2026-{m:02d}", 300 + m * 10, 0.4) for m in range(1, 13)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "build",
    [
        lambda size: charts.top_households(TIED, "积分前十名农户", size),
        lambda size: charts.groups_compared(MANY_GROUPS, "各村民小组积分", size),
        lambda size: charts.by_category(MANY_CATEGORIES, "各类别积分", size),
        lambda size: charts.trend(TREND, "每月积分与参与率", size),
        lambda size: charts.household_year([(k, p) for k, p, _r in TREND], "全年", size),
    ],
    ids=["top", "groups", "categories", "trend", "household_year"],
)
def test_every_label_is_at_least_3_5_percent_of_the_height(build, size):
    fig = build(size)
    share, label = smallest_label_share(fig)
    assert share >= 0.035, f"{label!r} is {share:.2%} of the image height"
    # and the sizes really are the ones drawn: the PNG has the figure's pixel size
    png = charts.render_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_top_chart_has_one_bar_per_rank_with_ties_noted():
    fig = charts.top_households([r for r in TIED if r[2] <= 10], "前10名", "web")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # ranks 1, 2 (3 tied), 5, 6, 7, 8 (15 tied): six bars, not 22
    assert labels == [
        "第1名  甲户",
        "第2名  乙0户等3户（并列）",
        "第5名  丙0户",
        "第6名  丙1户",
        "第7名  丙2户",
        "第8名  丁0户等15户（并列）",
    ]
    assert len(ax.patches) == 6
    assert any("含并列" in t.get_text() for t in visible_texts(fig))


def test_ranks_are_computed_when_not_given():
    assert charts.rank_rows([("a", 5), ("b", 9), ("c", 5), ("d", 1)]) == [
        (1, ["b"], 9),
        (2, ["a", "c"], 5),
        (4, ["d"], 1),
    ]


def test_bars_are_capped_so_labels_stay_large():
    limit = charts.max_rows("projector")
    assert 8 <= limit <= 14
    fig = charts.by_category(MANY_CATEGORIES, "类别", "projector")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == limit and labels[-1] == f"其他{25 - limit + 1}类"
    # the folded bar carries the rest's points: nothing is lost
    assert sum(b.get_width() for b in fig.axes[0].patches) == sum(p for _n, p in MANY_CATEGORIES)
    fig = charts.groups_compared(MANY_GROUPS, "组", "projector")
    assert any(t.get_text() == f"另有 {39 - limit} 项未显示" for t in visible_texts(fig))


def test_trend_defines_participation_and_names_months():
    fig = charts.trend(TREND, "趋势", "projector")
    texts = [t.get_text() for t in visible_texts(fig)]
    assert charts.PARTICIPATION_NOTE in texts
    assert "2026年1月至2026年12月" in texts
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [f"{m}月" for m in range(1, 13)]


def test_web_charts_are_drawn_for_their_display_box():
    w, h = charts.WEB_DISPLAY
    spec = charts.SIZES["web"]
    assert (spec.width_px, spec.height_px) == (2 * w, 2 * h)
    # one point is 100/72 CSS px, as on a 96-dpi screen at 2x: labels about 17 CSS px
    assert spec.base_pt * spec.dpi / 72 / 2 >= 16
    w, h = charts.PHONE_DISPLAY
    spec = charts.SIZES["phone"]
    assert (spec.width_px, spec.height_px) == (2 * w, 2 * h) and w <= 360 - 20
    assert spec.base_pt * spec.dpi / 72 / 2 >= 11.5  # labels about 12 CSS px on a phone


def test_trend_leaves_out_base_points_and_months_before_the_first_entry(session, world):
    """The trend service against raw SQL: no month before the first entry, no 年度基础分, and
    participation = households with a non-base entry in the month / active households."""
    import datetime as dt

    from sqlalchemy import text

    from pointsapp.reports import services
    from tests.reports.conftest import post

    p, h = world.people, world.households
    jan = dt.datetime(2026, 1, 20, 4, 0, tzinfo=dt.timezone.utc)
    post(
        session,
        world.village,
        [(("h", hh.id), "JC-01", dt.date(2026, 1, 2), 1) for hh in h],
        by="admin1",
        approver="rev1",
        now=jan,
    )  # base points only in January
    post(session, world.village, [(p[0][0], "DJ-01", dt.date(2026, 3, 5), 1)], now=jan.replace(month=3))
    post(
        session,
        world.village,
        [(p[1][0], "DJ-01", dt.date(2026, 4, 5), 1), (p[2][0], "ZY-01", dt.date(2026, 4, 6), 1)],
        now=jan.replace(month=4),
    )
    session.commit()
    rows = services.trend(session, world.village, "2026-04")
    assert [m for m, _p, _r in rows] == ["2026-01", "2026-02", "2026-03", "2026-04"]  # not from 2025-05
    raw = {
        m: (int(pts or 0), n)
        for m, pts, n in session.execute(
            text(
                "SELECT substr(CAST(e.occurred_on AS TEXT), 1, 7) AS m, SUM(e.points), COUNT(DISTINCT e.household_id) "
                "FROM ledger_entries e JOIN rule_versions v ON v.id = e.rule_version_id "
                "WHERE e.village_id = :v AND v.category != '基础分' GROUP BY m"
            ),
            {"v": world.village.id},
        )
    }
    active = session.execute(
        text("SELECT COUNT(*) FROM households WHERE village_id = :v AND active"), {"v": world.village.id}
    ).scalar()
    assert rows == [(m, raw.get(m, (0, 0))[0], raw.get(m, (0, 0))[1] / active) for m, _p, _r in rows]
    assert rows[0] == ("2026-01", 0, 0.0)  # January's base points do not count, nor make it 100 %
    assert services.trend(session, world.village, "2025-12") == []
