"""Public pages under load: pointsapp under gunicorn against a bare Flask "hello" under the same settings.

    nice -n 10 .venv/bin/python benchmarks/bench_http.py                      # SQLite, a fresh demo village
    nice -n 10 .venv/bin/python benchmarks/bench_http.py --database-url postgresql://postgres@127.0.0.1:5432/NAME --reset
    nice -n 10 .venv/bin/python benchmarks/bench_http.py --database-url sqlite:////tmp/county.db --village 5000001

Both servers run at once in one run: gunicorn with ``scripts/serve``'s settings (2 workers, 4 threads,
access log, the redacting logger) on two ports. The same load generator drives each page of the app
and the bare app in turn, ``--repeat`` times (median of the runs): wrk when it is installed
(``-t2 -c16 --latency``, non-2xx counted), else a Python generator (threads, one keep-alive
http.client connection each, every status checked). The card page cycles through every household's
card link (one cached page each), as a village's phones would. Every request says
``Accept-Encoding: gzip, deflate`` as phone browsers do (``--identity`` asks without it).

Printed per page: req/s, p50 and p99 latency, the ratio to the bare app's req/s in the same round
(target: at least 0.5), and whether every response was a 200. Then each worker's resident memory
after the public pages, and after a signed-in admin opened the dashboard (its charts) and downloaded
the ceremony pack (targets: at most 120 MB and 250 MB).

On a county (``benchmarks/county_data.py`` makes one from the demo village), ``--village ID`` picks the
village measured: its board, 公示 and rule book (``?village=ID``) and its households' cards.

The card rate limit (30 a minute per address and card) is raised for the run, since every request
comes from one address; every other setting is the default (rate-limit counters in the instance's
counters file unless --ratelimit-url names Redis). ``--reset`` drops and recreates the public schema of
the PostgreSQL database given: use it only on a database of your own.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
GUNICORN = [
    str(VENV_BIN / "gunicorn"),
    "--workers",
    "2",
    "--threads",
    "4",
    "--access-logfile",
    "-",
    "--logger-class",
    "pointsapp.gunicorn_logging.RedactingLogger",
]
PAGES = ("card", "board", "notice", "rules")
HELLO = """from flask import Flask
app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
"""
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench-admin-password-1"


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# --- setting up ------------------------------------------------------------------------------


def cli_env(args, instance: Path) -> dict:
    env = dict(os.environ, POINTSAPP_INSTANCE_PATH=str(instance), POINTSAPP_DATABASE_URL=args.database_url)
    if args.ratelimit_url:
        env["POINTSAPP_RATELIMIT_STORAGE_URL"] = args.ratelimit_url
    return env


def prepare(args, instance: Path) -> tuple[list[str], dict]:
    """Database with the demo village (unless it holds villages already: see county_data.py) and a bench
    admin; returns the card paths of the village measured and what the database holds."""
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "config.py").write_text(
        "POINTSAPP_SECRET_KEY = 'bench-only-secret'\n"
        "VILLAGERS_CARD_RATE = '100000000/minute'  # one address asks for every card, many times a second\n"
        + ("RATELIMIT_ENABLED = False  # --limits-off: what counting the card views costs\n" if args.limits_off else "")
    )
    env = cli_env(args, instance)
    pointsapp = str(VENV_BIN / "pointsapp")
    if args.reset:
        if not args.database_url.startswith("postgresql"):
            sys.exit("--reset is for a PostgreSQL database of your own")
        run_sql(args.database_url, "DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public")
    subprocess.run([pointsapp, "init-db"], env=env, check=True, capture_output=True)
    facts = db_facts(env, args.village)
    if not facts["tokens"]:
        log(f"loading the demo village ({args.months} months)…")
        subprocess.run([pointsapp, "demo", "--months", str(args.months)], env=env, check=True, capture_output=True)
        if args.database_url.startswith("postgresql"):  # as autovacuum would after a load (it may be off)
            run_sql(args.database_url, "ANALYZE")
        facts = db_facts(env, args.village)
    if not facts["tokens"]:
        sys.exit(f"no village {args.village} with households in this database")
    subprocess.run(  # fails harmlessly when the admin exists (a database used before)
        [pointsapp, "user", "create", ADMIN, "--role", "admin", "--village", facts["name"]],
        env=env,
        check=False,
        capture_output=True,
        input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
        text=True,
    )
    return [f"/h/{t}" for t in facts["tokens"]], facts


def run_sql(url: str, *statements: str) -> None:
    """Statements on a PostgreSQL database, each committed by itself (ANALYZE runs outside a transaction)."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for sql in statements:
            conn.execute(text(sql))
    eng.dispose()


