"""Balances and leaderboards, computed from the ledger.

Every posted entry also adds to running tallies (per villager, household and group, for its
month, quarter, year and all time) in the same transaction, so boards read a few hundred
pre-summed rows instead of grouping millions of entries, and can never be stale.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Literal
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    bindparam,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base
from .ledger import EntryKind, LedgerEntry, Submission, SubmissionStatus
from .periods import month_key, parse_period, period_keys, previous_month_of
from .registry import Group, Household, Village, Villager, VillagerStatus

SubjectKind = Literal["villager", "household", "group"]
_KIND_CODE = {"villager": "v", "household": "h", "group": "g"}


class Tally(Base):
    __tablename__ = "tallies"
    __table_args__ = (CheckConstraint("kind IN ('v', 'h', 'g')", name="kind"),)

    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-11, 2026-Q4, 2026, all
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)  # v / h / g
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    points: Mapped[int] = mapped_column(BigInteger, default=0)  # honour: awards, deductions, corrections
    spent: Mapped[int] = mapped_column(BigInteger, default=0)  # redemptions and expiry (<= 0)
    # Earning entries (awards, deductions, corrections): what "took part" and "N entries" count.
    # Spending at the shop (redemptions, expiry) is in ``spent`` only: a household that only
    # redeemed in a month did not take part in it (migration 0007_tally_entries recounted).
    entries: Mapped[int] = mapped_column(Integer, default=0)


# Boards walk these from the top: points descending, ties by id (the boards' order), so a top-N
# reads N index entries instead of sorting every subject (migration 0006_rank_indexes).
Index("ix_tallies_board_rank", Tally.period, Tally.kind, Tally.village_id, Tally.points.desc(), Tally.subject_id)
Index("ix_tallies_county_rank", Tally.period, Tally.kind, Tally.points.desc(), Tally.subject_id)


_period_keys = functools.lru_cache(maxsize=4096)(period_keys)
_SPENDS = {k.value for k in EntryKind if k.spends}


def tally_deltas(entries: Iterable[LedgerEntry | dict[str, Any]]) -> dict[tuple[str, str, int], list[int]]:
    """Sum entries into {(period, kind, subject): [village, points, spent, earning entries]}."""
    acc: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in entries:
        if not isinstance(e, dict):
            e = {
                k: getattr(e, k)
                for k in ("kind", "points", "household_id", "group_id", "villager_id", "occurred_on", "village_id")
            }
        kind = getattr(e["kind"], "value", e["kind"])
        spends = kind in _SPENDS
        pts, spent = (0, e["points"]) if spends else (e["points"], 0)
        village = e["village_id"]
        subjects: tuple[tuple[str, int], ...] = (("h", e["household_id"]), ("g", e["group_id"]))
        if e["villager_id"] is not None:
            subjects += (("v", e["villager_id"]),)
        for period in _period_keys(e["occurred_on"]):
            for code, sid in subjects:
                row = acc[(period, code, sid)]
                row[0] = village
                row[1] += pts
                row[2] += spent
                row[3] += 0 if spends else 1
    return acc


def apply_tallies(session: Session, entries: Iterable[LedgerEntry | dict[str, Any]]) -> None:
    """Add posted entries to the running tallies: one upsert statement for all touched rows on
    PostgreSQL (arrays unnested), an executemany of the upsert on SQLite."""
    deltas = tally_deltas(entries)
    if not deltas:
        return
    conn = session.connection()
    # Rows in key order, so concurrent writers (of different villages) never lock them crosswise.
    rows = sorted((p, k, s, v[0], v[1], v[2], v[3]) for (p, k, s), v in deltas.items())
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_UNNEST_UPSERT, tuple(list(col) for col in zip(*rows)))
        return
    # A Core statement on the table, executed on the connection: the ORM's bulk path would build
    # every row again.
    conn.execute(_upsert_stmt(conn.dialect.name), [dict(zip(_TALLY_COLUMNS, r)) for r in rows])


_TALLY_COLUMNS = ("period", "kind", "subject_id", "village_id", "points", "spent", "entries")
_UNNEST_UPSERT = (
    f"INSERT INTO tallies ({', '.join(_TALLY_COLUMNS)}) "
    "SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::integer[], %s::integer[], %s::bigint[], "
    "%s::bigint[], %s::integer[]) "
    "ON CONFLICT (period, kind, subject_id) DO UPDATE SET points = tallies.points + excluded.points, "
    "spent = tallies.spent + excluded.spent, entries = tallies.entries + excluded.entries"
)


@functools.cache
def _upsert_stmt(dialect: str) -> Any:
    t = Tally.__table__
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Tally)
    return ins.on_conflict_do_update(
        index_elements=[t.c.period, t.c.kind, t.c.subject_id],
        set_=dict(
            points=t.c.points + ins.excluded.points,
            spent=t.c.spent + ins.excluded.spent,
            entries=t.c.entries + ins.excluded.entries,
        ),
    )


# --- balances -------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    honour: int
    redeemable: int
    pending: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def balance(
    session: Session,
    *,
    household: Household | None = None,
    villager: Villager | None = None,
    pending: Iterable[Submission] | None = None,
) -> Balance:
    """Honour and redeemable points from the all-time tally, and the points captured but not yet
    approved (``pending``: those captures when the caller has read them already, else summed here)."""
    if (household is None) == (villager is None):
        raise ValueError("give exactly one of household or villager")
    if household is not None:
        code, sid = "h", household.id
    else:
        assert villager is not None  # exactly one of them (checked above)
        code, sid = "v", villager.id
    row = session.execute(
        select(Tally.points, Tally.spent).where(Tally.period == "all", Tally.kind == code, Tally.subject_id == sid)
    ).first()
    honour, spent = (row.points, row.spent) if row else (0, 0)
    if pending is not None:
        waiting = sum(s.points for s in pending)
    else:
        col = Submission.household_id if household else Submission.villager_id
        waiting = session.execute(
            select(func.coalesce(func.sum(Submission.points), 0)).where(
                col == sid, Submission.status == SubmissionStatus.pending
            )
        ).scalar_one()
    return Balance(int(honour), int(honour + spent), int(waiting))


# --- leaderboards -----------------------------------------------------------------------


@dataclass
class BoardRow:
    rank: int | None  # None: no points in the period, so not ranked (shown as "—", 未参与)
    id: int
    name: str
    group: str
    points: int
    per_head: float | None = None
    village: str | None = None

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "rank": self.rank,
            "id": self.id,
            "name": self.name,
            "group": self.group,
            "points": self.points,
        }
        if self.per_head is not None:
            d["per_head"] = self.per_head
        if self.village is not None:
            d["village"] = self.village
        return d


def competition_ranks(points: list[int], start_rank: int = 1) -> list[int]:
    """Standard competition ranking (1, 2, 2, 4) over points already sorted descending."""
    ranks, prev = [], None
    for i, p in enumerate(points):
        ranks.append(ranks[-1] if p == prev else start_rank + i)
        prev = p
    return ranks


def _subjects(by: SubjectKind, village: Village | None, group: Group | None) -> Select[*tuple[Any, ...]]:
    """(id, name, group name, village name, head count) of every active subject."""
    return _subjects_stmt(by, village is not None, group is not None)


@functools.cache
def _subjects_stmt(by: SubjectKind, in_village: bool, in_group: bool) -> Select[*tuple[Any, ...]]:
    """The statement behind :func:`_subjects`, built once; binds :village and :group."""
    if by == "villager":
        q = (
            select(Villager.id, Villager.name, Group.name, Village.name, literal(1))
            .join(Household, Villager.household_id == Household.id)
            .join(Group, Household.group_id == Group.id)
            .join(Village, Villager.village_id == Village.id)
            .where(Villager.status == VillagerStatus.active)
        )
        scope_col = Villager.village_id
    elif by == "household":
        members = Villager.__table__.alias("m")
        heads = (
            select(func.count())
            .where(members.c.household_id == Household.id, members.c.status == VillagerStatus.active.value)
            .correlate(Household)
            .scalar_subquery()
        )
        head = Villager.__table__.alias("head")
        q = (
            select(Household.id, func.coalesce(head.c.name, Household.number), Group.name, Village.name, heads)
            .join(Group, Household.group_id == Group.id)
            .join(Village, Household.village_id == Village.id)
            .outerjoin(head, head.c.id == Household.head_id)
            .where(Household.active.is_(True))
        )
        scope_col = Household.village_id
    else:
        heads = (
            select(func.count())
            .select_from(Villager)
            .join(Household, Villager.household_id == Household.id)
            .where(Household.group_id == Group.id, Villager.status == VillagerStatus.active)
            .correlate(Group)
            .scalar_subquery()
        )
        q = select(Group.id, Group.name, Group.name, Village.name, heads).join(Village, Group.village_id == Village.id)
        scope_col = Group.village_id
    if in_village:
        q = q.where(scope_col == bindparam("village"))
    if in_group:
        q = q.where(Group.id == bindparam("group"))
    return q


def _params(village: Village | None, group: Group | None, **extra: object) -> dict[str, object]:
    params = dict(extra)
    if village is not None:
        params["village"] = village.id
    if group is not None:
        params["group"] = group.id
    return params


@functools.cache
def _tally_stmt(in_village: bool) -> Select[*tuple[Any, ...]]:
    q = select(Tally.subject_id, Tally.points).where(
        Tally.period == bindparam("period"), Tally.kind == bindparam("kind")
    )
    return q.where(Tally.village_id == bindparam("village")) if in_village else q


_SUBJECT_ID = {"villager": Villager.id, "household": Household.id, "group": Group.id}


def top_stmt(by: SubjectKind, in_village: bool, in_group: bool = False) -> Select[*tuple[Any, ...]]:
    """The top-N board as one statement: the tallies walked from the top of their rank index
    (``ix_tallies_county_rank`` county-wide, ``ix_tallies_board_rank`` in a village), each row
    joined to its subject by primary key, stopping after ``:limit`` rows. Binds :period, :kind,
    :limit, and :village / :group when scoped. Public so tests can EXPLAIN it."""
    return _top_stmt(by, in_village, in_group)


@functools.cache
def _top_stmt(by: SubjectKind, in_village: bool, in_group: bool) -> Select[*tuple[Any, ...]]:
    sid_col = _SUBJECT_ID[by]
    # Period, kind and limit are written into the SQL text, not sent as parameters. The county
    # board's statement then has no parameters at all, so once psycopg prepares it (after a few
    # runs on a connection) PostgreSQL keeps its plan instead of planning a five-table join on
    # every call (planning costs more than the index walk). Values come from parse_period and
    # fixed codes, and are rendered by the column types' literal processors.
    q = (
        _subjects_stmt(by, in_village, in_group)
        .add_columns(Tally.points.label("pts"))
        .join(Tally, Tally.subject_id == sid_col)
        .where(
            Tally.period == bindparam("period", type_=String(), literal_execute=True),
            Tally.kind == bindparam("kind", type_=String(), literal_execute=True),
        )
    )
    if in_village:  # the index's village column, beside the subject's own
        q = q.where(Tally.village_id == bindparam("village"))
    return q.order_by(Tally.points.desc(), Tally.subject_id).limit(
        bindparam("limit", type_=Integer(), literal_execute=True)
    )


def _top_rows(
    session: Session, by: SubjectKind, key: str, village: Village | None, group: Group | None, limit: int
) -> Sequence[Sequence[Any]] | None:
    """Fast path for a top-N board: one query reading the tallies' rank index from the top.

    Returns None when it cannot answer alone (fewer than N active subjects with positive
    points), so the caller falls back to the full board, which also lists zeros and negatives.
    """
    params = _params(village, group, period=key, kind=_KIND_CODE[by], limit=limit)
    rows = session.connection().execute(_top_stmt(by, village is not None, group is not None), params).all()
    if len(rows) < limit or rows[-1][5] <= 0:
        return None
    return rows


def leaderboard(
    session: Session,
    by: SubjectKind,
    period: str,
    *,
    village: Village | None = None,
    group: Group | None = None,
    limit: int | None = None,
) -> list[BoardRow]:
    """Ranked standings of posted entries. ``village=None`` means county-wide (viewer role).

    Without a limit every active subject is listed, zeros included. Ties share a rank
    (1, 2, 2, 4) and keep a stable order by id. A subject with zero points in the period is
    not ranked (rank None) and comes after every ranked one: on the first day of a month
    nobody is "1st of 529" with nothing.
    """
    key = parse_period(period).key
    rows: Sequence[Sequence[Any]] | None = _top_rows(session, by, key, village, group, limit) if limit else None
    if rows is None:
        # Every subject, zeros included: two plain queries merged here, which stays cheap
        # at county scale (no sort or outer join over the tallies in the database).
        conn = session.connection()
        params = _params(village, group, period=key, kind=_KIND_CODE[by])
        points: dict[int, int] = dict(conn.execute(_tally_stmt(village is not None), params).all())
        get = points.get
        every = [(*r, get(r[0], 0)) for r in conn.execute(_subjects(by, village, group), params).all()]
        every.sort(key=lambda r: (r[5] == 0, -r[5], r[0]))
        rows = every[:limit] if limit is not None else every
    scored = [r[5] for r in rows if r[5] != 0]
    ranks: list[int | None] = [*competition_ranks(scored), *([None] * (len(rows) - len(scored)))]
    vname = None if village is None else False
    if by == "villager":
        return [
            BoardRow(rank, r[0], r[1], r[2], int(r[5]), None, r[3] if vname is None else None)
            for rank, r in zip(ranks, rows)
        ]
    return [
        BoardRow(
            rank, r[0], r[1], r[2], int(r[5]), round(r[5] / r[4], 2) if r[4] else 0.0, r[3] if vname is None else None
        )
        for rank, r in zip(ranks, rows)
    ]


@dataclass(frozen=True)
class Standing:
    """One household's place on its board: points, rank (None: not ranked), ranked households, per head."""

    points: int
    rank: int | None
    of: int
    per_head: float | None


