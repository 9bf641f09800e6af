"""Prepared values for the staff dashboard and the county dashboard (no Flask).

Views parse the query string into ``Filters`` and hand them here; templates only loop
over the values this module returns. Authorization is checked here too (deny by default).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..points.ledger import ClosedPeriod, Submission, SubmissionStatus
from ..points.names import mask_name
from ..points.notice import Notice
from ..points.objections import Objection, ObjectionStatus
from ..points.policy import allowed, require
from ..points.periods import (
    DEFAULT_TZ,
    local_today,
    month_key,
    month_range,
    parse_period,
    previous_month,
    previous_month_of,
    recent_months,
    recent_quarters,
    village_today,
    year_key,
)
from ..points.registry import Group, Household, StaffUser, Village, Villager, VillagerStatus
from ..points.standings import BoardRow, Tally, board_month, leaderboard
from . import services
from ..web.labels import PRINT_LOCALE, period_label
from .cache import CHART_NAMES, cached_png

BOARD_KINDS = ("household", "villager", "group")
BOARD_CAP = 50


class BadFilter(ValueError):
    """A filter value that cannot be used; ``field`` names the query parameter."""

    def __init__(self, field: str, value: str, message: str):
        super().__init__(message)
        self.field, self.value, self.message = field, value, message


@dataclass
class Filters:
    period: str
    group: Group | None = None
    board: str = "household"
    show_all: bool = False


def parse_filters(
    session: Session,
    village: Village | None,
    *,
    period: str | None,
    group: str | None,
    board: str | None = None,
    show_all: bool = False,
    now: dt.datetime | None = None,
) -> Filters:
    """Validate query values; raises BadFilter naming the parameter and value."""
    today = village_today(village, now)
    # Until the running month has posted points, the last finished month (not a board of zeros).
    key = board_month(session, village, today) if village is not None else month_key(today)
    if period:
        try:
            key = parse_period(period).key
        except ValueError:
            raise BadFilter("period", period, "period must be YYYY-MM, YYYY-Qn, YYYY or all") from None
    grp = None
    if group:
        try:
            gid = int(group)
        except ValueError:
            raise BadFilter("group", group, "group must be a group number from the list") from None
        grp = session.get(Group, gid)
        if grp is None or village is None or grp.village_id != village.id:
            raise BadFilter("group", group, "no such group in this village")
    board = board or "household"
    if board not in BOARD_KINDS:
        raise BadFilter("board", board, "board must be household, villager or group")
    return Filters(key, grp, board, show_all)


def period_choices(today: dt.date) -> list[tuple[str, str]]:
    """(key, label) of the periods offered in the filter: 13 months, 5 quarters, 2 years, all."""
    months, quarters = recent_months(today, 13), recent_quarters(today, 5)
    years = [year_key(today), str(today.year - 1)]
    return [(k, period_label(k)) for k in [*months, *quarters, *years, "all"]]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def _num(v: int) -> str:
    return f"{v:,}"


@dataclass
class Comparison:
    label: str
    this: str
    last: str
    change: str
    up: bool | None


def _compare(label: str, this: float, last: float, fmt) -> Comparison:
    diff = this - last
    return Comparison(
        label,
        fmt(this),
        fmt(last),
        ("+" if diff > 0 else "") + fmt(diff) if diff else "0",
        None if diff == 0 else diff > 0,
    )


@dataclass
class BoardView:
    kind: str
    rows: list[BoardRow]
    total: int
    capped: bool
    per_head: bool


@dataclass
class Dashboard:
    village: Village
    filters: Filters
    this_month: str
    last_month: str
    comparisons: list[Comparison]
    to_date: bool  # True: the month so far against the same days of last month
    group_month: str  # the month of the participation table
    groups: list[dict]
    pending: int
    objections: int
    objection_list: list[services.OpenObjection]
    charts: list[str]
    board: BoardView
    period_label: str
    periods: list[tuple[str, str]] = field(default_factory=list)
    group_options: list[tuple[int, str]] = field(default_factory=list)
    pack_months: list[tuple[str, str]] = field(default_factory=list)
    rules: list[tuple[str, str]] = field(default_factory=list)


def staff_dashboard(
    session: Session, actor: StaffUser, village: Village, filters: Filters, now: dt.datetime | None = None
) -> Dashboard:
    require(actor, village, "reports.read")
    today = local_today(village.timezone, now)
    running = month_key(today)
    this = board_month(session, village, today)
    last = previous_month(this)
    to_date = this == running
    if to_date:
        # The month so far against the same days of last month, never a few days against a whole month.
        start = today.replace(day=1)
        prev_end = start - dt.timedelta(days=1)
        prev_start = prev_end.replace(day=1)
        prev_end = min(prev_end, prev_start + dt.timedelta(days=today.day - 1))
        a = services.summary_between(session, village, start, today)
        b = services.summary_between(session, village, prev_start, prev_end)
        this_label, last_label = _days_label(start, today), _days_label(prev_start, prev_end)
    else:
        a, b = services.summary(session, village, this), services.summary(session, village, last)
        this_label, last_label = this, last
    comparisons = [
        _compare("points", a.points, b.points, _num),
        _compare("entries", a.entries, b.entries, _num),
        _compare("households_with_entries", a.households_with_entries, b.households_with_entries, _num),
        Comparison(
            "participation",
            _pct(a.participation),
            _pct(b.participation),
            _pct_change(a.participation, b.participation),
            None if a.participation == b.participation else (a.participation or 0) > (b.participation or 0),
        ),
        _compare("per_head", a.per_head, b.per_head, lambda v: f"{v:,.1f}"),
    ]
    groups = [
        dict(
            name=g.name,
            households=g.households,
            took_part=g.took_part,
            rate=_pct(g.rate),
            width=round((g.rate or 0) * 100),
            points=_num(g.points),
            per_head=f"{g.per_head:.1f}",
        )
        for g in services.group_participation(session, village, this)
    ]
    count, objections = services.open_objection_list(session, village)
    f = filters
    rows = leaderboard(
        session,
        f.board,
        f.period,
        village=village,
        group=f.group if f.board != "group" else None,
        limit=None if f.show_all else BOARD_CAP + 1,
    )
    capped = not f.show_all and len(rows) > BOARD_CAP
    total = len(rows)
    rows = rows[:BOARD_CAP] if capped else rows
    charts = list(CHART_NAMES)
    if not allowed(actor, village, "reports.all_names"):
        # a grid worker works in their groups: other groups' people appear masked (向*明)
        rows, objections = _names_for_own_groups(actor, f.board, rows, objections)
        charts = [c for c in charts if c not in services.NAMING_CHARTS]
    board = BoardView(f.board, rows, total, capped, f.board != "villager")
    return Dashboard(
        village=village,
        filters=f,
        this_month=this_label,
        last_month=last_label,
        comparisons=comparisons,
        to_date=to_date,
        group_month=period_label(this),
        groups=groups,
        pending=services.pending_count(session, village),
        objections=count,
        objection_list=objections,
        charts=charts,
        board=board,
        period_label=period_label(f.period),
        periods=period_choices(today),
        group_options=[(g.id, g.name) for g in services.groups_of(session, village)],
        pack_months=[(m, period_label(m)) for m in month_range(running, 12)[::-1]],
        rules=services.rules_of(session, village),
    )


def _days_label(start: dt.date, end: dt.date) -> str:
    return f"{start:%Y-%m-%d}" if start == end else f"{start:%Y-%m-%d}–{end:%m-%d}"


def _names_for_own_groups(actor: StaffUser, board: str, rows: list[BoardRow], objections: list[services.OpenObjection]):
    """Board rows outside the worker's groups, and objections, with masked names."""
    mine = {g.name for g in actor.groups}
    if board != "group":
        rows = [r if r.group in mine else replace(r, name=mask_name(r.name)) for r in rows]
    objections = [replace(o, household=mask_name(o.household)) for o in objections]
    return rows, objections


