#!/usr/bin/env python3
"""Redemption benchmark at county scale (issue 11): one redemption at the desk, end to end.

On the county database of ``bench_ledger.py`` (N demo villages, default 100: ~3M entries), a
clerk redeems one item for one household at a time, each in its own transaction: the village
lock, the stock and balance checks, one hash-chained ``redemption`` entry, its receipt, item
line and stock movement, the tallies, the audit event, and the commit. Beside it, in the same
run, the baseline inserts the same rows (entry, receipt, line, movement, audit event, the same
tally upserts) with plain INSERT/UPSERT statements and commits, with no checks and no lock.
The baseline's rows are deleted afterwards; the redemptions stay (they are real entries).

    .venv/bin/python benchmarks/bench_redeem.py                  # SQLite in benchmarks/data/
    .venv/bin/python benchmarks/bench_redeem.py --villages 10    # quicker
    .venv/bin/python benchmarks/bench_redeem.py --db postgresql://postgres@127.0.0.1:5432/test_rewards

Target: at most 50 ms median per redemption. The machine is shared and noisy: the ratio to the
baseline is the steadier figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_ledger import prepare  # noqa: E402

from pointsapp.points.db import utcnow  # noqa: E402
from pointsapp.points.engine import make_engine  # noqa: E402
from pointsapp.points.periods import local_today, period_keys  # noqa: E402
from pointsapp.points.registry import Household, Role, StaffUser, Village  # noqa: E402
from pointsapp.points.shop.models import ShopItem  # noqa: E402
from pointsapp.points.shop.redeem import Want, redeem  # noqa: E402
from pointsapp.points.shop.stock import add_item, stock_in  # noqa: E402
from pointsapp.points.standings import Tally  # noqa: E402

PRICE = 10
RAW_SEQ = 2_000_000_000  # the baseline's entries live far above any real seq, and are deleted


def setup_shop(engine, village_id: int) -> tuple[int, int, list[int]]:
    """A clerk, an item with plenty of stock, and the households richest in redeemable points."""
    with Session(engine) as s:
        village = s.get(Village, village_id)
        admin = (
            s.execute(select(StaffUser).where(StaffUser.village_id == village_id, StaffUser.role == Role.admin))
            .scalars()
            .first()
        )
        clerk = s.execute(select(StaffUser).where(StaffUser.username == "bench-clerk")).scalar_one_or_none()
        if clerk is None:
            clerk = StaffUser(username="bench-clerk", role=Role.clerk, village_id=village_id, password_hash="!")
            s.add(clerk)
            s.flush()
        item = s.execute(
            select(ShopItem).where(ShopItem.village_id == village_id, ShopItem.code == "BENCH")
        ).scalar_one_or_none()
        if item is None:
            item = add_item(s, village, admin, code="BENCH", name="香皂", price=PRICE, unit="块")
        stock_in(s, village, clerk, item, 10_000, source="purchase", value_fen=10_000 * PRICE * 100)
        rich = (
            s.execute(
                select(Tally.subject_id)
                .where(
                    Tally.period == "all",
                    Tally.kind == "h",
                    Tally.village_id == village_id,
                    Tally.points + Tally.spent >= 10 * PRICE,
                )
                .order_by((Tally.points + Tally.spent).desc())
                .limit(200)
            )
            .scalars()
            .all()
        )
        s.commit()
        return clerk.id, item.id, list(rich)


def one_redemption(engine, village_id: int, clerk_id: int, item_id: int, household_id: int) -> float:
    t = time.perf_counter()
    with Session(engine) as s:
        redeem(
            s,
            actor=s.get(StaffUser, clerk_id),
            village=s.get(Village, village_id),
            household=s.get(Household, household_id),
            wants=[Want(1, item_id=item_id)],
            key=f"bench-{uuid.uuid4().hex}",
            source="cli",
        )
        s.commit()
    return time.perf_counter() - t


def raw_insert(
    engine, village_id: int, clerk_id: int, item_id: int, household_id: int, group_id: int, i: int, upsert: str
) -> float:
    """The same rows as one redemption, written with plain statements and committed."""
    now = utcnow()
    day = local_today("Asia/Shanghai", now)
    naive = now.replace(tzinfo=None) if engine.dialect.name == "sqlite" else now
    t = time.perf_counter()
    with engine.begin() as c:
        entry_id = c.execute(
            text(
                "INSERT INTO ledger_entries (village_id, seq, kind, points, requested_points, capped, quantity, "
                "household_id, group_id, occurred_on, recorded_at, note, captured_by_id, approved_by_id, prev_hash, hash) "
                "VALUES (:v, :seq, 'redemption', :p, :p, :f, 1, :h, :g, :d, :at, :note, :c, :c, :hash, :hash) "
                "RETURNING id"
            ),
            dict(
                v=village_id,
                seq=RAW_SEQ + i,
                p=-PRICE,
                f=False,
                h=household_id,
                g=group_id,
                d=day,
                at=naive,
                note="bench raw",
                c=clerk_id,
                hash="0" * 64,
            ),
        ).scalar_one()
        red_id = c.execute(
            text(
                "INSERT INTO redemptions (village_id, key, year, serial, household_id, points, balance_after, entry_id, "
                "clerk_id, at, occurred_on, source) VALUES (:v, :k, :y, :s, :h, :p, 0, :e, :c, :at, :d, 'raw') "
                "RETURNING id"
            ),
            dict(
                v=village_id,
                k=f"raw-{uuid.uuid4().hex}",
                y=day.year,
                s=-(i + 1),
                h=household_id,
                p=PRICE,
                e=entry_id,
                c=clerk_id,
                at=naive,
                d=day,
            ),
        ).scalar_one()
        mv_id = c.execute(
            text(
                "INSERT INTO stock_movements (village_id, item_id, kind, qty, redemption_id, actor_id, at, occurred_on) "
                "VALUES (:v, :i, 'redeem', -1, :r, :c, :at, :d) RETURNING id"
            ),
            dict(v=village_id, i=item_id, r=red_id, c=clerk_id, at=naive, d=day),
        ).scalar_one()
        c.execute(
            text(
                "INSERT INTO redemption_lines (redemption_id, item_id, qty, price, points, movement_id) "
                "VALUES (:r, :i, 1, :p, :p, :m)"
            ),
            dict(r=red_id, i=item_id, p=PRICE, m=mv_id),
        )
        c.execute(
            text(upsert),
            [
                dict(period=p, kind=k, sid=sid, v=village_id, spent=-PRICE)
                for p in period_keys(day)
                for k, sid in (("h", household_id), ("g", group_id))
            ],
        )
        c.execute(
            text(
                "INSERT INTO audit_events (village_id, actor_id, at, action, target) "
                "VALUES (:v, :c, :at, 'bench.raw', :t)"
            ),
            dict(v=village_id, c=clerk_id, at=naive, t=f"raw {i}"),
        )
    return time.perf_counter() - t


def cleanup_raw(engine, village_id: int) -> None:
    """Delete the baseline's rows (on PostgreSQL past the ledger's append-only trigger: this is the
    benchmark's own database, and the baseline's rows are not part of any chain)."""
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("SET LOCAL session_replication_role = replica"))
        raw = "SELECT id FROM redemptions WHERE source = 'raw' AND village_id = :v"
        c.execute(text(f"DELETE FROM redemption_lines WHERE redemption_id IN ({raw})"), {"v": village_id})
        c.execute(text(f"DELETE FROM stock_movements WHERE redemption_id IN ({raw})"), {"v": village_id})
        ids = c.execute(
            text("SELECT entry_id, household_id FROM redemptions WHERE source = 'raw' AND village_id = :v"),
            {"v": village_id},
        ).all()
        c.execute(text("DELETE FROM redemptions WHERE source = 'raw' AND village_id = :v"), {"v": village_id})
        c.execute(
            text("DELETE FROM ledger_entries WHERE village_id = :v AND seq >= :s"), {"v": village_id, "s": RAW_SEQ}
        )
        c.execute(text("DELETE FROM audit_events WHERE action = 'bench.raw'"))
    if ids:  # the baseline's tally upserts are undone by rebuilding the village's tallies
        from pointsapp.points.standings import rebuild_tallies

        with Session(engine) as s:
            rebuild_tallies(s, s.get(Village, village_id))
            s.commit()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--villages", type=int, default=100)
    ap.add_argument("--db", help="SQLAlchemy URL (default: SQLite under benchmarks/data/)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--repeat", type=int, default=60, help="redemptions (and baseline inserts) to time")
    args = ap.parse_args()
    url = args.db or f"sqlite:///{REPO / 'benchmarks' / 'data' / f'county-{args.villages}.db'}"
    prepare(url, args.villages, args.rebuild)
    engine = make_engine(url)
    with Session(engine) as s:
        entries = s.execute(select(func.count()).select_from(text("ledger_entries"))).scalar_one()
        village_id = s.execute(select(Village.id).order_by(Village.id).limit(1)).scalar_one()
        groups = dict(
            s.execute(select(Household.id, Household.group_id).where(Household.village_id == village_id)).all()
        )
    clerk_id, item_id, rich = setup_shop(engine, village_id)
    upsert = (
        "INSERT INTO tallies (period, kind, subject_id, village_id, points, spent, entries) "
        "VALUES (:period, :kind, :sid, :v, 0, :spent, 1) ON CONFLICT (period, kind, subject_id) "
        "DO UPDATE SET spent = tallies.spent + excluded.spent, entries = tallies.entries + 1"
    )
    print(f"{engine.dialect.name}: {entries} entries, {args.villages} villages; {len(rich)} households can pay")
    cleanup_raw(engine, village_id)  # an interrupted earlier run may have left baseline rows
    ours, base = [], []
    try:
        for i in range(args.repeat):  # interleaved, so both see the same machine load
            hid = rich[i % len(rich)]
            ours.append(one_redemption(engine, village_id, clerk_id, item_id, hid))
            base.append(raw_insert(engine, village_id, clerk_id, item_id, hid, groups[hid], i, upsert))
        mo, mb = statistics.median(ours), statistics.median(base)
        ok = mo <= 0.050
        print(f"{'measure':<58} {'ours':>10} {'baseline':>10} {'ratio':>7}  target")
        print(
            f"{'one redemption, end to end (median of ' + str(args.repeat) + ')':<58} {mo * 1000:>8.2f}ms "
            f"{mb * 1000:>8.2f}ms {mo / mb:>6.1f}x  <= 50 ms {'ok' if ok else 'MISSED'}"
        )
        print(
            f"{'  p90':<58} {statistics.quantiles(ours, n=10)[-1] * 1000:>8.2f}ms "
            f"{statistics.quantiles(base, n=10)[-1] * 1000:>8.2f}ms"
        )
    finally:
        cleanup_raw(engine, village_id)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