def household_standing(session: Session, household: Household, period: str, group: Group | None = None) -> Standing:
    """The household's place on the household board of its village (or of ``group``), in one
    window-function query. Same rules as :func:`leaderboard`: active households only; those with
    zero points are not ranked and not counted; ties share a rank (1, 2, 2, 4)."""
    key = parse_period(period).key
    pts = func.coalesce(Tally.points, 0)
    scope = (
        select(Household.id.label("id"), pts.label("pts"))
        .outerjoin(Tally, (Tally.subject_id == Household.id) & (Tally.period == key) & (Tally.kind == "h"))
        .where(Household.village_id == household.village_id, Household.active.is_(True))
    )
    if group is not None:
        scope = scope.where(Household.group_id == group.id)
    s = scope.subquery("s")
    scored = s.c.pts != 0
    ranked = select(
        s.c.id,
        s.c.pts,
        func.rank().over(partition_by=scored, order_by=s.c.pts.desc()).label("rk"),
        func.sum(case((scored, 1), else_=0)).over().label("of"),
    ).subquery("r")
    heads = (
        select(func.count())
        .select_from(Villager)
        .where(Villager.household_id == ranked.c.id, Villager.status == VillagerStatus.active)
        .scalar_subquery()
    )
    row = session.execute(
        select(ranked.c.pts, ranked.c.rk, ranked.c.of, heads).where(ranked.c.id == household.id)
    ).first()
    if row is None:  # not an active household of this scope
        return Standing(0, None, 0, None)
    points, rank, of, n = int(row[0]), int(row[1]), int(row[2] or 0), int(row[3])
    return Standing(points, rank if points != 0 else None, of, round(points / n, 2) if n else 0.0)


