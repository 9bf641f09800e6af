"""Activities for admins: list, edit (date locked once people are recorded), cancel (only after
pending captures are decided and posted entries are reversed through corrections)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.activities import Activity
from pointsapp.points.capture import Line, approve, capture, correct, reject
from pointsapp.points.ledger import LedgerEntry, Submission
from pointsapp.points.registry import StaffUser, Village
from pointsapp.points.rules import Rule

DAY = dt.date(2026, 11, 5)


def text(resp):
    return resp.get_data(as_text=True)


def make_activity(app, app_world, title="清廉党课"):
    with app.app_context():
        rule = db.session.execute(select(Rule).where(Rule.code == "LJ-01")).scalar_one()
        a = Activity(
            village_id=app_world["village"],
            rule_id=rule.id,
            title=title,
            held_on=DAY,
            place="村部",
            created_by_id=app_world["users"]["grid1"],
        )
        db.session.add(a)
        db.session.commit()
        return a.id


def record(app, app_world, aid, people):
    with app.app_context():
        grid = db.session.get(StaffUser, app_world["users"]["grid1"])
        res = capture(
            db.session,
            actor=grid,
            village=db.session.get(Village, app_world["village"]),
            lines=[Line(villager_id=p) for p in people],
            key=f"a{aid}-{people}",
            rule_code="LJ-01",
            occurred_on=DAY,
            activity_id=aid,
        )
        db.session.commit()
        return [ln.submission_id for ln in res.lines]


def test_list_and_edit(admin, app_world, app):
    aid = make_activity(app, app_world)
    page = text(admin.get("/admin/activities?month=2026-11"))
    assert "清廉党课" in page and "LJ-01" in page
    assert admin.get("/admin/activities?month=garbage").status_code == 200
    assert admin.get(f"/admin/activities/{aid}").status_code == 200
    resp = admin.post(
        f"/admin/activities/{aid}",
        data={"title": "清廉党课（第二讲）", "held_on": "2026-11-06", "place": "文化广场", "group": "None"},
    )
    assert resp.status_code == 302
    with app.app_context():
        a = db.session.get(Activity, aid)
        assert (a.title, a.held_on, a.place) == ("清廉党课（第二讲）", dt.date(2026, 11, 6), "文化广场")
    assert admin.post(f"/admin/activities/{aid}", data={"title": "", "held_on": "x"}).status_code == 400


def test_date_is_locked_once_people_are_recorded(admin, app_world, app):
    aid = make_activity(app, app_world)
    record(app, app_world, aid, [app_world["people"][0][0]])
    resp = admin.post(f"/admin/activities/{aid}", data={"title": "清廉党课", "held_on": "2026-11-09", "group": "None"})
    assert resp.status_code == 400 and "日期" in text(resp)
    resp = admin.post(
        f"/admin/activities/{aid}", data={"title": "新标题", "held_on": "2026-11-05", "group": "None", "place": "村部"}
    )
    assert resp.status_code == 302


def test_cancel_needs_reviewed_captures_and_reversed_entries(admin, app_world, app):
    aid = make_activity(app, app_world)
    subs = record(app, app_world, aid, [app_world["people"][0][0], app_world["people"][0][1]])
    resp = admin.post(f"/admin/activities/{aid}/cancel", data={"reason": "下雨取消"})
    assert resp.status_code == 400 and "驳回" in text(resp)
    with app.app_context():
        rev = db.session.get(StaffUser, app_world["users"]["rev1"])
        entries = approve(db.session, [db.session.get(Submission, subs[0])], rev)
        reject(db.session, [db.session.get(Submission, subs[1])], rev, "不在场")
        db.session.commit()
        entry_id = entries[0].id
    resp = admin.post(f"/admin/activities/{aid}/cancel", data={"reason": "下雨取消"})
    assert resp.status_code == 400 and "更正" in text(resp)
    with app.app_context():
        correct(
            db.session,
            db.session.get(LedgerEntry, entry_id),
            db.session.get(StaffUser, app_world["users"]["rev1"]),
            "活动取消",
        )
        db.session.commit()
    assert admin.post(f"/admin/activities/{aid}/cancel", data={"reason": ""}).status_code == 400
    assert admin.post(f"/admin/activities/{aid}/cancel", data={"reason": "下雨取消"}).status_code == 302
    with app.app_context():
        c = db.session.get(Activity, aid)
        assert c.cancelled and c.cancel_reason == "下雨取消"
    assert "已取消" in text(admin.get("/admin/activities?month=2026-11"))
    assert admin.post(f"/admin/activities/{aid}/cancel", data={"reason": "again"}).status_code == 400
    assert admin.post(f"/admin/activities/{aid}", data={"title": "x", "held_on": "2026-11-05"}).status_code == 400


def test_activities_of_other_villages_and_other_roles(admin, app_world, app, other, client):
    with app.app_context():
        db.session.add(Rule(village_id=other["village"], code="LJ-01"))
        db.session.commit()
        rid = db.session.execute(select(Rule.id).where(Rule.village_id == other["village"])).scalar_one()
        a = Activity(village_id=other["village"], rule_id=rid, title="外村", held_on=DAY, created_by_id=other["user"])
        db.session.add(a)
        db.session.commit()
        foreign = a.id
    assert admin.get(f"/admin/activities/{foreign}").status_code == 404
    assert admin.post(f"/admin/activities/{foreign}/cancel", data={"reason": "x"}).status_code == 404
    assert admin.get("/admin/activities/999999").status_code == 404
    from tests.conftest import login

    login(client, app_world["users"]["grid1"])
    assert client.get("/admin/activities").status_code == 403
