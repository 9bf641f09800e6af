"""The ledger: captures waiting for review, and the append-only, hash-chained entries.

Capture and posting are two steps. A :class:`Submission` is a workflow object (pending →
approved / rejected, or refused at once). Approving one appends a :class:`LedgerEntry`;
entries are never updated or deleted. A correction is a new entry linked to the original.

Each village has one hash chain. ``Village.ledger_seq`` / ``ledger_head`` hold its head and
are advanced only while the village row is locked, so concurrent writers queue up.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field

from sqlalchemy import (
    DDL,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base, BigId, UTCDateTime, str_enum, utcnow
from .registry import Household, StaffUser, Village, Villager
from .rules import RuleVersion

GENESIS = "0" * 64


class SubmissionStatus(enum.StrEnum):
    pending = "pending"  # waiting for review
    approved = "approved"  # posted to the ledger
    rejected = "rejected"  # a reviewer said no, with a reason
    refused = "refused"  # refused at capture (rule, role, scope, period ...), with a reason


class EntryKind(enum.StrEnum):
    award = "award"
    deduction = "deduction"
    correction = "correction"
    redemption = "redemption"  # reserved for the rewards issue: spends redeemable points
    expiry = "expiry"  # reserved: redeemable points that lapse

    @property
    def spends(self) -> bool:
        """Redemption and expiry reduce the redeemable balance but not the honour balance."""
        return self in (EntryKind.redemption, EntryKind.expiry)


def _sql_in(values: Iterable[enum.Enum]) -> str:
    """An enum's values as a SQL IN list, for CHECK constraints (the migration spells them out)."""
    return ", ".join(f"'{v.value}'" for v in values)


# The sign of an entry's points follows its kind: awards never take away, deductions and
# spending never add; a correction goes either way.
ENTRY_SIGN_CHECK = (
    "(kind = 'award' AND points >= 0) OR (kind IN ('deduction', 'redemption', 'expiry') AND points <= 0)"
    " OR kind = 'correction'"
    " OR (kind = 'redemption' AND corrects_seq IS NOT NULL)"  # a cancelled redemption gives its points back
)
# Corrections, and the cancellation of a redemption, point at the seq they reverse.
CORRECTION_TARGET_CHECK = "kind = 'redemption' OR ((kind = 'correction') = (corrects_seq IS NOT NULL))"