def household_standings(session: Session, household: Household, period: str) -> tuple[Standing, Standing]:
    """(in the village, in the household's group): :func:`household_standing` twice, in one query
    (the group's rank is a window partitioned by group)."""
    key = parse_period(period).key
    pts = func.coalesce(Tally.points, 0)
    s = (
        select(Household.id.label("id"), Household.group_id.label("gid"), pts.label("pts"))
        .outerjoin(Tally, (Tally.subject_id == Household.id) & (Tally.period == key) & (Tally.kind == "h"))
        .where(Household.village_id == household.village_id, Household.active.is_(True))
        .subquery("s")
    )
    scored = s.c.pts != 0
    counted = case((scored, 1), else_=0)
    ranked = select(
        s.c.id,
        s.c.pts,
        func.rank().over(partition_by=scored, order_by=s.c.pts.desc()).label("rk"),
        func.sum(counted).over().label("of"),
        func.rank().over(partition_by=(s.c.gid, scored), order_by=s.c.pts.desc()).label("grk"),
        func.sum(counted).over(partition_by=s.c.gid).label("gof"),
    ).subquery("r")
    heads = (
        select(func.count())
        .select_from(Villager)
        .where(Villager.household_id == ranked.c.id, Villager.status == VillagerStatus.active)
        .scalar_subquery()
    )
    row = session.execute(
        select(ranked.c.pts, ranked.c.rk, ranked.c.of, ranked.c.grk, ranked.c.gof, heads).where(
            ranked.c.id == household.id
        )
    ).first()
    if row is None:  # not an active household
        return Standing(0, None, 0, None), Standing(0, None, 0, None)
    points, n = int(row[0]), int(row[5])
    per_head = round(points / n, 2) if n else 0.0
    return (
        Standing(points, int(row[1]) if points != 0 else None, int(row[2] or 0), per_head),
        Standing(points, int(row[3]) if points != 0 else None, int(row[4] or 0), per_head),
    )