def db_facts(env, village: int | None) -> dict:
    """The measured village (``village``, else the first) and its card tokens; the database's size."""
    code = (
        "import json, sys\nfrom pointsapp import create_app\nfrom pointsapp.extensions import db\n"
        "from sqlalchemy import text\napp = create_app(for_cli=True)\nwith app.app_context():\n"
        "    q = lambda sql, **p: db.session.execute(text(sql), p)\n"
        "    try:\n"
        "        vid = int(sys.argv[1]) if sys.argv[1] else q('SELECT min(id) FROM villages').scalar()\n"
        "        out = {'village': vid, 'name': q('SELECT name FROM villages WHERE id = :v', v=vid).scalar(),\n"
        "               'villages': q('SELECT count(*) FROM villages').scalar(),\n"
        "               'entries': q('SELECT count(*) FROM ledger_entries').scalar(),\n"
        "               'tokens': q('SELECT card_token FROM households WHERE active AND village_id = :v ORDER BY id',"
        " v=vid).scalars().all()}\n"
        "    except Exception:\n"
        "        out = {'tokens': []}\n"
        "    print(json.dumps(out))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(village or "")], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


class Server:
    def __init__(self, name: str, app: str, port: int, env: dict, cwd: Path, logdir: Path):
        self.name, self.port = name, port
        self.logfile = open(logdir / f"{name}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{port}", app],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=self.logfile,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/")
                conn.getresponse().read()
                if len(self.workers()) == 2:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                sys.exit(f"{name} did not start: see {logdir / (name + '.log')}")
            time.sleep(0.3)
        sys.exit(f"{name} did not answer on port {port}")

    def workers(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            return []

    def rss_mb(self) -> list[float]:
        out = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(round(int(line.split()[1]) / 1024, 1))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.logfile.close()


# --- load generators -------------------------------------------------------------------------


HEADERS: dict[str, str] = {}  # set in main(): what every request sends


def run_wrk(port: int, paths: list[str], seconds: float, connections: int, workdir: Path) -> dict:
    script = workdir / "paths.lua"
    quoted = ",".join(json.dumps(p) for p in paths)
    headers = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in HEADERS.items())
    script.write_text(
        f"local paths = {{{quoted}}}\nlocal headers = {{{headers}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i], headers)\nend\n"
    )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = (
        sum(int(x) for x in m.groups())
        if (m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out))
        else 0
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": requests,
        "not_200": bad + errors,
    }


def run_python(
    port: int, paths: list[str], seconds: float, connections: int, _workdir: Path, limit: int | None = None
) -> dict:
    """Threads, one keep-alive connection each, every status checked (a 3xx counts as not 200).
    ``limit``: stop each connection after that many requests (else after ``seconds``)."""
    stop = time.perf_counter() + (seconds if limit is None else 3600.0)
    lat: list[list[float]] = [[] for _ in range(connections)]
    bad = [0] * connections

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = n
        while time.perf_counter() < stop and (limit is None or len(lat[n]) < limit):
            t = time.perf_counter()
            try:
                conn.request("GET", paths[i % len(paths)], headers=HEADERS)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    bad[n] += 1
            except (OSError, http.client.HTTPException):
                bad[n] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            lat[n].append((time.perf_counter() - t) * 1000)
            i += connections
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    every = sorted(x for xs in lat for x in xs)
    q = statistics.quantiles(every, n=100) if len(every) > 1 else [float("nan")] * 99
    return {"rps": len(every) / elapsed, "p50": q[49], "p99": q[98], "requests": len(every), "not_200": sum(bad)}


