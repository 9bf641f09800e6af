#!/usr/bin/env python3
"""Ledger benchmark on county-scale data (issue 2, section 8).

Builds (or reuses) a database of N demo villages (default 100: ~158k villagers, ~3M entries)
and prints, for each measure, our median beside a baseline measured in the same run on the
same rows, and their ratio. The machine is shared and noisy: compare ratios, not seconds.

    .venv/bin/python benchmarks/bench_ledger.py                 # SQLite in benchmarks/data/
    .venv/bin/python benchmarks/bench_ledger.py --villages 10   # quicker
    .venv/bin/python benchmarks/bench_ledger.py --db postgresql://postgres@127.0.0.1:5432/bench
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pointsapp import import_models  # noqa: E402
from pointsapp.points.capture import Line, capture  # noqa: E402
from pointsapp.points.db import Base  # noqa: E402
from pointsapp.points.demo import build_demo  # noqa: E402
from pointsapp.points.engine import make_engine  # noqa: E402
from pointsapp.points.imports.reader import read_table  # noqa: E402
from pointsapp.points.imports.roster import ROSTER_COLUMNS, import_roster  # noqa: E402
from pointsapp.points.ledger import LedgerEntry, Submission, verify_chain  # noqa: E402
from pointsapp.points.registry import Household, Role, StaffUser, Village, Villager  # noqa: E402
from pointsapp.points.standings import balance, leaderboard  # noqa: E402

ROSTER = REPO.parent / "shared" / "samples" / "roster-longtianping.xlsx"


def rss_mib() -> float:
    """Resident memory of this process (Linux), to show verify runs in constant memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def prepare(url: str, villages: int, rebuild: bool) -> None:
    engine = make_engine(url)
    import_models()
    have = 0
    if not rebuild:
        try:
            with Session(engine) as s:
                have = s.execute(select(func.count()).select_from(Village)).scalar_one()
        except Exception:
            have = 0
    if have == villages:
        print(f"reusing {villages} villages at {url}")
        return
    if url.startswith("postgresql"):
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
    elif url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
    Base.metadata.create_all(engine)
    t = time.perf_counter()
    with Session(engine) as s:
        from tqdm import tqdm
        r = build_demo(s, villages=villages, months=12, seed=1,
                       progress=lambda total, desc: tqdm(total=total, desc=desc, disable=not sys.stderr.isatty()))
        s.commit()
    print(f"built {r.villages} villages, {r.villagers} villagers, {r.entries} entries in {time.perf_counter() - t:.0f} s")
    with engine.begin() as c:
        c.execute(text("ANALYZE"))
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--villages", type=int, default=100)
    ap.add_argument("--db", help="SQLAlchemy URL (default: SQLite under benchmarks/data/)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    url = args.db or f"sqlite:///{REPO / 'benchmarks' / 'data' / f'county-{args.villages}.db'}"
    prepare(url, args.villages, args.rebuild)
    engine = make_engine(url)
    rows: list[tuple] = []

    with Session(engine) as s:
        entries = s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
        village = s.execute(select(Village).order_by(Village.id).limit(1)).scalar_one()
        month = s.execute(select(func.max(LedgerEntry.occurred_on))).scalar_one().strftime("%Y-%m")
        lo = dt.date.fromisoformat(month + "-01")
        hi = (lo + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        print(f"{entries} entries; village {village.name}; month {month}\n")

        # 1. village-scoped monthly household board vs a raw aggregate over the covering index
        ours = median_time(lambda: leaderboard(s, "household", month, village=village), args.repeat)
        raw = text("SELECT household_id, SUM(points) FROM ledger_entries WHERE village_id = :v "
                   "AND occurred_on BETWEEN :lo AND :hi GROUP BY household_id")
        base = median_time(lambda: s.execute(raw, {"v": village.id, "lo": lo, "hi": hi}).all(), args.repeat)
        rows.append(("monthly household board, one village", ours, base, ours / base, "<= 2x raw aggregate", ours / base <= 2))
        # The board's own aggregate step on the same rows: reading the month's tallies.
        tally = text("SELECT subject_id, points FROM tallies WHERE period = :p AND kind = 'h' AND village_id = :v")
        part = median_time(lambda: s.execute(tally, {"p": month, "v": village.id}).all(), args.repeat)
        rows.append(("  of which: the month's household tallies (same rows)", part, base, part / base,
                     "(names, heads, zero rows are the rest)", True))

        # 2. county-wide all-time villager board vs a raw GROUP BY over every entry
        ours = median_time(lambda: leaderboard(s, "villager", "all", village=None, limit=100), args.repeat)
        raw = text("SELECT villager_id, SUM(points) AS p FROM ledger_entries WHERE villager_id IS NOT NULL "
                   "GROUP BY villager_id ORDER BY p DESC LIMIT 100")
        base = median_time(lambda: s.execute(raw).all(), max(3, args.repeat // 2))
        rows.append(("county all-time villager board (top 100)", ours, base, base / ours, ">= 20x faster than GROUP BY", base / ours >= 20))

        # 3. one household's balance
        hid = s.execute(select(Household.id).where(Household.village_id == village.id).limit(1).offset(100)).scalar_one()
        house = s.get(Household, hid)
        ours = median_time(lambda: balance(s, household=house), args.repeat * 5)
        raw = text("SELECT SUM(points) FROM ledger_entries WHERE household_id = :h")
        base = median_time(lambda: s.execute(raw, {"h": hid}).scalar_one(), args.repeat * 5)
        rows.append(("one household's balance", ours, base, ours / base, "<= 5 ms", ours <= 0.005))
        s.rollback()

    # 4. capturing attendance for 500 villagers in one call (rolled back afterwards)
    with Session(engine) as s:
        village = s.execute(select(Village).order_by(Village.id).limit(1)).scalar_one()
        admin = s.execute(select(StaffUser).where(StaffUser.village_id == village.id, StaffUser.role == Role.admin)).scalars().first()
        people = s.execute(select(Villager.id).where(Villager.village_id == village.id).limit(500)).scalars().all()
        day = dt.date.today()
        t = time.perf_counter()
        res = capture(s, actor=admin, village=village, rule_code="ZY-01", occurred_on=day,
                      lines=[Line(villager_id=v) for v in people], key=f"bench-{time.time()}")
        ours = time.perf_counter() - t
        s.rollback()
        t = time.perf_counter()
        s.execute(Submission.__table__.insert(), [
            dict(village_id=village.id, batch_id=1, line_no=i, villager_id=v, occurred_on=day, quantity=1,
                 requested_points=5, points=5, capped=False, status="pending", captured_by_id=admin.id,
                 captured_at=dt.datetime.now(dt.timezone.utc)) for i, v in enumerate(people)])
        base = time.perf_counter() - t
        s.rollback()
        rows.append((f"capture 500 villagers in one call ({res.count('pending')} recorded)", ours, base, ours / base,
                     "<= 1 s", ours <= 1))

    # 5. importing the 1,582-person roster into a new village (rolled back afterwards)
    if ROSTER.exists():
        with Session(engine) as s:
            t = time.perf_counter()
            read_table(ROSTER, ROSTER_COLUMNS)
            parse = time.perf_counter() - t
            v = Village(name=f"bench-{time.time()}")
            s.add(v)
            s.flush()
            t = time.perf_counter()
            import_roster(s, v, read_table(ROSTER, ROSTER_COLUMNS))
            s.flush()
            ours = time.perf_counter() - t
            s.rollback()
            rows.append(("import the 1,582-person roster (parse is the baseline)", ours, parse, ours / parse, "<= 2 s", ours <= 2))
    else:
        print(f"(roster import skipped: {ROSTER} not found)")

    # 6. ledger verify over every entry, in constant memory
    with Session(engine) as s:
        villages = s.execute(select(Village).order_by(Village.id)).scalars().all()
        rss = [rss_mib()]
        t = time.perf_counter()
        bad = [r for v in villages if not (r := verify_chain(s, v, progress=lambda n: rss.append(rss_mib()))).ok]
        ours = time.perf_counter() - t
        t = time.perf_counter()
        for v in villages:
            for _ in s.execute(text("SELECT hash FROM ledger_entries WHERE village_id = :v ORDER BY seq"), {"v": v.id}):
                pass
        base = time.perf_counter() - t
        growth = max(rss) - rss[0]
        rows.append((f"ledger verify, {entries} entries (RSS grew {growth:.1f} MiB)", ours, base, ours / base,
                     "<= 60 s, constant memory", ours <= 60 and not bad))

    print(f"{'measure':<62} {'ours':>10} {'baseline':>10} {'ratio':>8}  target")
    for name, ours, base, ratio, target, ok in rows:
        print(f"{name:<62} {ours * 1000:>8.2f}ms {base * 1000:>8.2f}ms {ratio:>7.1f}x  {target} {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
