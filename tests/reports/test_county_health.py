"""The county page shows whether each village runs the process: its pending backlog, last
month's 公示 and close, and open objections, each equal to raw SQL."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, text

from pointsapp.extensions import db
from pointsapp.points.capture import Line, capture
from pointsapp.points.ledger import ClosedPeriod, LedgerEntry
from pointsapp.points.notice import Notice
from pointsapp.points.objections import Objection
from pointsapp.points.periods import local_today, month_key, previous_month
from pointsapp.points.registry import StaffUser, Village
from tests.reports.test_web import as_user, seeded  # noqa: F401  (fixture)


def cells(html: str) -> dict[int, dict[str, str]]:
    table = html.split('data-testid="health"', 1)[1].split("</table>", 1)[0]
    out = {}
    for vid, row in re.findall(r'<tr data-village="(\d+)"[^>]*>(.*?)</tr>', table, re.S):
        out[int(vid)] = {
            col: re.sub(r"<[^>]+>", "", val).strip()
            for col, val in re.findall(r'data-col="(\w+)"[^>]*>(.*?)</td>', row, re.S)
        }
        out[int(vid)]["notice_state"] = re.search(r'data-col="notice" data-state="(\w*)"', row).group(1)
        out[int(vid)]["closed_state"] = re.search(r'data-col="closed" data-state="(\w*)"', row).group(1)
    return out


def test_county_health_matches_raw_sql(app, client, seeded):  # noqa: F811
    today = local_today("Asia/Shanghai")
    last = previous_month(month_key(today))
    with app.app_context():
        v = db.session.get(Village, seeded["village"])
        admin = db.session.execute(select(StaffUser).where(StaffUser.username == "admin1")).scalar_one()
        grid = db.session.execute(select(StaffUser).where(StaffUser.username == "grid1")).scalar_one()
        p = seeded["people"]
        capture(
            db.session,
            actor=grid,
            village=v,
            key="health-1",
            lines=[
                Line(villager_id=p[0][0], rule_code="DJ-01", occurred_on=today),
                Line(villager_id=p[0][1], rule_code="DJ-01", occurred_on=today),
            ],
        )
        db.session.add(
            Notice(
                village_id=v.id,
                month=last,
                published_by_id=admin.id,
                opens_on=today,
                closes_on=today + dt.timedelta(days=6),
                head_seq=0,
                head_hash="0" * 64,
                digest="0" * 64,
            )
        )
        entry = db.session.execute(select(LedgerEntry).where(LedgerEntry.village_id == v.id)).scalars().first()
        db.session.add(
            Objection(
                village_id=v.id, entry_id=entry.id, household_id=entry.household_id, reason="记错了", status="open"
            )
        )
        other = db.session.get(Village, seeded["other"])
        db.session.add(
            ClosedPeriod(village_id=other.id, month=last, closed_by_id=admin.id, head_seq=0, head_hash="0" * 64)
        )
        db.session.commit()
        oracle = {}
        for (vid,) in db.session.execute(text("SELECT id FROM villages")).all():

            def q(sql, vid=vid):
                return db.session.execute(text(sql), {"v": vid, "m": last}).scalar()

            oracle[vid] = {
                "pending": str(q("SELECT COUNT(*) FROM submissions WHERE village_id = :v AND status = 'pending'")),
                "objections": str(q("SELECT COUNT(*) FROM objections WHERE village_id = :v AND status = 'open'")),
                "notice_state": "open"
                if q("SELECT COUNT(*) FROM notices WHERE village_id = :v AND month = :m")
                else "none",
                "closed_state": "yes"
                if q("SELECT COUNT(*) FROM closed_periods WHERE village_id = :v AND month = :m")
                else "no",
            }
    as_user(client, seeded, "county1")
    html = client.get("/county").get_data(as_text=True)
    got = cells(html)
    assert {
        vid: {k: c[k] for k in ("pending", "objections", "notice_state", "closed_state")} for vid, c in got.items()
    } == oracle
    assert oracle[seeded["village"]] == {
        "pending": "2",
        "objections": "1",
        "notice_state": "open",
        "closed_state": "no",
    }
    assert oracle[seeded["other"]]["closed_state"] == "yes"
    assert "未发布" in got[seeded["other"]]["notice"] and got[seeded["other"]]["closed"] == "已结账"
    assert "公示中" in got[seeded["village"]]["notice"] or "截至" in got[seeded["village"]]["notice"]
