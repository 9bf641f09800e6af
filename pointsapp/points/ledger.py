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
from dataclasses import dataclass
from collections.abc import Iterator

from sqlalchemy import (
    Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base, BigId, UTCDateTime, utcnow
from .periods import local_month_end_utc, parse_month
from .registry import Household, StaffUser, Village, Villager
from .rules import RuleVersion

GENESIS = "0" * 64


class SubmissionStatus(str, enum.Enum):
    pending = "pending"      # waiting for review
    approved = "approved"    # posted to the ledger
    rejected = "rejected"    # a reviewer said no, with a reason
    refused = "refused"      # refused at capture (rule, role, scope, period ...), with a reason


class EntryKind(str, enum.Enum):
    award = "award"
    deduction = "deduction"
    correction = "correction"
    redemption = "redemption"  # reserved for the rewards issue: spends redeemable points
    expiry = "expiry"          # reserved: redeemable points that lapse

    @property
    def spends(self) -> bool:
        """Redemption and expiry reduce the redeemable balance but not the honour balance."""
        return self in (EntryKind.redemption, EntryKind.expiry)


class CaptureBatch(Base):
    """One capture call: a phone form, a CLI call or an imported sheet. Its key makes it idempotent."""

    __tablename__ = "capture_batches"
    __table_args__ = (UniqueConstraint("village_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    key: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))       # web, import, cli, demo
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
    points: Mapped[int] = mapped_column(Integer, default=0)   # what posting will credit (after caps)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[SubmissionStatus] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)          # refusal or rejection reason
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
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[EntryKind] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    requested_points: Mapped[int] = mapped_column(Integer)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id"))
    rule_version_id: Mapped[int | None] = mapped_column(ForeignKey("rule_versions.id"))
    villager_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))  # at the time
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))          # at the time
    occurred_on: Mapped[dt.date] = mapped_column(Date)   # local date it happened / counts in
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    captured_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), unique=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    rule_version: Mapped[RuleVersion | None] = relationship()
    villager: Mapped[Villager | None] = relationship()
    household: Mapped[Household] = relationship()
    captured_by: Mapped[StaffUser | None] = relationship(foreign_keys=[captured_by_id])
    approved_by: Mapped[StaffUser | None] = relationship(foreign_keys=[approved_by_id])
    submission: Mapped[Submission | None] = relationship(back_populates="entry")
    corrects: Mapped[LedgerEntry | None] = relationship(remote_side=[id])


class ClosedPeriod(Base):
    """A locked local month of one village. Nothing can be posted with a date in it."""

    __tablename__ = "closed_periods"
    __table_args__ = (UniqueConstraint("village_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    month: Mapped[str] = mapped_column(String(7))
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    digest_seq: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))


# --- the hash chain -------------------------------------------------------------------

HASHED_FIELDS = (
    "village_id", "seq", "kind", "points", "requested_points", "capped", "quantity", "rule_id",
    "rule_version_id", "villager_id", "household_id", "group_id", "occurred_on", "recorded_at",
    "note", "captured_by_id", "approved_by_id", "submission_id", "corrects_id",
)


_KIND = HASHED_FIELDS.index("kind")
_DAY = HASHED_FIELDS.index("occurred_on")
_AT = HASHED_FIELDS.index("recorded_at")
_CAPPED = HASHED_FIELDS.index("capped")
_UTC = dt.timezone.utc


