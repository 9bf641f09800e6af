"""The shop's command-line contract, and stars: CLI == card == board."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from pointsapp.cli import cli
from pointsapp.extensions import db
from pointsapp.points.ledger import EntryKind, append_entry, lock_village
from pointsapp.points.registry import Household, StaffUser, Village
from pointsapp.points.shop.settings import DEFAULT_BANDS, save_settings
from pointsapp.points.standings import apply_tallies
from tests.shop.web_helpers import shop_world


@pytest.fixture
def run(db_url, tmp_path):
    env = {"POINTSAPP_DATABASE_URL": db_url, "POINTSAPP_INSTANCE_PATH": str(tmp_path / "cli-instance")}

    def call(*args, ok=True):
        res = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
        if ok:
            assert res.exit_code == 0, f"{args}: {res.output}{res.stderr}"
        else:
            assert res.exit_code != 0, f"{args} should fail: {res.output}"
        return res

    return call


def _sql(app, q, **p):
    with app.app_context():
        return db.session.execute(text(q), p).all()


def test_items_stock_and_redeem_from_the_command_line(app, app_world, run):
    w = shop_world(app, app_world, stock=())
    run("shop", "item", "add", "OIL", "--name", "食用油", "--price", 30, "--unit", "桶")
    run(
        "shop",
        "stock",
        "in",
        "OIL",
        2,
        "--source",
        "donation",
        "--by",
        "clerk1",
        "--donor",
        "爱心超市",
        "--value",
        "119.80",
    )
    rows = json.loads(run("shop", "item", "list", "--json").output)
    assert rows == [{"code": "OIL", "name": "食用油", "price": 30, "stock": 2}]
    hid = w["households"][0]  # 60 points
    out = json.loads(
        run(
            "redeem", "--household", hid, "--item", "OIL", "--qty", 1, "--by", "clerk1", "--key", "cli-1", "--json"
        ).output
    )
    assert (out["points"], out["balance_after"], out["replayed"]) == (30, 30, False)
    again = json.loads(
        run(
            "redeem", "--household", hid, "--item", "OIL", "--qty", 1, "--by", "clerk1", "--key", "cli-1", "--json"
        ).output
    )
    assert again["replayed"] and again["receipt"] == out["receipt"]
    bal = json.loads(run("balance", "--household", hid, "--json").output)
    assert (bal["redeemable"], bal["honour"], bal["redeemed"]) == (30, 60, 30)
    # refusals: balance, stock, role -- each exits non-zero with a clear message, nothing written
    before = _sql(app, "SELECT (SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM stock_movements)")
    res = run("redeem", "--household", w["households"][1], "--item", "OIL", "--qty", 1, "--by", "clerk1", ok=False)
    assert "the household has 20 redeemable points, these items cost 30. [insufficient_points]" in res.output
    res = run("redeem", "--household", hid, "--item", "OIL", "--qty", 2, "--by", "clerk1", ok=False)
    assert "has only 1 left, 2 asked. [out_of_stock]" in res.output
    res = run("redeem", "--household", hid, "--item", "OIL", "--qty", 1, "--by", "grid1", ok=False)
    assert "[not_allowed]" in res.output
    res = run("shop", "stock", "in", "OIL", 1, "--source", "purchase", "--by", "rev1", ok=False)
    assert "[not_allowed]" in res.output
    assert _sql(app, "SELECT (SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM stock_movements)") == before


def test_reset_from_the_command_line(app, app_world, run):
    w = shop_world(app, app_world, points=(0, 0, 0, 0))
    with app.app_context():
        s = db.session
        village = s.get(Village, w["village"])
        # The example rule book starts in 2026: last year's points are posted through the ledger's writer.
        village = lock_village(s, village)
        entries = [
            append_entry(
                s,
                village,
                kind=EntryKind.award,
                points=20,
                household_id=h.id,
                group_id=h.group_id,
                occurred_on=dt.date(2025, 12, 15),
                recorded_at=dt.datetime(2025, 12, 15, 4, tzinfo=dt.timezone.utc),
                note="2025 award",
            )
            for h in (s.get(Household, i) for i in w["households"][:2])
        ]
        s.flush()
        apply_tallies(s, entries)
        s.commit()
    res = run("reset-redeemable", 2025, "--by", "admin1", ok=False)
    assert "reset is off" in res.output
    with app.app_context():
        save_settings(
            db.session,
            db.session.get(Village, w["village"]),
            db.session.get(StaffUser, w["users"]["admin1"]),
            reset_month=1,
            reset_day=10,
            points_budget=None,
            star_period="year",
            star_mode="points",
            bands=DEFAULT_BANDS["points"],
        )
        db.session.commit()
    before = _sql(app, "SELECT count(*) FROM ledger_entries")
    out = run("reset-redeemable", 2025, "--by", "admin1", "--dry-run").output
    assert "would clear 40 points of 2 households" in out
    assert _sql(app, "SELECT count(*) FROM ledger_entries") == before
    assert "cleared 40 points of 2 households" in run("reset-redeemable", 2025, "--by", "admin1").output
    assert "already done" in run("reset-redeemable", 2025, "--by", "admin1").output
    assert _sql(app, "SELECT count(*), sum(points) FROM ledger_entries WHERE kind = 'expiry'") == [(2, -40)]
    res = run("reset-redeemable", 2025, "--by", "clerk1", ok=False)
    assert "You do not have permission for this. [not_allowed]" in res.output


def test_stars_from_the_cli_equal_the_card_and_the_board(app, app_world, run, client):
    w = shop_world(app, app_world, points=(320, 140, 20, 0))
    # The running year is the default star period: compare it with card and board.
    rows = json.loads(run("stars", "--period", _star_period(), "--json").output)
    assert [r["stars"] for r in rows] == [5, 3, 1, 0]
    assert {r["household"] for r in rows} == set(w["households"])
    board = client.get("/board").get_data(as_text=True)
    table = board[board.index('id="stars-table"') :]
    shown = re.findall(
        r'<td class="stars">(★+)</td><td class="name">([^<]+)</td><td>([^<]*)</td>'
        r'<td class="num pts">(-?\d+)</td>',
        table,
    )
    expected = [
        (
            "★" * r["stars"],
            r["name"][0] + "*" + (r["name"][-1] if len(r["name"]) > 2 else ""),
            r["group"],
            str(r["points"]),
        )
        for r in rows
        if r["stars"]
    ]
    assert shown == expected
    for r, token in zip(sorted(rows, key=lambda r: r["household"]), w["tokens"]):
        page = client.get(f"/h/{token}").get_data(as_text=True)
        m = re.search(r'id="stars" data-stars="(\d+)">(★*)<', page)
        assert (int(m[1]) if m else 0) == r["stars"], r
        if m:
            assert m[2] == "★" * r["stars"]


def _star_period() -> str:
    from pointsapp.points.periods import local_today

    return str(local_today("Asia/Shanghai").year)


def test_cancel_a_redemption_from_the_command_line(app, app_world, run):
    """`pointsapp shop cancel RECEIPT`: the desk's cancellation through the same core service;
    a replay changes nothing; after the day it takes an admin and a reason."""
    from pointsapp.points.db import set_clock
    from pointsapp.points.ledger import verify_chain

    w = shop_world(app, app_world, stock=())
    run("shop", "item", "add", "OIL", "--name", "食用油", "--price", 30, "--unit", "桶")
    run("shop", "stock", "in", "OIL", 2, "--source", "purchase", "--by", "clerk1")
    hid = w["households"][0]  # 60 points
    first = json.loads(
        run("redeem", "--household", hid, "--item", "OIL", "--qty", 1, "--by", "clerk1", "--json").output
    )
    second = json.loads(
        run("redeem", "--household", hid, "--item", "OIL", "--qty", 1, "--by", "clerk1", "--json").output
    )

    def state():
        """The oracle, straight from the tables: household points, stock on hand, redemption entries."""
        return _sql(
            app,
            "SELECT (SELECT sum(points) FROM ledger_entries WHERE household_id = :h), "
            "(SELECT sum(qty) FROM stock_movements), "
            "(SELECT count(*) FROM ledger_entries WHERE kind = 'redemption')",
            h=hid,
        )[0]

    assert tuple(state()) == (0, 0, 2)
    res = run("shop", "cancel", "2026-x", "--by", "clerk1", ok=False)
    assert "looks like 2026-00042" in res.output
    run("shop", "cancel", "1999-00001", "--by", "clerk1", ok=False)
    out = json.loads(run("shop", "cancel", first["receipt"], "--by", "clerk1", "--json").output)
    assert (out["cancelled"], out["replayed"], out["points"]) == (True, False, 30)
    assert tuple(state()) == (30, 1, 3)
    # the reversing entry points at the seq of the redemption it reverses
    assert _sql(
        app,
        "SELECT corrects_seq, points FROM ledger_entries WHERE seq = :s AND village_id = :v",
        s=out["entry_seq"],
        v=w["village"],
    ) == [(first["entry_seq"], 30)]
    again = json.loads(run("shop", "cancel", first["receipt"], "--by", "clerk1", "--json").output)
    assert again["replayed"] and again["entry_seq"] == out["entry_seq"]
    assert tuple(state()) == (30, 1, 3)  # nothing more written
    # the next day: a clerk is refused; an admin needs a reason
    set_clock(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    try:
        res = run("shop", "cancel", second["receipt"], "--by", "clerk1", ok=False)
        assert "can a clerk cancel it; after that, ask an administrator. [cancel_needs_admin]" in res.output
        res = run("shop", "cancel", second["receipt"], "--by", "admin1", ok=False)
        assert "Please give a reason. [reason_required]" in res.output
        assert tuple(state()) == (30, 1, 3)
        run("shop", "cancel", second["receipt"], "--by", "admin1", "--reason", "登记错了户")
    finally:
        set_clock(None)
    assert tuple(state()) == (60, 2, 4)
    assert _sql(app, "SELECT count(*) FROM audit_events WHERE action = 'shop.cancel'") == [(2,)]
    with app.app_context():
        assert verify_chain(db.session, db.session.get(Village, w["village"])).ok
