"""County-scale data for the benchmarks, fast: the demo village, copied.

    .venv/bin/python benchmarks/county_data.py --villages 100 --database-url sqlite:////tmp/county.db
    .venv/bin/python benchmarks/county_data.py --villages 100 --database-url postgresql://postgres@127.0.0.1:5432/NAME

Building 100 villages through the real posting path (`pointsapp demo --villages 100`) takes over an hour on
SQLite and several hours on PostgreSQL. This script loads one demo village that way (`pointsapp demo`, into
an empty database), then copies every row of every table N-1 times in SQL (`INSERT … SELECT`), adding
k × OFFSET to every id, foreign key, ``village_id`` and ``tallies.subject_id`` (which names a villager,
household or group by kind), and making the few unique texts unique again (village names, usernames, card
links). Each copy is the same village under another id: the same 529 households, 30,000-odd entries,
tallies, notices, shop and objections, so a page or a posting in copy k costs what it costs in the original,
in a database 100 times as large.

Not copied faithfully: the hash chain (each entry's hash covers the original's ids, so `ledger verify`
fails on copies: time verify on the original village), the audit log of sign-ins, and the sign-in
throttles (left empty). For benchmarks only, never for a real installation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SKIP = {"sign_in_throttles"}


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--villages", type=int, default=100)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--instance", default=None, help="instance folder for the CLI (default: a temporary one)")
    args = ap.parse_args()

    instance = Path(args.instance or f"/tmp/county-data-instance-{os.getpid()}")
    instance.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, POINTSAPP_INSTANCE_PATH=str(instance), POINTSAPP_DATABASE_URL=args.database_url)
    subprocess.run([str(VENV_BIN / "pointsapp"), "init-db"], env=env, check=True, capture_output=True)

    os.environ.update(POINTSAPP_INSTANCE_PATH=str(instance), POINTSAPP_DATABASE_URL=args.database_url)
    from sqlalchemy import Integer, func, select, text

    from pointsapp import create_app
    from pointsapp.extensions import db
    from pointsapp.points.db import Base

    app = create_app(for_cli=True)
    with app.app_context():
        have = db.session.execute(text("SELECT count(*) FROM villages")).scalar_one()
    if have == 0:
        log(f"loading the demo village ({args.months} months) through the posting path…")
        t = time.perf_counter()
        subprocess.run(
            [str(VENV_BIN / "pointsapp"), "demo", "--months", str(args.months)],
            env=env,
            check=True,
            capture_output=True,
        )
        log(f"  {time.perf_counter() - t:.0f} s")
        have = 1
    if have >= args.villages:
        log(f"the database already holds {have} villages")
        return
    if have != 1:
        sys.exit(f"the database holds {have} villages: copies are made from a database with exactly one")

    with app.app_context():
        conn = db.session.connection()
        pg = conn.dialect.name == "postgresql"
        tables = [t for t in Base.metadata.sorted_tables if t.name not in SKIP]
        top = 0
        for t in tables:
            for col in t.primary_key.columns:
                if isinstance(col.type, Integer):
                    top = max(top, conn.execute(select(func.max(col))).scalar() or 0)
        offset = 10 ** len(str(top))  # every id of the original is below it
        log(f"copying village 1 into {args.villages - 1} more (id offset {offset:,} per copy)…")

        def expr(t, col) -> str:
            q = f'"{col.name}"'
            if t.name == "villages" and col.name == "name":
                return f"{q} || :suffix"
            if t.name == "staff_users" and col.name == "username":
                return f"{q} || '-' || :k"
            if t.name == "households" and col.name == "card_token":
                return f"substr({q}, 1, 26) || :token_tail"
            own_id = col.primary_key and len(t.primary_key.columns) == 1  # (notice_entries.seq is no id)
            moves = own_id or col.foreign_keys or col.name in ("village_id", "subject_id")
            if isinstance(col.type, Integer) and moves:
                return f"{q} + :off"
            return q

        db.session.commit()  # the next transactions open new connections (the CLI's NullPool)
        if not pg:
            # Copies of consistent rows, checked once at the end (PRAGMA foreign_key_check): with the checks on,
            # households and villagers (each names the other) make SQLite scan households for every villager.
            from sqlalchemy import event

            @event.listens_for(db.engine, "connect")
            def _no_fk_checks(dbapi_conn, _record) -> None:
                dbapi_conn.execute("PRAGMA foreign_keys = OFF")

        t0 = time.perf_counter()
        for k in range(1, args.villages):  # one transaction per copy
            conn = db.session.connection()
            if pg:
                conn.execute(text("SET session_replication_role = replica"))  # no FK triggers while copying
            else:
                conn.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MB: the indexes outgrow the default
            params = {"off": k * offset, "k": str(k), "suffix": f"{k:03d}", "token_tail": f"cp{k:04d}"}
            for t in tables:
                cols = list(t.columns)
                names = ", ".join(f'"{c.name}"' for c in cols)
                exprs = ", ".join(expr(t, c) for c in cols)
                first = next(iter(t.primary_key.columns), None)
                where = ""
                if first is not None and isinstance(first.type, Integer):
                    where = f' WHERE "{first.name}" < {offset}'
                elif "village_id" in t.c:
                    where = f" WHERE village_id < {offset}"
                conn.execute(text(f'INSERT INTO "{t.name}" ({names}) SELECT {exprs} FROM "{t.name}"{where}'), params)
            if pg:
                conn.execute(text("SET session_replication_role = DEFAULT"))
            db.session.commit()
            if k % 10 == 0 or k == args.villages - 1:
                log(f"  {k + 1} villages, {time.perf_counter() - t0:.0f} s")
        conn = db.session.connection()
        if pg:
            for t in tables:
                for col in t.primary_key.columns:
                    if isinstance(col.type, Integer) and col.autoincrement is not False:
                        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": t.name, "c": col.name})
                        name = seq.scalar()
                        if name:
                            conn.execute(
                                text(f'SELECT setval(:s, (SELECT max("{col.name}") FROM "{t.name}"))'), {"s": name}
                            )
        db.session.commit()
        if pg:
            conn = db.session.connection()
            conn.execute(text("ANALYZE"))
            db.session.commit()
        if not pg:
            broken = db.session.execute(text("PRAGMA foreign_key_check")).all()
            if broken:
                sys.exit(f"foreign keys broken by the copy: {broken[:5]}")
        n = db.session.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
        v = db.session.execute(text("SELECT count(*) FROM villages")).scalar_one()
        log(f"done: {v} villages, {n:,} ledger entries in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