class CaptureBatch(Base):
    """One capture call: a phone form, a CLI call or an imported sheet. Its key makes it idempotent."""

    __tablename__ = "capture_batches"
    __table_args__ = (UniqueConstraint("village_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    key: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # web, import, cli, demo
    actor_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    label: Mapped[str | None] = mapped_column(String(255))  # e.g. the imported file's name
    activity_id: Mapped[int | None] = mapped_column(Integer, index=True)

    actor: Mapped[StaffUser] = relationship()
    submissions: Mapped[list[Submission]] = relationship(back_populates="batch", order_by="Submission.line_no")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_cap_person", "rule_id", "villager_id", "occurred_on"),
        Index("ix_submissions_cap_household", "rule_id", "household_id", "occurred_on"),
        Index("ix_submissions_queue", "village_id", "status", "occurred_on"),
        Index("ix_submissions_household_status", "household_id", "status"),
        CheckConstraint(f"status IN ({_sql_in(SubmissionStatus)})", name="status"),
        CheckConstraint("status = 'refused' OR quantity >= 1", name="quantity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("capture_batches.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id"))
    rule_version_id: Mapped[int | None] = mapped_column(ForeignKey("rule_versions.id"))
    villager_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    requested_points: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)  # what posting will credit (after caps)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[SubmissionStatus] = mapped_column(str_enum(SubmissionStatus))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)  # refusal or rejection reason
    note: Mapped[str | None] = mapped_column(Text)
    captured_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    captured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    activity_id: Mapped[int | None] = mapped_column(Integer, index=True)

    batch: Mapped[CaptureBatch] = relationship(back_populates="submissions")
    rule_version: Mapped[RuleVersion | None] = relationship()
    villager: Mapped[Villager | None] = relationship()
    household: Mapped[Household | None] = relationship()
    captured_by: Mapped[StaffUser] = relationship(foreign_keys=[captured_by_id])
    decided_by: Mapped[StaffUser | None] = relationship(foreign_keys=[decided_by_id])
    entry: Mapped[LedgerEntry | None] = relationship(back_populates="submission", uselist=False)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("village_id", "seq"),
        # Covers the month boards and the 公示 list of a village.
        Index("ix_ledger_village_day", "village_id", "occurred_on", "household_id", "points"),
        Index("ix_ledger_household", "household_id", "occurred_on"),
        Index("ix_ledger_villager", "villager_id", "occurred_on"),
        CheckConstraint("seq >= 1", name="seq"),
        CheckConstraint(f"kind IN ({_sql_in(EntryKind)})", name="kind"),
        CheckConstraint(ENTRY_SIGN_CHECK, name="sign"),
        CheckConstraint("quantity >= 1", name="quantity"),
        CheckConstraint(CORRECTION_TARGET_CHECK, name="correction_target"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    points: Mapped[int] = mapped_column(Integer)
    requested_points: Mapped[int] = mapped_column(Integer)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id"))
    rule_version_id: Mapped[int | None] = mapped_column(ForeignKey("rule_versions.id"))
    villager_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))  # at the time
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))  # at the time
    occurred_on: Mapped[dt.date] = mapped_column(Date)  # local date it happened / counts in
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    captured_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), unique=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    # What a correction corrects, as the chain knows it: the original's seq (hashed; the id is not).
    corrects_seq: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    rule_version: Mapped[RuleVersion | None] = relationship()
    villager: Mapped[Villager | None] = relationship()
    household: Mapped[Household] = relationship()
    captured_by: Mapped[StaffUser | None] = relationship(foreign_keys=[captured_by_id])
    approved_by: Mapped[StaffUser | None] = relationship(foreign_keys=[approved_by_id])
    submission: Mapped[Submission | None] = relationship(back_populates="entry")
    corrects: Mapped[LedgerEntry | None] = relationship(remote_side=[id])


# PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the ledger (the same trigger as the
# 0002_lifecycle migration, so that create_all matches it).
APPEND_ONLY_DDL = (
    (
        "CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'ledger_entries is append-only: % refused (post a correction instead)', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END; $$ LANGUAGE plpgsql"
    ),
    (
        "CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
    ),
    (
        "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()"
    ),
)
for _stmt in APPEND_ONLY_DDL:
    event.listen(LedgerEntry.__table__, "after_create", DDL(_stmt.replace("%", "%%")).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]


