"""The month lifecycle from the command line (issue 10): notice publish/list, village set,
period close, ledger anchors and verify --anchors. The clock is set to the 1st of a month."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time

import pytest
from sqlalchemy import create_engine, text

from pointsapp.points.db import set_clock
from tests.conftest import sample
from tests.test_cli import loaded, run  # noqa: F401  (fixtures)

SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def clock():
    def at(y, m, d, hour=0, minute=30):
        set_clock(dt.datetime(y, m, d, hour, minute, tzinfo=SH).astimezone(dt.UTC))

    yield at
    set_clock(None)


def _sql(url, stmt, **params):
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        out = conn.execute(text(stmt), params)
        rows = out.all() if out.returns_rows else None
    engine.dispose()
    return rows


def test_the_lifecycle_from_the_command_line(loaded, clock, tmp_path):  # noqa: F811
    clock(2026, 11, 30, 20)
    loaded("import", "scores", sample("scores-2026-11.xlsx"), "--by", "xmh", "--approve-as", "pdg")
    clock(2026, 12, 1)  # the 1st, half past midnight
    res = loaded("notice", "publish", "2026-12", "--by", "pdg", ok=False)
    assert "still running" in res.stderr and "only a finished month" in res.stderr
    assert (
        "must be 0 to 30 days. [bad_window]"
        in loaded("village", "set", "龙天坪村", "--notice-days", "31", ok=False).stderr
    )
    assert "(was 7)" in loaded("village", "set", "龙天坪村", "--notice-days", "3").output
    out = loaded("notice", "publish", "2026-11", "--by", "pdg").output
    assert "objections until 2026-12-03" in out
    rows = json.loads(loaded("notice", "list", "--json").output)
    dated = _sql(
        loaded.url, "SELECT COUNT(*) FROM ledger_entries WHERE occurred_on BETWEEN '2026-11-01' AND '2026-11-30'"
    )
    assert [(r["month"], r["kind"], r["entries"], r["window_ends"]) for r in rows] == [
        ("2026-11", "main", dated[0][0], "2026-12-03")
    ]
    assert set(rows[0]) >= {"month", "kind", "entries", "digest", "published_at", "window_ends"}
    stored = _sql(loaded.url, "SELECT digest FROM notices")
    assert rows[0]["digest"] == stored[0][0]
    res = loaded("period", "close", "2026-11", "--by", "boss", ok=False)
    assert "runs until 2026-12-03" in res.stderr
    assert (
        "Nothing has been posted for this month since its last notice"
        in loaded("notice", "publish", "2026-11", "--by", "pdg", ok=False).stderr
    )

    anchors = tmp_path / "anchors.json"
    anchors.write_text(loaded("ledger", "anchors", "--json").output, encoding="utf-8")
    text_out = loaded("ledger", "anchors").output
    assert rows[0]["digest"] in text_out and "main" not in text_out and "notice" in text_out
    assert "ok," in loaded("ledger", "verify", "--anchors", anchors).output

    clock(2026, 12, 4)
    out = loaded("period", "close", "2026-11", "--by", "boss").output
    assert "closed 2026-11" in out
    closed = json.loads(loaded("ledger", "anchors", "--json").output)["villages"][0]["closed"]
    assert [c["month"] for c in closed] == ["2026-11"]

    # Someone with database access edits a listed entry and recomputes nothing: verify names it.
    _sql(loaded.url, "DELETE FROM notice_entries WHERE seq = 5")
    res = loaded("ledger", "verify", "--anchors", anchors, ok=False)
    assert "notice 2026-11" in res.stderr and "list was edited" in res.stderr


def test_read_only_commands_do_not_wait_for_the_write_lock(loaded, clock):  # noqa: F811
    if not loaded.url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    loaded("import", "scores", sample("scores-2026-11.xlsx"), "--by", "xmh", "--approve-as", "pdg")
    writer = sqlite3.connect(loaded.url.removeprefix("sqlite:///"), timeout=1, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        started = time.monotonic()
        assert "ok," in loaded("ledger", "verify").output
        loaded("ledger", "anchors", "--json")
        loaded("notice", "list", "--json")
        loaded("leaderboard", "--by", "household", "--period", "2026-11", "--json")
        loaded("balance", "--household", "1", "--json")
        assert time.monotonic() - started < 20
    finally:
        writer.execute("ROLLBACK")
        writer.close()