def _utc_text(value) -> str:
    """A UTC timestamp as 2026-11-20T04:00:00.000000Z (also from SQLite's stored text)."""
    if isinstance(value, str):  # SQLite stores "2026-11-20 04:00:00.000000" (UTC)
        return value.replace(" ", "T") + ("" if "." in value else ".000000") + "Z"
    if value.tzinfo is not None:
        value = value.astimezone(_UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def canonical_values(values: list) -> list:
    """The hashed values in HASHED_FIELDS order, normalised (enums, dates, timestamps)."""
    values[_KIND] = getattr(values[_KIND], "value", values[_KIND])
    day = values[_DAY]
    values[_DAY] = day if isinstance(day, str) else day.isoformat()
    values[_AT] = _utc_text(values[_AT])
    values[_CAPPED] = bool(values[_CAPPED])  # SQLite hands back 0/1
    return values


def hash_values(prev_hash: str, values: list) -> str:
    body = json.dumps(canonical_values(values), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def entry_hash(prev_hash: str, fields: dict) -> str:
    """sha256 over the previous hash and the entry's content as a JSON array in HASHED_FIELDS order."""
    return hash_values(prev_hash, [fields[k] for k in HASHED_FIELDS])


def append_entry(session: Session, village: Village, **fields) -> LedgerEntry:
    """Append one entry to the village's chain. The caller holds the village lock."""
    fields.setdefault("recorded_at", utcnow())
    fields.setdefault("capped", False)
    fields.setdefault("quantity", 1)
    fields.setdefault("requested_points", fields["points"])
    for k in HASHED_FIELDS:
        fields.setdefault(k, None)
    fields["village_id"] = village.id
    fields["seq"] = village.ledger_seq + 1
    # Truncate to microseconds as every backend stores them, so the hash round-trips.
    fields["recorded_at"] = fields["recorded_at"].astimezone(dt.timezone.utc)
    prev = village.ledger_head
    digest = entry_hash(prev, fields)
    entry = LedgerEntry(prev_hash=prev, hash=digest, **fields)
    session.add(entry)
    village.ledger_seq = fields["seq"]
    village.ledger_head = digest
    return entry


def _compiled(conn, stmt):
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
    problem: str | None = None
    bad_seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(session: Session, village: Village, *, batch: int = 5000,
                 progress=None) -> VerifyResult:
    """Walk a village's chain in seq order in constant memory and recompute every hash.

    Catches a changed row (hash mismatch), a deleted row (gap in seq / broken link or a head
    that no longer matches) and a row inserted out of band (duplicate or unexpected seq,
    broken link).
    """
    table = LedgerEntry.__table__
    cols = [table.c[k] for k in HASHED_FIELDS] + [table.c.id, table.c.prev_hash, table.c.hash]
    n = len(HASHED_FIELDS)
    seq_at = HASHED_FIELDS.index("seq")
    conn = session.connection()
    expected_seq, prev, count = 1, GENESIS, 0
    last_seq = 0
    while True:
        # Core rows without type processing: timestamps are hashed from what the database holds.
        stmt = (select(*cols).where(table.c.village_id == village.id, table.c.seq >= expected_seq)
                .order_by(table.c.seq).limit(batch))
        rows = conn.exec_driver_sql(*_compiled(conn, stmt)).fetchall()
        if not rows:
            break
        for row in rows:
            values = list(row[:n])
            entry_id, prev_hash, stored = row[n], row[n + 1], row[n + 2]
            seq = values[seq_at]
            where = f"entry id {entry_id} (seq {seq})"
            if seq != expected_seq:
                problem = (f"{where}: expected seq {expected_seq}; an entry is missing or was inserted"
                           if seq > expected_seq else f"{where}: seq {seq} appears twice; an entry was inserted")
                return VerifyResult(village.name, count, prev, problem, seq)
            if prev_hash != prev:
                return VerifyResult(village.name, count, prev,
                                    f"{where}: does not link to the previous entry's hash", seq)
            if hash_values(prev, values) != stored:
                return VerifyResult(village.name, count, prev,
                                    f"{where}: content does not match its hash (changed after posting)", seq)
            prev, count, last_seq = stored, count + 1, seq
            expected_seq += 1
        if progress:
            progress(len(rows))
    if last_seq != village.ledger_seq or prev != village.ledger_head:
        return VerifyResult(
            village.name, count, prev,
            f"the chain ends at seq {last_seq} but the village's head is seq {village.ledger_seq}; "
            "entries were deleted from the end", last_seq + 1)
    return VerifyResult(village.name, count, prev)


@dataclass(frozen=True)
class Digest:
    month: str
    seq: int
    hash: str
    closed: bool


def month_digest(session: Session, village: Village, month: str) -> Digest:
    """The chain's head at the end of a local month (its stored value once the month is closed)."""
    parse_month(month)
    closed = session.execute(
        select(ClosedPeriod).where(ClosedPeriod.village_id == village.id, ClosedPeriod.month == month)
    ).scalar_one_or_none()
    if closed:
        return Digest(month, closed.digest_seq, closed.digest, True)
    end = local_month_end_utc(month, village.timezone)
    row = session.execute(
        select(LedgerEntry.seq, LedgerEntry.hash)
        .where(LedgerEntry.village_id == village.id, LedgerEntry.recorded_at < end)
        .order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    return Digest(month, row.seq, row.hash, False) if row else Digest(month, 0, GENESIS, False)


def iter_entries(session: Session, village: Village, start: dt.date | None = None,
                 end: dt.date | None = None, chunk: int = 2000) -> Iterator[LedgerEntry]:
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


def entry_count(session: Session, village: Village) -> int:
    return session.execute(select(func.count()).select_from(LedgerEntry)
                           .where(LedgerEntry.village_id == village.id)).scalar_one()


def lock_village(session: Session, village: Village) -> Village:
    """Serialise ledger writers of one village (caps, chain head) until the transaction ends."""
    from .db import lock_row

    locked = lock_row(session, Village, village.id)
    session.refresh(locked, ["ledger_seq", "ledger_head"])
    return locked
