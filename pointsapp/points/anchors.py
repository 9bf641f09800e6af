"""Anchors: the values a village has put on paper, and the full ``ledger verify``.

An anchor is a position in a village's chain that was published: each notice (its head seq,
chain hash and digest) and each closed month (its head seq and chain hash), plus the chain's
head when the anchors were exported. Kept outside the database (printed, or a file), they
catch what the chain alone cannot: someone with database access who rewrites the whole chain
and recomputes every hash.

:func:`verify_village` walks the chain (:func:`.ledger.verify_chain`), recomputes every stored
notice digest and closed-month head, reconciles the running tallies with the entries and,
given an earlier export, checks every anchor in it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import utcnow
from .ledger import ClosedPeriod, LedgerEntry, VerifyResult, verify_chain
from .notice import Notice, listed_seqs, recompute_digest
from .registry import Village
from .standings import Tally, tally_deltas

ANCHORS_FORMAT = "pointsapp-anchors-v1"


def _hash_at(session: Session, village: Village, seq: int) -> str | None:
    if seq == 0:
        from .ledger import GENESIS

        return GENESIS
    rows = (
        session.execute(select(LedgerEntry.hash).where(LedgerEntry.village_id == village.id, LedgerEntry.seq == seq))
        .scalars()
        .all()
    )
    return rows[0] if len(rows) == 1 else None


def _notice_label(n: Notice) -> str:
    return f"notice {n.month}" + ("" if n.number == 1 else f" supplement {n.number - 1}")


def village_anchors(session: Session, village: Village) -> dict[str, Any]:
    """What the village has published, as stored: its notices and closed months, and its head."""
    notices = (
        session.execute(select(Notice).where(Notice.village_id == village.id).order_by(Notice.month, Notice.number))
        .scalars()
        .all()
    )
    closed = (
        session.execute(select(ClosedPeriod).where(ClosedPeriod.village_id == village.id).order_by(ClosedPeriod.month))
        .scalars()
        .all()
    )
    out: dict[str, Any] = {
        "village_id": village.id,
        "village": village.name,
        "head_seq": village.ledger_seq,
        "head_hash": village.ledger_head,
        "notices": [
            {
                "month": n.month,
                "number": n.number,
                "kind": n.kind,
                "entries": n.entry_count,
                "head_seq": n.head_seq,
                "head_hash": n.head_hash,
                "digest": n.digest,
                "published_at": n.published_at.isoformat(),
            }
            for n in notices
        ],
        "closed": [
            {"month": c.month, "head_seq": c.head_seq, "head_hash": c.head_hash, "closed_at": c.closed_at.isoformat()}
            for c in closed
        ],
    }
    if village.legacy_hash_seq:  # corrections up to here hash their target's id (an upgraded database)
        out["legacy_hash_seq"] = village.legacy_hash_seq
    return out


def export_anchors(session: Session, villages: list[Village], now: dt.datetime | None = None) -> dict[str, Any]:
    return {
        "format": ANCHORS_FORMAT,
        "exported_at": (now or utcnow()).isoformat(),
        "villages": [village_anchors(session, v) for v in villages],
    }


# --- verify -----------------------------------------------------------------------------------


def check_notices(session: Session, village: Village, res: VerifyResult) -> None:
    """Every stored notice digest must equal the digest recomputed from its list and the chain."""
    for n in session.execute(
        select(Notice).where(Notice.village_id == village.id).order_by(Notice.month, Notice.number)
    ).scalars():
        label = _notice_label(n)
        at = _hash_at(session, village, n.head_seq)
        if at != n.head_hash:
            res.fail(
                f"{label}: the chain at seq {n.head_seq} no longer matches the head recorded when it was "
                "published; the chain was rewritten",
                n.head_seq,
            )
        seqs = listed_seqs(session, n)
        if len(seqs) != n.entry_count:
            res.fail(
                f"{label}: it listed {n.entry_count} entries when published but its list now has {len(seqs)}; "
                "the list was edited"
            )
        elif recompute_digest(session, n) != n.digest:
            res.fail(
                f"{label}: its digest no longer matches the entries it lists; the list or a listed entry was changed"
            )
        if seqs and seqs[-1] > n.head_seq:
            res.fail(f"{label}: it lists seq {seqs[-1]}, posted after it was published; the list was edited")


def check_closed(session: Session, village: Village, res: VerifyResult) -> None:
    for c in session.execute(
        select(ClosedPeriod).where(ClosedPeriod.village_id == village.id).order_by(ClosedPeriod.month)
    ).scalars():
        if _hash_at(session, village, c.head_seq) != c.head_hash:
            res.fail(
                f"closed month {c.month}: the chain at seq {c.head_seq} no longer matches the head recorded "
                "when the month was closed",
                c.head_seq,
            )


def check_tallies(session: Session, village: Village, res: VerifyResult, chunk: int = 20000) -> None:
    """The running tallies must equal sums over the entries; name each household/period that differs."""
    cols = (
        LedgerEntry.kind,
        LedgerEntry.points,
        LedgerEntry.household_id,
        LedgerEntry.group_id,
        LedgerEntry.villager_id,
        LedgerEntry.occurred_on,
        LedgerEntry.village_id,
    )
    want: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    batch: list[dict[str, Any]] = []

    def fold() -> None:
        for key, v in tally_deltas(batch).items():
            acc = want[key]
            acc[1] += v[1]
            acc[2] += v[2]
            acc[3] += v[3]
        batch.clear()

    for row in session.execute(
        select(*cols).where(LedgerEntry.village_id == village.id).execution_options(yield_per=chunk)
    ):
        batch.append(row._asdict())
        if len(batch) >= chunk:
            fold()
    fold()
    have = {
        (t.period, t.kind, t.subject_id): (t.points, t.spent, t.entries)
        for t in session.execute(select(Tally).where(Tally.village_id == village.id)).scalars()
    }
    names = {"h": "household", "v": "villager", "g": "group"}
    bad = []
    for key in sorted(set(want) | set(have), key=lambda k: (k[1] != "h", k[0], k[1], k[2])):
        w = tuple(want[key][1:]) if key in want else (0, 0, 0)
        h = have.get(key, (0, 0, 0))
        if w != h:
            period, kind, subject = key
            bad.append(
                f"{names.get(kind, kind)} {subject}, period {period}: tally says {h[0]} points "
                f"({h[2]} entries) but its entries sum to {w[0]} ({w[2]} entries)"
            )
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        res.fail("tallies disagree with the ledger: " + "; ".join(bad[:5]) + more)


def check_anchors(session: Session, village: Village, anchors: dict[str, Any], res: VerifyResult) -> None:
    """Check the chain against the values exported earlier (printed or saved)."""
    source = f"the anchors file of {anchors.get('exported_at', '?')}"
    head_seq = anchors.get("head_seq", 0)
    if head_seq > village.ledger_seq:
        res.fail(
            f"{source} saw the chain up to seq {head_seq}, but it now ends at seq {village.ledger_seq}; "
            "entries were deleted",
            village.ledger_seq + 1,
        )
    elif head_seq and _hash_at(session, village, head_seq) != anchors.get("head_hash"):
        res.fail(f"the chain at seq {head_seq} differs from {source}; the chain was rewritten up to there", head_seq)
    if anchors.get("legacy_hash_seq", 0) != (village.legacy_hash_seq or 0):
        res.fail(
            f"{source} says corrections up to seq {anchors.get('legacy_hash_seq', 0)} hash their target's id, "
            f"the database now says up to seq {village.legacy_hash_seq or 0}; the village row was edited"
        )
    stored = {
        (n.month, n.number): n for n in session.execute(select(Notice).where(Notice.village_id == village.id)).scalars()
    }
    for a in anchors.get("notices", []):
        label = f"notice {a['month']}" + ("" if a["number"] == 1 else f" supplement {a['number'] - 1}")
        n = stored.get((a["month"], a["number"]))
        if n is None:
            res.fail(
                f"{label}, published with digest {a['digest'][:16]}…, is no longer in the database; it was deleted"
            )
            continue
        if (n.digest, n.head_seq, n.head_hash) != (a["digest"], a["head_seq"], a["head_hash"]):
            res.fail(
                f"{label}: published with digest {a['digest'][:16]}… ({source}) but the database now says "
                f"{n.digest[:16]}…; the notice was rewritten"
            )
        if a["head_seq"] <= village.ledger_seq and _hash_at(session, village, a["head_seq"]) != a["head_hash"]:
            res.fail(
                f"{label}: the chain at seq {a['head_seq']} differs from what was published; the chain was rewritten",
                a["head_seq"],
            )
    closed = {
        c.month: c for c in session.execute(select(ClosedPeriod).where(ClosedPeriod.village_id == village.id)).scalars()
    }
    for a in anchors.get("closed", []):
        c = closed.get(a["month"])
        if c is None:
            res.fail(f"closed month {a['month']} is no longer closed in the database; its close was deleted")
        elif (c.head_seq, c.head_hash) != (a["head_seq"], a["head_hash"]):
            res.fail(f"closed month {a['month']}: its recorded head differs from {source}; it was rewritten")
        if a["head_seq"] <= village.ledger_seq and _hash_at(session, village, a["head_seq"]) != a["head_hash"]:
            res.fail(
                f"closed month {a['month']}: the chain at seq {a['head_seq']} differs from what was recorded "
                "at close; the chain was rewritten",
                a["head_seq"],
            )


def find_village_anchors(anchors_file: dict[str, Any], village: Village) -> dict[str, Any] | None:
    if anchors_file.get("format") != ANCHORS_FORMAT:
        raise ValueError(f"not an anchors file (format {anchors_file.get('format')!r})")
    for v in anchors_file.get("villages", []):
        if isinstance(v, dict) and v.get("village_id") == village.id and v.get("village") == village.name:
            return v
    return None


def verify_village(
    session: Session,
    village: Village,
    *,
    anchors: dict[str, Any] | None = None,
    progress: Callable[[int], object] | None = None,
) -> VerifyResult:
    """Everything ``ledger verify`` checks for one village. ``anchors``: an exported anchors file."""
    res = verify_chain(session, village, progress=progress)
    check_notices(session, village, res)
    check_closed(session, village, res)
    check_tallies(session, village, res)
    if anchors is not None:
        mine = find_village_anchors(anchors, village)
        if mine is None:
            res.fail(f"the anchors file has no entry for village {village.name} (id {village.id})")
        else:
            check_anchors(session, village, mine, res)
    return res
