"""Review queue, two-person special awards, 公示, objections and month close."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.audit import AuditEvent
from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import ClosedPeriod, LedgerEntry, Submission, SubmissionStatus
from pointsapp.points.notice import Notice
from pointsapp.points.objections import Objection, raise_objection
from pointsapp.points.periods import month_key
from pointsapp.points.registry import StaffUser, Village
from tests.conftest import login
from tests.staff.conftest import last_month_day, today


def _capture(app, world, people, *, by="grid1", code="LJ-01", day=None, key=None):
    with app.app_context():
        actor = db.session.get(StaffUser, world["users"][by])
        village = db.session.get(Village, world["village"])
        res = capture(
            db.session,
            actor=actor,
            village=village,
            lines=[Line(villager_id=p) for p in people],
            key=key or f"k-{by}-{code}-{people}-{day}",
            rule_code=code,
            occurred_on=day or today(),
        )
        db.session.commit()
        return [ln.submission_id for ln in res.lines]


def _status(app, sid):
    with app.app_context():
        return SubmissionStatus(db.session.get(Submission, sid).status).value


def test_queue_filters_and_bulk_approve(app, client, world):
    g1 = _capture(app, world, world["people"][0] + world["people"][1])
    other = _capture(app, world, world["people"][2], by="admin1", code="DJ-01")
    login(client, "rev1")
    page = client.get("/review").get_data(as_text=True)
    assert "向明华" in page and "贾生国" in page and "共 6 条待审核" in page
    only_dj = client.get(f"/review?rule={world['rules']['DJ-01']}").get_data(as_text=True)
    assert "贾生国" in only_dj and "向明华" not in only_dj
    by_logger = client.get(f"/review?logger={world['users']['grid1']}").get_data(as_text=True)
    assert "向明华" in by_logger and "贾生国" not in by_logger
    future = client.get(f"/review?from={(today() + dt.timedelta(days=1)).isoformat()}").get_data(as_text=True)
    assert "没有待审核的记录" in future
    bad = client.get("/review?from=yesterday&group=x").get_data(as_text=True)
    assert "不是日期" in bad and "不是有效选项" in bad
    resp = client.post("/review/approve", data={"sub": [str(s) for s in g1], "back": "/review?group=1"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/review?group=1")
    assert "已审核通过 5 条记录" in client.get("/review").get_data(as_text=True)
    assert all(_status(app, s) == "approved" for s in g1) and _status(app, other[0]) == "pending"
    with app.app_context():
        assert len(db.session.execute(select(AuditEvent).where(AuditEvent.action == "approve")).scalars().all()) == 5


def test_reject_needs_a_reason(app, client, world):
    sids = _capture(app, world, world["people"][0])
    login(client, "rev1")
    resp = client.post("/review/reject", data={"sub": [str(sids[0])], "reason": "  "})
    assert "退回需要填写理由" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert _status(app, sids[0]) == "pending"
    client.post("/review/reject", data={"sub": [str(sids[0])], "reason": "没有签名"})
    assert _status(app, sids[0]) == "rejected"
    assert client.post("/review/approve", data={"sub": ["abc"]}).status_code == 303
    assert "未知的记录" in client.get("/review").get_data(as_text=True)


def test_self_approval_is_refused_and_not_offered(app, client, world):
    own = _capture(app, world, world["people"][0], by="admin1")
    login(client, "admin1")
    page = client.get("/review").get_data(as_text=True)
    assert "您本人登记，由其他审核人审核" in page
    assert f'name="sub" value="{own[0]}"' not in page
    resp = client.post("/review/approve", data={"sub": [str(own[0])]})
    assert "这是您本人登记的，须由其他审核人审核" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert _status(app, own[0]) == "pending"


def test_own_household_is_refused(app, client, world):
    with app.app_context():
        rev = db.session.get(StaffUser, world["users"]["rev2"])
        rev.villager_id = world["people"][0][1]
        db.session.commit()
    sids = _capture(app, world, [world["people"][0][0]])
    login(client, "rev2")
    assert "您自家的记录" in client.get("/review").get_data(as_text=True)
    resp = client.post("/review/approve", data={"sub": [str(sids[0])]})
    assert "工作人员不能为自己家登记或审核积分" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert _status(app, sids[0]) == "pending"


def test_special_award_needs_two_people(app, client, world):
    login(client, "admin1")
    page = client.get("/awards/new").get_data(as_text=True)
    assert "BZ-03" in page and "ZF-01" in page and "LJ-01" not in page
    key = re.search(r'<input[^>]*name="key"[^>]*value="([0-9a-f]+)"', page).group(1)
    data = {
        "key": key,
        "rule": world["rules"]["BZ-03"],
        "subject": f"p{world['people'][0][0]}",
        "occurred_on": today().isoformat(),
        "quantity": "1",
        "note": "救起落水儿童，镇政府通报",
    }
    resp = client.post("/awards/new", data=data)
    assert resp.status_code == 303
    assert "待审核" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert client.post("/awards/new", data=data).headers["Location"] == resp.headers["Location"]
    with app.app_context():
        sub = db.session.execute(select(Submission)).scalar_one()
        assert sub.points == 50 and sub.status == "pending"
        sid = sub.id
    resp = client.post("/review/approve", data={"sub": [str(sid)]})
    assert _status(app, sid) == "pending"
    client.post("/logout")
    login(client, "admin2")
    client.post("/review/approve", data={"sub": [str(sid)]})
    assert _status(app, sid) == "approved"
    missing = client.post("/awards/new", data={**data, "key": "other", "note": ""})
    assert missing.status_code == 400 and "请填写奖扣事由" in missing.get_data(as_text=True)
    client.post("/logout")
    login(client, "rev1")
    assert client.get("/awards/new").status_code == 403


def test_special_award_outside_the_rule_book(app, client, world):
    from pointsapp.points.ledger import LedgerEntry
    from pointsapp.points.rules import Rule

    login(client, "admin1")
    page = client.get("/awards/new").get_data(as_text=True)
    assert "细则之外" in page
    key = re.search(r'<input[^>]*name="key"[^>]*value="([0-9a-f]+)"', page).group(1)
    data = {
        "key": key,
        "rule": "0",
        "subject": f"p{world['people'][1][1]}",
        "occurred_on": today().isoformat(),
        "quantity": "30",
        "note": "抗洪抢险中连续值守三昼夜，镇政府表扬",
    }
    resp = client.post("/awards/new", data=data)
    assert resp.status_code == 303
    with app.app_context():
        sub = db.session.execute(select(Submission)).scalar_one()
        rule = db.session.get(Rule, sub.rule_id)
        assert (rule.code, sub.points, sub.status) == ("SP-00", 30, "pending")
        assert "抗洪抢险" in sub.note
        sid = sub.id
    client.post("/logout")
    login(client, "admin2")
    client.post("/review/approve", data={"sub": [str(sid)]})
    with app.app_context():
        entry = db.session.execute(select(LedgerEntry)).scalar_one()
        assert entry.points == 30 and entry.approved_by_id == world["users"]["admin2"]
    # The reserved rule is created once and is not offered twice.
    assert client.get("/awards/new").get_data(as_text=True).count("SP-00") == 0


def _posted_entries(app, world):
    sids = _capture(app, world, world["people"][0] + world["people"][1], day=last_month_day())
    with app.app_context():
        rev = db.session.get(StaffUser, world["users"]["rev1"])
        entries = approve(db.session, [db.session.get(Submission, s) for s in sids], rev)
        db.session.commit()
        return [e.id for e in entries]


def test_publish_notice_and_print(app, client, world):
    _posted_entries(app, world)
    month = month_key(last_month_day())
    login(client, "rev1")
    page = client.get("/notices").get_data(as_text=True)
    assert month in page and "发布前核对" in page
    assert re.search(rf'<option selected value="{month}">|<option value="{month}" selected', page)
    assert f'value="{month_key(today())}"' not in page  # the running month is not offered
    step1 = client.post("/notices/publish", data={"month": month})  # first a confirmation step
    assert step1.status_code == 200 and "公示后不能再修改" in step1.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(Notice)).first() is None
    resp = client.post("/notices/publish", data={"month": month, "confirm": "y"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/notices/{month}")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "异议受理时间" in page and "向明华" in page and "参加清廉党课" in page and "合计：15 分" in page
    with app.app_context():
        n = db.session.execute(select(Notice)).scalar_one()
        assert (n.closes_on - n.opens_on).days == 6
    sheet = client.get(f"/notices/{month}/print").get_data(as_text=True)
    assert "积分公示" in sheet and n.digest in sheet and str(n.opens_on) in sheet and str(n.closes_on) in sheet
    assert "向*华" in sheet and "向明华" not in sheet  # posted on the board: names masked like every public page
    again = client.post("/notices/publish", data={"month": month, "confirm": "y"})
    assert "没有新入账的记录" in client.get(again.headers["Location"]).get_data(as_text=True)
    running = client.post("/notices/publish", data={"month": month_key(today()), "confirm": "y"})
    assert "还没有结束" in client.get(running.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(Notice.month)).scalars().all() == [month]
    assert client.get("/notices/2026-13").status_code == 404
    client.post("/logout")
    login(client, "grid1")
    assert client.get("/notices").status_code == 403


def _published(app, world):
    entries = _posted_entries(app, world)
    from pointsapp.points.notice import publish_notice

    with app.app_context():
        publish_notice(
            db.session,
            db.session.get(Village, world["village"]),
            month_key(last_month_day()),
            db.session.get(StaffUser, world["users"]["rev1"]),
        )
        db.session.commit()
    return entries


def test_objection_at_the_counter_and_resolve_with_correction(app, client, world):
    entries = _published(app, world)
    login(client, "rev1")
    notice = client.get(f"/notices/{month_key(last_month_day())}").get_data(as_text=True)
    assert f"/objections/new?entry={entries[0]}" in notice
    resp = client.post(f"/objections/new?entry={entries[0]}", data={"reason": "那天我在外地打工，没有参加"})
    assert resp.status_code == 303
    oid = int(resp.headers["Location"].rsplit("/", 1)[1])
    listing = client.get("/objections").get_data(as_text=True)
    assert "那天我在外地打工" in listing and "窗口代登记" in listing
    again = client.post(f"/objections/new?entry={entries[0]}", data={"reason": "再提一次"})
    assert again.status_code == 409 and "已有未处理的异议" in again.get_data(as_text=True)
    empty = client.post(f"/objections/{oid}", data={"outcome": "correct", "answer": ""})
    assert empty.status_code == 400
    resp = client.post(f"/objections/{oid}", data={"outcome": "correct", "answer": "核实签到表，确实缺席，予以更正"})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已更正" in page and "-3" in page
    with app.app_context():
        obj = db.session.get(Objection, oid)
        corr = db.session.get(LedgerEntry, obj.correction_id)
        assert corr.corrects_id == entries[0] and corr.points == -3
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "objection.resolve")).scalar_one()


def test_objection_upheld_and_villager_objection_listed(app, client, world):
    entries = _published(app, world)
    with app.app_context():
        from pointsapp.points.registry import Household

        e = db.session.get(LedgerEntry, entries[1])
        raise_objection(db.session, e, db.session.get(Household, e.household_id), "我参加了两次")
        db.session.commit()
        oid = db.session.execute(select(Objection.id)).scalar_one()
    login(client, "rev1")
    assert "我参加了两次" in client.get("/objections").get_data(as_text=True)
    resp = client.post(f"/objections/{oid}", data={"outcome": "uphold", "answer": "本月封顶 6 分，已按规定计分"})
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "维持原记录" in page and "本月封顶" in page
    assert client.get("/objections/9999").status_code == 404
    assert client.get("/objections/new?entry=9999").status_code == 404


def test_month_close_shows_open_work_and_refuses_while_pending(app, client, world):
    last_month_day = today().replace(day=1) - dt.timedelta(days=1)
    month = month_key(last_month_day)
    sids = _capture(app, world, [world["people"][0][0]], day=last_month_day)
    login(client, "admin1")
    page = client.get("/close").get_data(as_text=True)
    assert month in page and "还有 1 条记录待审核" in page
    resp = client.post("/close", data={"month": month})
    assert resp.status_code == 303
    assert "该月还有 1 条记录待审核" in client.get(resp.headers["Location"]).get_data(as_text=True)
    client.post("/review/approve", data={"sub": [str(sids[0])]})
    resp = client.post("/close", data={"month": month, "confirm": "y"})
    assert "尚未公示" in client.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        from pointsapp.points.notice import publish_notice

        village = db.session.get(Village, world["village"])
        village.notice_days = 0  # a village that posts on paper: no window to wait for
        publish_notice(db.session, village, month, db.session.get(StaffUser, world["users"]["rev1"]))
        db.session.commit()
    page = client.get(f"/close?month={month}").get_data(as_text=True)
    assert 'id="blockers"' not in page and 'name="confirm"' in page
    resp = client.post("/close", data={"month": month})  # the box is not ticked
    assert "请勾选" in client.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(ClosedPeriod)).first() is None
    resp = client.post("/close", data={"month": month, "confirm": "y"})
    assert "已结账" in client.get(resp.headers["Location"]).get_data(as_text=True)
    this_month = client.post("/close", data={"month": month_key(today())})
    assert "该月尚未结束" in client.get(this_month.headers["Location"]).get_data(as_text=True)
    assert "不是月份" in client.get(client.post("/close", data={"month": "x"}).headers["Location"]).get_data(
        as_text=True
    )
    client.post("/logout")
    login(client, "rev1")
    assert client.get("/close").status_code == 403


def test_close_blocker_names_the_supplement_whose_window_is_open(app):
    import datetime as dt

    from pointsapp.web.refusals import refusal_text

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        params = {"until": dt.date(2026, 12, 9), "month": "2026-11", "count": 0}
        assert (
            refusal_text("notice_window_open", {**params, "notice": 2})
            == "第 1 次补充公示的异议期到 2026-12-09 才结束。"
        )
        assert refusal_text("notice_window_open", {**params, "notice": 1}) == "异议期到 2026-12-09 才结束。"


def test_publishing_a_supplement_says_so_on_the_button(app, client, world):
    last_month_day = today().replace(day=1) - dt.timedelta(days=1)
    month = month_key(last_month_day)
    first = _capture(app, world, [world["people"][0][0]], day=last_month_day)
    late = _capture(app, world, [world["people"][1][0]], day=last_month_day)
    login(client, "rev1")
    client.post("/review/approve", data={"sub": [str(first[0])]})
    page = client.post("/notices/publish", data={"month": month}).get_data(as_text=True)
    assert f"发布 {month} 公示" in page
    client.post("/notices/publish", data={"month": month, "confirm": "y"})
    client.post("/review/approve", data={"sub": [str(late[0])]})
    page = client.post("/notices/publish", data={"month": month}).get_data(as_text=True)
    assert f"发布 {month} 第 1 次补充公示" in page and f"发布 {month} 公示<" not in page