class ClosedPeriod(Base):
    """A locked local month of one village. Nothing can be posted with a date in it.

    ``head_seq``/``head_hash`` are the chain's head when the month was closed: a position in
    the chain, recorded so that ``ledger verify`` can tell whether the chain up to it was
    rewritten. The month's published digests are its notices' (see :mod:`.notice`).
    """

    __tablename__ = "closed_periods"
    __table_args__ = (UniqueConstraint("village_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    month: Mapped[str] = mapped_column(String(7))
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    head_seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


# --- the hash chain -------------------------------------------------------------------

HASHED_FIELDS = (
    "village_id",
    "seq",
    "kind",
    "points",
    "requested_points",
    "capped",
    "quantity",
    "rule_id",
    "rule_version_id",
    "villager_id",
    "household_id",
    "group_id",
    "occurred_on",
    "recorded_at",
    "note",
    "captured_by_id",
    "approved_by_id",
    "submission_id",
    "corrects_seq",
)


_KIND = HASHED_FIELDS.index("kind")
_DAY = HASHED_FIELDS.index("occurred_on")
_AT = HASHED_FIELDS.index("recorded_at")
_CAPPED = HASHED_FIELDS.index("capped")
_UTC = dt.timezone.utc


def _utc_text(value: str | dt.datetime) -> str:
    """A UTC timestamp as 2026-11-20T04:00:00.000000Z (also from SQLite's stored text)."""
    if isinstance(value, str):  # SQLite stores "2026-11-20 04:00:00.000000" (UTC)
        return value.replace(" ", "T") + ("" if "." in value else ".000000") + "Z"
    if value.tzinfo is not None:
        value = value.astimezone(_UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def canonical_values(values: list[Any]) -> list[Any]:
    """The hashed values in HASHED_FIELDS order, normalised (enums, dates, timestamps)."""
    values[_KIND] = getattr(values[_KIND], "value", values[_KIND])
    day = values[_DAY]
    values[_DAY] = day if isinstance(day, str) else day.isoformat()
    values[_AT] = _utc_text(values[_AT])
    values[_CAPPED] = bool(values[_CAPPED])  # SQLite hands back 0/1
    return values


def hash_values(prev_hash: str, values: list[Any]) -> str:
    body = json.dumps(canonical_values(values), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """sha256 over the previous hash and the entry's content as a JSON array in HASHED_FIELDS order."""
    return hash_values(prev_hash, [fields[k] for k in HASHED_FIELDS])


def _chain_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """An entry's columns with their defaults, ``recorded_at`` in UTC (hashed as stored)."""
    fields.setdefault("recorded_at", utcnow())
    fields.setdefault("capped", False)
    fields.setdefault("quantity", 1)
    fields.setdefault("requested_points", fields["points"])
    for k in HASHED_FIELDS:
        fields.setdefault(k, None)
    # Truncate to microseconds as every backend stores them, so the hash round-trips.
    fields["recorded_at"] = fields["recorded_at"].astimezone(dt.timezone.utc)
    return fields


def append_entry(session: Session, village: Village, **fields: Any) -> LedgerEntry:
    """Append one entry to the village's chain. The caller holds the village lock."""
    fields = _chain_fields(fields)
    fields["village_id"] = village.id
    fields["seq"] = village.ledger_seq + 1
    prev = village.ledger_head
    digest = entry_hash(prev, fields)
    entry = LedgerEntry(prev_hash=prev, hash=digest, **fields)
    session.add(entry)
    village.ledger_seq = fields["seq"]
    village.ledger_head = digest
    return entry


def append_entries(session: Session, village: Village, rows: list[dict[str, Any]]) -> list[LedgerEntry]:
    """Append many entries to the village's chain, in order, with one multi-row INSERT (the entries
    come back as ORM objects with their ids). Each is hashed exactly as :func:`append_entry` would
    hash it one by one. The caller holds the village lock."""
    if not rows:
        return []
    seq, prev = village.ledger_seq, village.ledger_head
    prepared = []
    for row in rows:
        fields = _chain_fields(dict(row))
        seq += 1
        fields["village_id"], fields["seq"] = village.id, seq
        digest = entry_hash(prev, fields)
        fields["prev_hash"], fields["hash"] = prev, digest
        prev = digest
        prepared.append(fields)
    # Returned rows come back in batches in any order: put them back in chain order by seq (asking
    # SQLAlchemy to keep parameter order makes SQLite insert one row per statement).
    entries = sorted(session.scalars(insert(LedgerEntry).returning(LedgerEntry), prepared), key=lambda e: e.seq)
    village.ledger_seq, village.ledger_head = seq, prev
    return entries


def _compiled(conn: Connection, stmt: Select[Any]) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
    """A statement as driver SQL plus positional parameters (raw, unprocessed result rows)."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    if compiled.positiontup is not None:
        return compiled.string, tuple(params[k] for k in compiled.positiontup)
    return compiled.string, params


@dataclass
class VerifyResult:
    village: str
    entries: int
    head: str
    problems: list[str] = field(default_factory=list)
    bad_seq: int | None = None
    rows: int = 0  # every row of the village, whatever its seq

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem(self) -> str | None:
        return self.problems[0] if self.problems else None

    def fail(self, problem: str, seq: int | None = None) -> None:
        self.problems.append(problem)
        if self.bad_seq is None and seq is not None:
            self.bad_seq = seq


def verify_chain(
    session: Session, village: Village, *, batch: int = 5000, progress: Callable[[int], object] | None = None
) -> VerifyResult:
    """Walk a village's chain in seq order in constant memory and recompute every hash.

    Every row of the village is counted, whatever its seq. Each problem is named for what
    happened: a row changed after posting (hash mismatch), a row missing from the middle (gap)
    or from the end (the chain stops before the village's head), a row inserted (duplicate seq,
    broken link), a row appended out of band after the head (even with a valid hash), a row
    outside the chain (seq below 1), and a correction whose hashed target (``corrects_seq``)
    no longer matches the entry its ``corrects_id`` points at (ids swapped).
    """
    table = LedgerEntry.__table__
    cols = [table.c[k] for k in HASHED_FIELDS] + [table.c.id, table.c.prev_hash, table.c.hash, table.c.corrects_id]
    n = len(HASHED_FIELDS)
    seq_at = HASHED_FIELDS.index("seq")
    cseq_at = HASHED_FIELDS.index("corrects_seq")
    legacy = village.legacy_hash_seq or 0
    conn = session.connection()
    res = VerifyResult(village.name, 0, GENESIS)
    res.rows = session.execute(
        select(func.count()).select_from(table).where(table.c.village_id == village.id)
    ).scalar_one()
    below = session.execute(
        select(table.c.id, table.c.seq)
        .where(table.c.village_id == village.id, table.c.seq < 1)
        .order_by(table.c.seq.desc())
    ).all()
    if below:
        listed = ", ".join(f"seq {r.seq} (id {r.id})" for r in below[:10])
        res.fail(
            f"{len(below)} row(s) outside the chain, below seq 1, were inserted out of band: {listed}", below[0].seq
        )
    expected_seq, prev, broken = 1, GENESIS, False
    last_seq = 0
    corrections: list[tuple[int, int, int | None]] = []  # (seq, corrects_seq, corrects_id)
    while not broken:
        # Core rows without type processing: timestamps are hashed from what the database holds.
        stmt = (
            select(*cols)
            .where(table.c.village_id == village.id, table.c.seq >= expected_seq)
            .order_by(table.c.seq)
            .limit(batch)
        )
        rows = conn.exec_driver_sql(*_compiled(conn, stmt)).fetchall()
        if not rows:
            break
        for row in rows:
            values = list(row[:n])
            entry_id, prev_hash, stored, corrects_id = row[n], row[n + 1], row[n + 2], row[n + 3]
            seq = values[seq_at]
            where = f"entry id {entry_id} (seq {seq})"
            if seq != expected_seq:
                res.fail(
                    f"{where}: expected seq {expected_seq}; an entry is missing or was inserted"
                    if seq > expected_seq
                    else f"{where}: seq {seq} appears twice; an entry was inserted",
                    seq,
                )
                broken = True
                break
            if prev_hash != prev:
                res.fail(f"{where}: does not link to the previous entry's hash", seq)
                broken = True
                break
            if hash_values(prev, _as_hashed(values, corrects_id, legacy)) != stored:
                res.fail(f"{where}: content does not match its hash (changed after posting)", seq)
                broken = True
                break
            if values[cseq_at] is not None or corrects_id is not None:
                corrections.append((seq, values[cseq_at], corrects_id))
            prev, last_seq = stored, seq
            res.entries += 1
            expected_seq += 1
        if progress:
            progress(len(rows))
    res.head = prev
    if not broken:
        if last_seq > village.ledger_seq:
            res.fail(
                f"{last_seq - village.ledger_seq} entry(ies) after the village's head (seq {village.ledger_seq}), "
                f"up to seq {last_seq}, were appended out of band",
                village.ledger_seq + 1,
            )
        elif last_seq < village.ledger_seq:
            res.fail(
                f"the chain ends at seq {last_seq} but the village's head is seq {village.ledger_seq}; "
                "entries were deleted from the end",
                last_seq + 1,
            )
        elif prev != village.ledger_head:
            res.fail(
                f"the last entry (seq {last_seq}) does not match the village's recorded head hash; "
                "the last entry or the head was replaced",
                last_seq,
            )
    if corrections:
        _check_corrections(session, village, corrections, res)
    counted = res.entries + len(below)
    if not broken and res.rows != counted:
        res.fail(f"the village has {res.rows} rows but {counted} were accounted for")
    return res


_CSEQ = HASHED_FIELDS.index("corrects_seq")


def _as_hashed(values: list[Any], corrects_id: int | None, legacy_seq: int) -> list[Any]:
    """The values as they were hashed: a correction posted before 0002_lifecycle (seq up to
    the village's ``legacy_hash_seq``) hashed its target's id where corrects_seq now stands.
    Either way the link check binds corrects_id and corrects_seq to one entry, and which of the
    two was hashed is fixed per row by the boundary, so neither can be changed unseen."""
    if corrects_id is not None and values[HASHED_FIELDS.index("seq")] <= legacy_seq:
        values = list(values)
        values[_CSEQ] = corrects_id
    return values


def legacy_hash_boundary(conn: Connection, village_id: int) -> int:
    """For migrations: the highest seq of the village whose correction's stored hash holds the
    corrected entry's id (0001's rule) rather than its seq; 0 when there is none."""
    table = LedgerEntry.__table__
    cols = [table.c[k] for k in HASHED_FIELDS] + [table.c.corrects_id, table.c.prev_hash, table.c.hash]
    stmt = (
        select(*cols)
        .where(table.c.village_id == village_id, table.c.corrects_id.is_not(None))
        .order_by(table.c.seq.desc())
    )
    n = len(HASHED_FIELDS)
    for row in conn.exec_driver_sql(*_compiled(conn, stmt)):
        values, corrects_id, prev_hash, stored = list(row[:n]), row[n], row[n + 1], row[n + 2]
        if corrects_id != values[_CSEQ]:
            values[_CSEQ] = corrects_id
            if hash_values(prev_hash, values) == stored:
                return int(values[HASHED_FIELDS.index("seq")])
    return 0


def _check_corrections(
    session: Session, village: Village, corrections: list[tuple[int, int, int | None]], res: VerifyResult
) -> None:
    """Each correction's ``corrects_id`` must be the entry at its hashed ``corrects_seq``."""
    ids = {cid for _s, _c, cid in corrections if cid is not None}
    seq_of: dict[int | None, int] = (
        dict(
            session.execute(
                select(LedgerEntry.id, LedgerEntry.seq).where(
                    LedgerEntry.village_id == village.id, LedgerEntry.id.in_(ids)
                )
            ).all()
        )
        if ids
        else {}
    )
    for seq, cseq, cid in corrections:
        if cseq is None or cid is None or seq_of.get(cid) != cseq:
            res.fail(
                f"correction seq {seq} corrects seq {cseq} in the chain, but its link points at entry id {cid} "
                f"(seq {seq_of.get(cid)}); entry ids were changed",
                seq,
            )


def iter_entries(
    session: Session, village: Village, start: dt.date | None = None, end: dt.date | None = None, chunk: int = 2000
) -> Iterator[LedgerEntry]:
    """Stream a village's entries in seq order (for exports), in bounded memory."""
    last = 0
    while True:
        q = select(LedgerEntry).where(LedgerEntry.village_id == village.id, LedgerEntry.seq > last)
        if start:
            q = q.where(LedgerEntry.occurred_on >= start)
        if end:
            q = q.where(LedgerEntry.occurred_on <= end)
        rows = session.execute(q.order_by(LedgerEntry.seq).limit(chunk)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def lock_village(session: Session, village: Village) -> Village:
    """Serialise ledger writers of one village (caps, chain head) until the transaction ends."""
    from .db import lock_row

    locked = lock_row(session, Village, village.id)
    session.refresh(locked, ["ledger_seq", "ledger_head"])
    return locked
