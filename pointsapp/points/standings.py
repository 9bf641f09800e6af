"""Balances and leaderboards, computed from the ledger.

Every posted entry also adds to running tallies (per villager, household and group, for its
month, quarter, year and all time) in the same transaction, so boards read a few hundred
pre-summed rows instead of grouping millions of entries, and can never be stale.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Iterable, Literal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base
from .ledger import EntryKind, LedgerEntry, Submission, SubmissionStatus
from .periods import parse_period, period_keys
from .registry import Group, Household, Village, Villager, VillagerStatus

SubjectKind = Literal["villager", "household", "group"]
_KIND_CODE = {"villager": "v", "household": "h", "group": "g"}


class Tally(Base):
    __tablename__ = "tallies"
    __table_args__ = (
        Index("ix_tallies_board", "period", "kind", "village_id", "points"),
        Index("ix_tallies_county", "period", "kind", "points"),
    )

    period: Mapped[str] = mapped_column(String(7), primary_key=True)   # 2026-11, 2026-Q4, 2026, all
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)     # v / h / g
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    points: Mapped[int] = mapped_column(BigInteger, default=0)   # honour: awards, deductions, corrections
    spent: Mapped[int] = mapped_column(BigInteger, default=0)    # redemptions and expiry (<= 0)
    entries: Mapped[int] = mapped_column(Integer, default=0)


def tally_deltas(entries: Iterable[LedgerEntry | dict]) -> dict[tuple[str, str, int], list[int]]:
    """Sum entries into {(period, kind, subject): [village, points, spent, entries]}."""
    acc: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in entries:
        get = e.get if isinstance(e, dict) else e.__getattribute__
        kind = EntryKind(get("kind"))
        pts, spent = (0, get("points")) if kind.spends else (get("points"), 0)
        subjects = [("h", get("household_id")), ("g", get("group_id"))]
        if get("villager_id") is not None:
            subjects.append(("v", get("villager_id")))
        for period in period_keys(get("occurred_on")):
            for code, sid in subjects:
                row = acc[(period, code, sid)]
                row[0] = get("village_id")
                row[1] += pts
                row[2] += spent
                row[3] += 1
    return acc


def apply_tallies(session: Session, entries: Iterable[LedgerEntry | dict]) -> None:
    """Add posted entries to the running tallies (an upsert per touched row)."""
    deltas = tally_deltas(entries)
    if not deltas:
        return
    params = [dict(period=p, kind=k, subject_id=s, village_id=v[0], points=v[1], spent=v[2], entries=v[3])
              for (p, k, s), v in deltas.items()]
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Tally)
    stmt = ins.on_conflict_do_update(
        index_elements=[Tally.period, Tally.kind, Tally.subject_id],
        set_=dict(points=Tally.points + ins.excluded.points, spent=Tally.spent + ins.excluded.spent,
                  entries=Tally.entries + ins.excluded.entries),
    )
    session.execute(stmt, params)


# --- balances -------------------------------------------------------------------------

@dataclass(frozen=True)
class Balance:
    honour: int
    redeemable: int
    pending: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def balance(session: Session, *, household: Household | None = None,
            villager: Villager | None = None) -> Balance:
    if (household is None) == (villager is None):
        raise ValueError("give exactly one of household or villager")
    code, sid = ("h", household.id) if household else ("v", villager.id)
    row = session.execute(
        select(Tally.points, Tally.spent).where(Tally.period == "all", Tally.kind == code, Tally.subject_id == sid)
    ).first()
    honour, spent = (row.points, row.spent) if row else (0, 0)
    col = Submission.household_id if household else Submission.villager_id
    pending = session.execute(
        select(func.coalesce(func.sum(Submission.points), 0))
        .where(col == sid, Submission.status == SubmissionStatus.pending)
    ).scalar_one()
    return Balance(int(honour), int(honour + spent), int(pending))


# --- leaderboards -----------------------------------------------------------------------

@dataclass
class BoardRow:
    rank: int
    id: int
    name: str
    group: str
    points: int
    per_head: float | None = None
    village: str | None = None

    def as_dict(self) -> dict:
        d = {"rank": self.rank, "id": self.id, "name": self.name, "group": self.group, "points": self.points}
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


def _subjects(by: SubjectKind, village: Village | None, group: Group | None):
    """(id, name, group name, village name, head count) of every active subject."""
    if by == "villager":
        q = (select(Villager.id, Villager.name, Group.name, Village.name, func.cast(1, Integer))
             .join(Household, Villager.household_id == Household.id)
             .join(Group, Household.group_id == Group.id)
             .join(Village, Villager.village_id == Village.id)
             .where(Villager.status == VillagerStatus.active))
        scope_col = Villager.village_id
    elif by == "household":
        heads = select(Villager.household_id.label("hid"), func.count().label("n")).where(
            Villager.status == VillagerStatus.active).group_by(Villager.household_id).subquery()
        head = Villager.__table__.alias("head")
        q = (select(Household.id, func.coalesce(head.c.name, Household.number), Group.name, Village.name,
                    func.coalesce(heads.c.n, 0))
             .join(Group, Household.group_id == Group.id)
             .join(Village, Household.village_id == Village.id)
             .outerjoin(head, head.c.id == Household.head_id)
             .outerjoin(heads, heads.c.hid == Household.id)
             .where(Household.active.is_(True)))
        scope_col = Household.village_id
    else:
        heads = (select(Household.group_id.label("gid"), func.count().label("n"))
                 .join(Villager, Villager.household_id == Household.id)
                 .where(Villager.status == VillagerStatus.active).group_by(Household.group_id).subquery())
        q = (select(Group.id, Group.name, Group.name, Village.name, func.coalesce(heads.c.n, 0))
             .join(Village, Group.village_id == Village.id)
             .outerjoin(heads, heads.c.gid == Group.id))
        scope_col = Group.village_id
    if village is not None:
        q = q.where(scope_col == village.id)
    if group is not None:
        q = q.where((Group.id == group.id))
    return q


def leaderboard(session: Session, by: SubjectKind, period: str, *, village: Village | None = None,
                group: Group | None = None, limit: int | None = None) -> list[BoardRow]:
    """Ranked standings of posted entries. ``village=None`` means county-wide (viewer role).

    Without a limit every active subject is listed, zeros included. Ties share a rank
    (1, 2, 2, 4) and keep a stable order by id.
    """
    key = parse_period(period).key
    code = _KIND_CODE[by]
    subjects = _subjects(by, village, group).subquery()
    sid, name, gname, vname, heads = subjects.c
    pts = func.coalesce(Tally.points, 0)
    q = (select(sid, name, gname, vname, heads, pts.label("pts"))
         .select_from(subjects)
         .outerjoin(Tally, (Tally.subject_id == sid) & (Tally.period == key) & (Tally.kind == code))
         .order_by(pts.desc(), sid))
    if limit is not None:
        q = q.limit(limit)
    rows = session.execute(q).all()
    ranks = competition_ranks([r.pts for r in rows])
    out = []
    for rank, r in zip(ranks, rows):
        per_head = None
        if by != "villager":
            per_head = round(r.pts / r[4], 2) if r[4] else 0.0
        out.append(BoardRow(rank, r[0], r[1], r[2], int(r.pts), per_head, r[3] if village is None else None))
    return out


def month_participation(session: Session, village: Village, month: str) -> tuple[int, int]:
    """(households with at least one posted entry in the month, active households)."""
    key = parse_period(month).key
    active = session.execute(select(func.count()).select_from(Household).where(
        Household.village_id == village.id, Household.active.is_(True))).scalar_one()
    took_part = session.execute(select(func.count()).select_from(Tally).where(
        Tally.village_id == village.id, Tally.period == key, Tally.kind == "h", Tally.entries > 0)).scalar_one()
    return took_part, active


def rebuild_tallies(session: Session, village: Village | None = None) -> None:
    """Recompute tallies from the ledger (after a bulk load, or to repair)."""
    from sqlalchemy import delete

    d = delete(Tally)
    q = select(LedgerEntry.kind, LedgerEntry.points, LedgerEntry.household_id, LedgerEntry.group_id,
               LedgerEntry.villager_id, LedgerEntry.occurred_on, LedgerEntry.village_id)
    if village is not None:
        d = d.where(Tally.village_id == village.id)
        q = q.where(LedgerEntry.village_id == village.id)
    session.execute(d)
    batch: list[dict] = []
    for row in session.execute(q.execution_options(yield_per=20000)):
        batch.append(row._asdict())
        if len(batch) >= 20000:
            apply_tallies(session, batch)
            batch.clear()
    apply_tallies(session, batch)
