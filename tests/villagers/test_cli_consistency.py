"""The villagers' pages agree with the command line (issue 4, consistency)."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from pointsapp.cli import cli


def _cli(db_url, tmp_path, *args):
    env = {"POINTSAPP_DATABASE_URL": db_url, "POINTSAPP_INSTANCE_PATH": str(tmp_path / "cli-instance")}
    res = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    return res.output


def test_card_balance_equals_cli_balance(client, scene, db_url, tmp_path):
    for hid, token in zip(scene.households, scene.tokens):
        page = client.get(f"/h/{token}").get_data(as_text=True)
        shown = {k: int(re.search(rf'id="{k}">(-?\d+)<', page).group(1)) for k in ("honour", "redeemable")}
        cli_balance = json.loads(_cli(db_url, tmp_path, "balance", "--household", hid, "--json"))
        assert shown == {k: cli_balance[k] for k in ("honour", "redeemable")}, hid


def test_board_equals_cli_leaderboard(client, scene, db_url, tmp_path):
    rows = json.loads(_cli(db_url, tmp_path, "leaderboard", "--by", "household", "--period", scene.month, "--json"))
    page = client.get(f"/board?period={scene.month}").get_data(as_text=True)
    for row in rows:
        masked = row["name"][0] + "*" + (row["name"][-1] if len(row["name"]) > 2 else "")
        assert masked in page and row["name"] not in page
    # The full household table, row by row: rank, masked name, group, points, per head.
    table = page[page.index('id="board-table"') :]
    shown = re.findall(
        r'<tr><td class="num">(\d+|—)</td><td class="name">([^<]+)</td><td>([^<]*)</td>'
        r'<td class="num pts[^"]*">(-?\d+)</td><td class="num">([\d.]+)</td></tr>',
        table,
    )
    expected = [
        (
            str(r["rank"]) if r["rank"] is not None else "—",
            r["name"][0] + "*" + (r["name"][-1] if len(r["name"]) > 2 else ""),
            r["group"],
            str(r["points"]),
        )
        for r in rows
    ]
    assert [s[:4] for s in shown] == expected
    assert [float(s[4]) for s in shown] == [r["per_head"] for r in rows]