def board_month(session: Session, village: Village | None, today: dt.date) -> str:
    """The month that cards, boards and the dashboard open on: the running month once it has
    posted points, else the last finished month (so the 1st of a month is not a board of zeros).
    ``village=None``: the county page, once any village has posted points this month."""
    running = month_key(today)
    q = select(Tally.subject_id).where(Tally.period == running, Tally.kind == "g", Tally.entries > 0)
    if village is not None:
        q = q.where(Tally.village_id == village.id)
    started = session.execute(q.limit(1)).first()
    return running if started else previous_month_of(today)


def month_participation(session: Session, village: Village, month: str) -> tuple[int, int]:
    """(households with at least one posted entry in the month, active households)."""
    key = parse_period(month).key
    active = session.execute(
        select(func.count())
        .select_from(Household)
        .where(Household.village_id == village.id, Household.active.is_(True))
    ).scalar_one()
    took_part = session.execute(
        select(func.count())
        .select_from(Tally)
        .where(Tally.village_id == village.id, Tally.period == key, Tally.kind == "h", Tally.entries > 0)
    ).scalar_one()
    return took_part, active


def rebuild_tallies(session: Session, village: Village | None = None) -> None:
    """Recompute tallies from the ledger (after a bulk load, or to repair)."""
    from sqlalchemy import delete

    d = delete(Tally)
    q = select(
        LedgerEntry.kind,
        LedgerEntry.points,
        LedgerEntry.household_id,
        LedgerEntry.group_id,
        LedgerEntry.villager_id,
        LedgerEntry.occurred_on,
        LedgerEntry.village_id,
    )
    if village is not None:
        d = d.where(Tally.village_id == village.id)
        q = q.where(LedgerEntry.village_id == village.id)
    session.execute(d)
    batch: list[dict[str, Any]] = []
    for row in session.execute(q.execution_options(yield_per=20000)):
        batch.append(row._asdict())
        if len(batch) >= 20000:
            apply_tallies(session, batch)
            batch.clear()
    apply_tallies(session, batch)
