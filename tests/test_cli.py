"""The command-line contract (issue 2, section 6), run through Alembic migrations."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from pointsapp.cli import cli
from tests.samples import sample


class Cli:
    def __init__(self, db_url, instance):
        self.env = {
            "POINTSAPP_DATABASE_URL": db_url,
            "POINTSAPP_INSTANCE_PATH": str(instance),
            "POINTSAPP_SECRET_KEY": "",
        }
        self.url = db_url

    def __call__(self, *args, input=None, ok=True):
        result = CliRunner().invoke(cli, [str(a) for a in args], env=self.env, input=input, catch_exceptions=False)
        if ok is True:
            assert result.exit_code == 0, f"{args}: {result.output}{result.stderr}"
        elif ok is False:
            assert result.exit_code != 0, f"{args} should fail: {result.output}"
        return result


@pytest.fixture
def run(db_url, tmp_path):
    c = Cli(db_url, tmp_path / "instance")
    out = c("init-db")
    assert "database ready" in out.output
    return c


@pytest.fixture
def loaded(run):
    run("import", "roster", sample("roster-longtianping.xlsx"))
    run("rules", "load", sample("rules-example.yaml"))
    run(
        "user",
        "create",
        "xmh",
        "--role",
        "grid_worker",
        *sum((["--group", f"第{n}组"] for n in "一二三四五六七八九十"), []),
        input="grid-pass-123\n",
    )
    run("user", "create", "pdg", "--role", "reviewer", input="review-pass-123\n")
    run("user", "create", "boss", "--role", "admin", input="admin-pass-123\n")
    return run


def test_init_db_writes_a_secret_and_migrations_match_the_models(run, tmp_path):
    assert "POINTSAPP_SECRET_KEY" in (tmp_path / "instance" / "config.py").read_text()
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from pointsapp import import_models
    from pointsapp.points.db import Base

    import_models()
    engine = create_engine(run.url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], "models and migrations differ: write a migration by hand (README, Development)"


def test_rules_load_reports_and_export_round_trips(run, tmp_path):
    first = run("rules", "load", sample("rules-example.yaml"), "--village", "龙天坪村")
    assert "added DJ-01" in first.output and "20 added, 0 changed" in first.output
    again = run("rules", "load", sample("rules-example.yaml"))
    assert "0 added, 0 changed, 0 retired, 20 unchanged" in again.output
    out = tmp_path / "export.yaml"
    run("rules", "export", "-o", out)
    assert "0 added, 0 changed, 0 retired, 20 unchanged" in run("rules", "load", out).output


def test_invalid_rule_book_exits_non_zero_naming_the_field(run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        sample("rules-example.yaml").read_text(encoding="utf-8").replace("per: occasion", "per: weekly", 1),
        encoding="utf-8",
    )
    res = run("rules", "load", bad, "--village", "新村", ok=False)
    assert "rule JC-01: field 'per'" in res.stderr


def test_user_create_contract(loaded):
    assert (
        "already exists" in loaded("user", "create", "xmh", "--role", "admin", input="x" * 10 + "\n", ok=False).stderr
    )
    assert (
        "needs at least one --group"
        in loaded("user", "create", "g2", "--role", "grid_worker", input="y" * 10 + "\n", ok=False).stderr
    )
    assert "at least 8" in loaded("user", "create", "g3", "--role", "admin", input="short\n", ok=False).stderr


def test_imports_leaderboard_balance_and_verify(loaded):
    out = loaded("import", "scores", sample("scores-2026-11.xlsx"), "--by", "xmh", "--approve-as", "pdg").output
    assert "recorded 240 rows" in out and "cap reached: row" in out
    again = loaded("import", "scores", sample("scores-2026-11.xlsx"), "--by", "xmh", ok=False)
    assert "already imported" in again.stderr and "by xmh" in again.stderr

    rows = json.loads(loaded("leaderboard", "--by", "household", "--period", "2026-11", "--json").output)
    assert len(rows) == 529  # every active household, zeros included
    assert set(rows[0]) == {"rank", "id", "name", "group", "points", "per_head"}
    assert rows[0]["rank"] == 1 and rows[0]["points"] >= rows[1]["points"]
    people = json.loads(loaded("leaderboard", "--by", "villager", "--period", "2026", "--limit", "5", "--json").output)
    assert len(people) == 5 and set(people[0]) == {"rank", "id", "name", "group", "points"}
    groups = json.loads(loaded("leaderboard", "--by", "group", "--period", "2026-Q4", "--json").output)
    assert sum(g["points"] for g in groups) == sum(r["points"] for r in rows)

    top = rows[0]
    bal = json.loads(loaded("balance", "--household", top["id"], "--json").output)
    assert bal == {"honour": top["points"], "redeemable": top["points"], "pending": 0, "redeemed": 0}
    assert "ok, 240 entries" in loaded("ledger", "verify").output


def test_pending_scores_show_in_balance(loaded):
    loaded("import", "scores", sample("scores-2026-11.xlsx"), "--by", "xmh")
    rows = json.loads(loaded("leaderboard", "--by", "household", "--period", "2026-11", "--json").output)
    assert all(r["points"] == 0 for r in rows)
    engine = create_engine(loaded.url)
    with engine.connect() as conn:  # the oracle: pending points per household, straight from the table
        pending = dict(
            conn.execute(
                text("SELECT household_id, SUM(points) FROM submissions WHERE status = 'pending' GROUP BY household_id")
            ).all()
        )
    engine.dispose()
    assert sum(pending.values()) > 0
    idle = next(r["id"] for r in rows if r["id"] not in pending)
    for hid in sorted(pending)[:3] + [idle]:
        assert json.loads(loaded("balance", "--household", hid, "--json").output)["pending"] == pending.get(hid, 0)


def test_verify_fails_naming_the_entry_after_tampering(loaded):
    loaded("import", "scores", sample("scores-2026-11.xlsx"), "--by", "xmh", "--approve-as", "pdg")
    engine = create_engine(loaded.url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the append-only trigger refuses UPDATE; tamper as a superuser would
            conn.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE ledger_entries SET points = points + 1 WHERE seq = 17"))
    engine.dispose()
    res = loaded("ledger", "verify", ok=False)
    assert "seq 17" in res.stderr and "changed after posting" in res.stderr


def test_period_close_and_refusals(loaded):
    loaded("import", "scores", sample("scores-2026-11.xlsx"), "--by", "xmh", "--approve-as", "pdg")
    assert "not been published" in loaded("period", "close", "2026-10", "--by", "boss", ok=False).stderr
    loaded("village", "set", "龙天坪村", "--notice-days", "0")
    loaded("notice", "publish", "2026-10", "--by", "pdg")
    out = loaded("period", "close", "2026-10", "--by", "boss").output
    assert "closed 2026-10" in out and "chain head" in out
    assert "already closed" in loaded("period", "close", "2026-10", "--by", "boss", ok=False).stderr
    # the refusal catalog's words (as the English pages say them) and the refusal's code
    assert (
        "You do not have permission for this. [not_allowed]"
        in loaded("period", "close", "2026-09", "--by", "pdg", ok=False).stderr
    )
    assert "not a month" in loaded("period", "close", "2026", "--by", "boss", ok=False).stderr


def test_several_villages_need_a_name(loaded):
    loaded("rules", "load", sample("rules-example.yaml"), "--village", "另一村")
    res = loaded("leaderboard", "--by", "group", "--period", "all", ok=False)
    assert "--village" in res.stderr
    assert loaded("leaderboard", "--by", "group", "--period", "all", "--village", "龙天坪村").output.count("第") == 10
    assert (
        "is not YYYY-MM"
        in loaded("leaderboard", "--by", "group", "--period", "last", "--village", "龙天坪村", ok=False).stderr
    )


def test_household_link_and_rotation(loaded):
    old = loaded("household", "link", "1").output.strip()
    new = loaded("household", "rotate-link", "1").output.strip()
    assert old.startswith("/h/") and new.startswith("/h/") and old != new and len(new) > 30
    assert loaded("household", "link", "1").output.strip() == new


def test_roster_dry_run_writes_nothing(run):
    out = run("import", "roster", sample("roster-longtianping.xlsx"), "--village", "龙天坪村", "--dry-run").output
    assert "would add: 10 groups, 529 households, 1582 villagers" in out
    engine = create_engine(run.url)
    with engine.connect() as conn:
        counts = [
            conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("villages", "groups", "households", "villagers")
        ]
    engine.dispose()
    assert counts == [0, 0, 0, 0]