def _pct_change(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "—"
    diff = round((a - b) * 100)
    return f"{'+' if diff > 0 else ''}{diff}%"


# --- county ---------------------------------------------------------------------------


@dataclass
class Health:
    """Whether a village is running the process: for ``month`` (last month, the one that should
    be under 公示 or closed by now), and its backlog today."""

    month: str
    pending: int  # captures waiting for review (all months)
    notice: str  # "none" | "open" | "ended"
    notice_closes: dt.date | None
    closed: bool  # the month is closed (结账)
    objections: int  # open objections (all months)

    @property
    def attention(self) -> bool:
        return self.notice == "none" or self.objections > 0 or (self.notice == "ended" and not self.closed)


@dataclass
class VillageRow:
    id: int
    name: str
    households: int
    villagers: int
    points: int
    per_head: str
    took_part: int
    participation: str
    rank: int = 0
    health: Health | None = None


@dataclass
class County:
    period: str
    period_label: str
    periods: list[tuple[str, str]]
    villages: list[VillageRow]
    total_points: str
    total_households: int
    total_villagers: int
    participation: str
    health_month: str = ""
    health_label: str = ""


def county_dashboard(
    session: Session, actor: StaffUser, period: str, now: dt.datetime | None = None, tz: str = DEFAULT_TZ
) -> County:
    """Villages compared by total and per-head points and participation (county viewers); ``tz`` is the
    installation's time zone (POINTSAPP_TIMEZONE), which says which month has just finished."""
    require(actor, None, "reports.read")
    key = parse_period(period).key
    rows = county_rows(session, key)
    today = local_today(tz, now)
    month = previous_month_of(today)
    health = county_health(session, month, today)
    for r in rows:
        r.health = health.get(r.id)
    th, tp, tt = sum(r.households for r in rows), sum(r.villagers for r in rows), sum(r.took_part for r in rows)
    return County(
        key,
        period_label(key),
        period_choices(today),
        rows,
        _num(sum(r.points for r in rows)),
        th,
        tp,
        _pct(tt / th if th else None),
        month,
        period_label(month),
    )


def county_health(session: Session, month: str, today: dt.date) -> dict[int, Health]:
    """Every village's process health: its pending backlog, the 公示 of ``month`` (none, open,
    ended), whether ``month`` is closed, and its open objections. Four grouped queries, whatever
    the number of villages (no authorization: callers check)."""
    key = parse_period(month).key
    villages = session.execute(select(Village.id)).scalars().all()
    pending = dict(
        session.execute(
            select(Submission.village_id, func.count())
            .where(Submission.status == SubmissionStatus.pending)
            .group_by(Submission.village_id)
        ).all()
    )
    notices = {
        vid: (opens, closes)
        for vid, opens, closes in session.execute(
            select(Notice.village_id, Notice.opens_on, Notice.closes_on).where(Notice.month == key)
        )
    }
    closed = set(session.execute(select(ClosedPeriod.village_id).where(ClosedPeriod.month == key)).scalars())
    objections = dict(
        session.execute(
            select(Objection.village_id, func.count())
            .where(Objection.status == ObjectionStatus.open.value)
            .group_by(Objection.village_id)
        ).all()
    )
    out = {}
    for vid in villages:
        n = notices.get(vid)
        state = "none" if n is None else ("open" if n[0] <= today <= n[1] else ("ended" if today > n[1] else "open"))
        out[vid] = Health(key, pending.get(vid, 0), state, n[1] if n else None, vid in closed, objections.get(vid, 0))
    return out


def county_rows(session: Session, period: str) -> list[VillageRow]:
    """Every village's figures for the period, best per head first (no authorization: callers check)."""
    key = parse_period(period).key
    villages = session.execute(select(Village.id, Village.name).order_by(Village.name)).all()
    households = dict(
        session.execute(
            select(Household.village_id, func.count()).where(Household.active.is_(True)).group_by(Household.village_id)
        ).all()
    )
    people = dict(
        session.execute(
            select(Villager.village_id, func.count())
            .where(Villager.status == VillagerStatus.active)
            .group_by(Villager.village_id)
        ).all()
    )
    points = dict(
        session.execute(
            select(Tally.village_id, func.sum(Tally.points))
            .where(Tally.period == key, Tally.kind == "g")
            .group_by(Tally.village_id)
        ).all()
    )
    took = dict(
        session.execute(
            select(Tally.village_id, func.count())
            .select_from(Tally)
            .join(Household, Household.id == Tally.subject_id)
            .where(Tally.period == key, Tally.kind == "h", Tally.entries > 0, Household.active.is_(True))
            .group_by(Tally.village_id)
        ).all()
    )
    rows = []
    for vid, name in villages:
        h, p, pts, t = households.get(vid, 0), people.get(vid, 0), int(points.get(vid, 0) or 0), took.get(vid, 0)
        rows.append(VillageRow(vid, name, h, p, pts, f"{pts / p:.1f}" if p else "0.0", t, _pct(t / h if h else None)))
    rows.sort(key=lambda r: (-(r.points / r.villagers if r.villagers else 0), r.name))
    for i, r in enumerate(rows, start=1):
        r.rank = i
    return rows


# --- the county chart ---------------------------------------------------------------------


def county_chart_png(session: Session, period: str, cache_dir: Path, size: str = "web") -> tuple[Path, bool]:
    """Villages compared (total and per head) for county viewers, cached like the others:
    the fingerprint is every village's entries and points in the period."""
    key = parse_period(period).key
    rows = session.execute(
        select(Tally.village_id, func.sum(Tally.entries), func.sum(Tally.points))
        .where(Tally.period == key, Tally.kind == "g")
        .group_by(Tally.village_id)
        .order_by(Tally.village_id)
    ).all()
    villages = session.execute(select(Village.id, Village.name).order_by(Village.id)).all()
    stem = f"villages-{key}-{size}"
    text = ";".join(f"{v}:{n}:{s}" for v, n, s in rows) + "|" + ";".join(f"{i}:{n}" for i, n in villages)

    def render() -> bytes:
        from .charts import groups_compared, render_png  # matplotlib only where a chart is drawn

        data = [(r.name, r.points, r.points / r.villagers if r.villagers else 0.0) for r in county_rows(session, key)]
        if not any(p for _n, p, _h in data):
            data = []
        return render_png(groups_compared(data, f"各村积分对比 {period_label(key, PRINT_LOCALE)}", size))

    return cached_png(
        Path(cache_dir) / "county", stem, hashlib.sha256(text.encode()).hexdigest()[:16], "villages", render
    )