def warm_cards(port: int, cards: list[str], connections: int) -> float:
    """Every connection asks for every card once (the kernel spreads the connections over both
    workers, so each worker renders each card), each starting at another place in the list: started
    together at the same card, the connections of a worker asked for the same card at once and waited
    for one render of it, and the warm-up took long enough for some cards' form-token windows to turn
    before the measured rounds (which then rendered them again). Returns the req/s of the first pass
    over the cards."""
    first_pass = run_python(port, cards, 0.0, 1, Path("."), limit=len(cards))["rps"]
    step = max(1, len(cards) // connections)
    threads = [
        threading.Thread(
            target=run_python,
            args=(port, cards[n * step :] + cards[: n * step], 3600.0, 1, Path(".")),
            kwargs={"limit": len(cards)},
        )
        for n in range(connections)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return first_pass


# --- staff pages (memory after charts and a ceremony pack) -------------------------------------


def staff_session(port: int):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(base + "/login").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": csrf, "username": ADMIN, "password": ADMIN_PASSWORD}).encode()
    opener.open(base + "/login", data=data).read()
    return opener, base


def dashboards_and_pack(port: int, rounds: int = 4) -> int:
    """Every chart of the dashboard (web and phone sizes) and the ceremony pack, ``rounds`` times
    (the kernel spreads the requests over both workers). Returns the bytes received."""
    opener, base = staff_session(port)
    got = 0
    for _ in range(rounds):
        html = opener.open(base + "/dashboard").read().decode()
        for src in sorted(set(re.findall(r'(?:src|srcset)="(/reports/chart/[^"]+)"', html))):
            got += len(opener.open(base + src.replace("&amp;", "&")).read())
        got += len(opener.open(base + "/reports/monthly").read())
    return got


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    ap.add_argument("--reset", action="store_true", help="drop and recreate the PostgreSQL schema first")
    ap.add_argument("--months", type=int, default=12, help="months of demo history (default 12)")
    ap.add_argument("--village", type=int, help="the village id to measure in a county database (default: the first)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0, help="each measured run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--port", type=int, default=5110, help="the app's port; the bare app uses the next one")
    ap.add_argument("--ratelimit-url", help="e.g. redis://127.0.0.1:6379/1 (default: the instance's counters file)")
    ap.add_argument("--limits-off", action="store_true", help="rate limits off: shows what counting card views costs")
    ap.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument(
        "--identity",
        action="store_true",
        help="ask without Accept-Encoding (default: gzip, as every phone browser asks)",
    )
    args = ap.parse_args()
    if not args.identity:
        HEADERS["Accept-Encoding"] = "gzip, deflate"
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    if not args.database_url:
        args.database_url = f"sqlite:///{tmp / 'pointsapp.db'}"
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    drive = run_wrk if generator == "wrk" else run_python
    servers: list[Server] = []
    try:
        cards, facts = prepare(args, tmp / "instance")
        where = f"?village={facts['village']}"
        (tmp / "hello").mkdir()
        (tmp / "hello" / "hello_app.py").write_text(HELLO)
        env = cli_env(args, tmp / "instance")
        app = Server("pointsapp", "wsgi:app", args.port, env, REPO, tmp)
        bare = Server("bare-flask", "hello_app:app", args.port + 1, dict(os.environ), tmp / "hello", tmp)
        servers = [app, bare]
        targets = {
            "card": (app.port, cards),
            "board": (app.port, ["/board" + where]),
            "notice": (app.port, ["/notice" + where]),
            "rules": (app.port, ["/rules" + where]),
            "bare": (bare.port, ["/"]),
        }
        log(f"warming up ({len(cards)} card pages, each worker renders each once)…")
        for name, (port, paths) in targets.items():
            drive(port, paths, 2.0, args.connections, tmp)
        t0 = time.perf_counter()
        first = warm_cards(app.port, cards, args.connections)
        log(
            f"every card page rendered in both workers: {time.perf_counter() - t0:.0f} s; "
            f"first pass over the {len(cards)} cards (renders): {first:.0f} req/s"
        )
        results: dict[str, list[dict]] = {k: [] for k in targets}
        ratios: dict[str, list[float]] = {k: [] for k in PAGES}
        for r in range(args.repeat):
            bare_run = drive(bare.port, ["/"], args.seconds, args.connections, tmp)
            results["bare"].append(bare_run)
            for page in PAGES:
                port, paths = targets[page]
                run = drive(port, paths, args.seconds, args.connections, tmp)
                results[page].append(run)
                ratios[page].append(run["rps"] / bare_run["rps"])
            log(
                f"round {r + 1}/{args.repeat}: bare {bare_run['rps']:.0f} req/s; "
                + ", ".join(f"{p} {results[p][-1]['rps']:.0f}" for p in PAGES)
            )
        backend = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
        print(
            f"\nPublic pages under load: {backend}, village {facts['name']} ({len(cards)} households) in a database of "
            f"{facts['villages']} villages and {facts['entries']:,} entries, gunicorn 2 workers × 4 threads, "
            f"{generator} -c{args.connections}, {args.seconds:g} s runs, median of {args.repeat}, "
            f"{'no Accept-Encoding' if args.identity else 'Accept-Encoding: gzip'}, "
            + (
                "rate limits OFF (--limits-off)"
                if args.limits_off
                else f"rate limits in {args.ratelimit_url or 'the instance counters file'}"
            )
        )
        print(f"{'page':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'× bare':>7} {'all 200':>8}  target ≥ 0.50")
        for name in (*PAGES, "bare"):
            runs = results[name]
            med = {k: statistics.median(x[k] for x in runs) for k in ("rps", "p50", "p99")}
            ratio = statistics.median(ratios[name]) if name in ratios else 1.0
            ok = all(x["not_200"] == 0 for x in runs)
            verdict = "" if name == "bare" else ("met" if ratio >= 0.5 else "MISSED")
            print(
                f"{name:<8} {med['rps']:>8.0f} {med['p50']:>8.2f} {med['p99']:>8.2f} {ratio:>7.2f} "
                f"{'yes' if ok else 'NO (' + str(sum(x['not_200'] for x in runs)) + ')':>8}  {verdict}",
                flush=True,
            )
        rss_public = app.rss_mb()
        print(
            f"worker RSS after public pages: {', '.join(f'{x:.0f}' for x in rss_public)} MB "
            f"(target ≤ 120: {'met' if max(rss_public) <= 120 else 'MISSED'})",
            flush=True,
        )
        dashboards_and_pack(app.port)
        rss_staff = app.rss_mb()
        print(
            f"worker RSS after dashboards and ceremony packs: {', '.join(f'{x:.0f}' for x in rss_staff)} MB "
            f"(target ≤ 250: {'met' if max(rss_staff) <= 250 else 'MISSED'})"
        )
    finally:
        for s in servers:
            s.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
