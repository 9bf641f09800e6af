"""Grid worker capture: activities, marking, idempotency, results, refusals, history."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from pointsapp.extensions import db
from pointsapp.points.activities import Activity
from pointsapp.points.audit import AuditEvent
from pointsapp.points.ledger import Submission, SubmissionStatus
from pointsapp.points.registry import Villager, VillagerStatus
from tests.conftest import login
from tests.staff.conftest import make_activity, today


def _key(page: str) -> str:
    return re.search(r'<input[^>]*name="key"[^>]*value="([0-9a-f]+)"', page).group(1)


def _group1(app):
    from pointsapp.points.registry import Group

    with app.app_context():
        return db.session.execute(select(Group.id).order_by(Group.sort_key)).scalars().first()


def _live(app, villager_id=None):
    with app.app_context():
        q = (
            select(func.count())
            .select_from(Submission)
            .where(Submission.status.in_([SubmissionStatus.pending, SubmissionStatus.approved]))
        )
        if villager_id is not None:
            q = q.where(Submission.villager_id == villager_id)
        return db.session.execute(q).scalar_one()


def test_activity_list_and_create_on_the_spot(app, client, world):
    login(client, "grid1")
    page = client.get("/capture").get_data(as_text=True)
    assert "最近两周没有活动" in page
    form = client.get("/activities/new").get_data(as_text=True)
    assert "LJ-01" in form and "BZ-03" not in form  # admin-only rules are not offered to grid workers
    assert today().isoformat() in form
    resp = client.post(
        "/activities/new",
        data={
            "rule": world["rules"]["LJ-01"],
            "title": "",
            "held_on": today().isoformat(),
            "place": "村部会议室",
            "group": _group1(app),
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    with app.app_context():
        a = db.session.execute(select(Activity)).scalar_one()
        assert a.title == "参加清廉党课或廉洁教育活动" and a.place == "村部会议室" and a.group_id is not None
        assert resp.headers["Location"].endswith(f"/activities/{a.id}/capture")
    page = client.get("/capture").get_data(as_text=True)
    assert "参加清廉党课或廉洁教育活动" in page and "今天" in page


def test_activity_form_errors_are_clear(app, client, world):
    login(client, "grid1")
    g = _group1(app)
    resp = client.post(
        "/activities/new", data={"rule": world["rules"]["BZ-03"], "held_on": today().isoformat(), "group": g}
    )
    assert resp.status_code == 400
    resp = client.post("/activities/new", data={"rule": world["rules"]["LJ-01"], "held_on": "yesterday", "group": g})
    assert resp.status_code == 400 and "YYYY-MM-DD" in resp.get_data(as_text=True)
    resp = client.post("/activities/new", data={"rule": world["rules"]["LJ-01"], "held_on": "2999-01-01", "group": g})
    assert resp.status_code == 400 and "日期不能晚于今天" in resp.get_data(as_text=True)


def test_marking_screen_lists_own_groups_by_household_with_pinyin(app, client, world):
    aid = make_activity(app, world, group_index=None)
    login(client, "grid1")
    page = client.get(f"/activities/{aid}/capture").get_data(as_text=True)
    assert "向明华" in page and "唐海娟" in page
    assert "贾生国" not in page  # 第二组 is not grid1's
    assert 'data-keys="向明华 xmh xiangminghua"' in page
    assert page.index("向明华") < page.index("谭高")  # head first
    assert "staff-capture.js" in page and 'name="key"' in page
    client.post("/logout")
    login(client, "admin1")
    page = client.get(f"/activities/{aid}/capture").get_data(as_text=True)
    assert "ymj" in page and "杨明𠮷" in page and "jdy" in page  # rare characters never break the page


def test_capture_is_idempotent_and_shows_results(app, client, world):
    aid = make_activity(app, world)
    people = world["people"][0] + world["people"][1]
    login(client, "grid1")
    key = _key(client.get(f"/activities/{aid}/capture").get_data(as_text=True))
    data = {"key": key, "p": [str(p) for p in people]}
    first = client.post(f"/activities/{aid}/capture", data=data)
    assert first.status_code == 303
    result = client.get(first.headers["Location"]).get_data(as_text=True)
    assert result.count("已登记，待审核") == 5 and "向明华" in result
    again = client.post(f"/activities/{aid}/capture", data=data)  # double tap / retry
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert "没有重复登记" in client.get(again.headers["Location"]).get_data(as_text=True)
    for p in people:
        assert _live(app, p) == 1
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "capture")).scalars().all()
        assert len(events) == 1 and events[0].ip == "127.0.0.1"
    # A fresh form (new key) for the same people: each is "already recorded", still one record.
    key2 = _key(client.get(f"/activities/{aid}/capture").get_data(as_text=True))
    resp = client.post(f"/activities/{aid}/capture", data={"key": key2, "p": [str(people[0])]})
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "本次活动已登记过" in page and "已登记过" in page
    assert _live(app, people[0]) == 1


def test_refusals_are_explained_in_chinese(app, client, world):
    aid = make_activity(app, world)
    outsider = world["people"][2][0]  # 贾生国, 第二组
    moved = world["people"][1][2]
    with app.app_context():
        db.session.get(Villager, moved).status = VillagerStatus.moved_out
        db.session.commit()
    login(client, "grid1")
    resp = client.post(
        f"/activities/{aid}/capture",
        data={"key": "k-refusals", "p": [str(outsider), str(moved), str(world["people"][0][0])]},
    )
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "该户不在您负责的小组" in page
    assert "此人已迁出或已去世" in page
    assert "未登记：2" in page and "待审核：1" in page


def test_bad_marks_get_a_clear_message_and_keep_the_form(app, client, world):
    aid = make_activity(app, world)
    login(client, "grid1")
    resp = client.post(f"/activities/{aid}/capture", data={"key": "k1"})
    assert resp.status_code == 400 and "还没有勾选任何人" in resp.get_data(as_text=True)
    resp = client.post(f"/activities/{aid}/capture", data={"key": "k1", "p": ["abc", str(world["people"][0][0])]})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "未知的村民或农户 &#39;abc&#39;" in page
    assert f'value="{world["people"][0][0]}" checked' in page and 'value="k1"' in page
    assert _live(app) == 0
    assert client.post(f"/activities/{aid}/capture", data={"p": "1"}).status_code == 400  # no key
    assert client.get("/activities/99999/capture").status_code == 404


def test_per_unit_rule_quantities_and_caps(app, client, world):
    aid = make_activity(app, world, "ZY-02")  # 2 points per hour, cap 8 a day
    a, b = world["people"][0]
    login(client, "grid1")
    page = client.get(f"/activities/{aid}/capture").get_data(as_text=True)
    assert f'name="q-{a}"' in page
    resp = client.post(f"/activities/{aid}/capture", data={"key": "kq", "p": [str(a), str(b)], f"q-{a}": "abc"})
    assert resp.status_code == 400 and "向明华 的数量 &#39;abc&#39; 不是整数" in resp.get_data(as_text=True)
    resp = client.post(
        f"/activities/{aid}/capture", data={"key": "kq", "p": [str(a), str(b)], f"q-{a}": "5", f"q-{b}": "2"}
    )
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已达上限：10 分中计 8 分" in page
    with app.app_context():
        pts = dict(db.session.execute(select(Submission.villager_id, Submission.points)).all())
    assert pts == {a: 8, b: 4}


def test_household_rule_marks_households(app, client, world):
    aid = make_activity(app, world, "WM-02")
    h1 = world["households"][0]
    login(client, "grid1")
    page = client.get(f"/activities/{aid}/capture").get_data(as_text=True)
    assert f'name="h" value="{h1}"' in page and 'name="p"' not in page
    resp = client.post(f"/activities/{aid}/capture", data={"key": "kh", "h": [str(h1)]})
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "向明华户" in page and "待审核：1" in page


def test_results_of_others_are_hidden_from_grid_workers(app, client, world):
    aid = make_activity(app, world, by="admin1", group_index=1)
    login(client, "admin1")
    resp = client.post(f"/activities/{aid}/capture", data={"key": "ka", "p": [str(world["people"][2][0])]})
    url = resp.headers["Location"]
    client.post("/logout")
    login(client, "grid1")
    assert client.get(url).status_code == 404
    assert client.get(f"/activities/{aid}/capture").status_code == 403  # another group's activity
    client.post("/logout")
    login(client, "rev1")
    assert client.get(url).status_code == 200


def test_my_captures_show_rejection_reasons(app, client, world):
    aid = make_activity(app, world)
    login(client, "grid1")
    client.post(f"/activities/{aid}/capture", data={"key": "km", "p": [str(world["people"][0][0])]})
    client.post("/logout")
    login(client, "rev1")
    with app.app_context():
        sid = db.session.execute(select(Submission.id)).scalar_one()
    resp = client.post("/review/reject", data={"sub": [str(sid)], "reason": "签到表上没有签名"})
    assert resp.status_code == 303
    client.post("/logout")
    login(client, "grid1")
    page = client.get("/capture/mine").get_data(as_text=True)
    assert "已退回" in page and "签到表上没有签名" in page


def test_printable_sign_in_sheet(app, client, world):
    aid = make_activity(app, world, title="清廉党课")
    login(client, "grid1")
    page = client.get(f"/activities/{aid}/sheet").get_data(as_text=True)
    assert "签到表" in page and "清廉党课" in page and "唐芳金" in page and "贾生国" not in page
    assert f"/activities/{aid}/capture" in page


def test_hours_typed_without_a_tick_still_count(app, client, world):
    """Typing 3 (hours) for someone not ticked records them with 3: hours are never dropped."""
    from sqlalchemy import text

    aid = make_activity(app, world, "ZY-02")
    a, b = world["people"][0]
    login(client, "grid1")
    resp = client.post(f"/activities/{aid}/capture", data={"key": "k-hours", f"q-{a}": "3", f"q-{b}": ""})
    assert resp.status_code == 303
    with app.app_context():
        rows = db.session.execute(
            text("SELECT villager_id, quantity FROM submissions WHERE activity_id = :a"), {"a": aid}
        ).all()
    assert rows == [(a, 3)]


def test_regular_households_are_listed_first_for_a_household_rule(app, client, world):
    import datetime as dt

    from pointsapp.points.capture import Line, capture
    from pointsapp.points.registry import StaffUser, Village

    h_first, h_second = world["households"][0], world["households"][1]
    old = make_activity(app, world, "WM-02", held_on=today() - dt.timedelta(days=5))
    with app.app_context():
        capture(
            db.session,
            actor=db.session.get(StaffUser, world["users"]["grid1"]),
            village=db.session.get(Village, world["village"]),
            key="k-old-wm",
            rule_code="WM-02",
            occurred_on=today() - dt.timedelta(days=5),
            activity_id=old,
            lines=[Line(household_id=h_second)],
        )
        db.session.commit()
    aid = make_activity(app, world, "WM-02")
    login(client, "grid1")
    page = client.get(f"/activities/{aid}/capture").get_data(as_text=True)
    regulars = page.index("最近来过同类活动的")
    second = page.index(f'name="h" value="{h_second}"')
    first = page.index(f'name="h" value="{h_first}"')
    assert regulars < second < page.index("<h2>第一组") < first  # the regular household is listed first, once
    assert page.count(f'name="h" value="{h_second}"') == 1


def test_too_many_hours_says_the_rules_limit_on_the_result_page(app, client, world):
    """ZY-02 allows 12 小时 on one entry (rules-example.yaml): 20 is refused with the limit named,
    and the page offers the rule's own limit as the input's maximum."""
    aid = make_activity(app, world, code="ZY-02")
    p1, p2 = world["people"][0][0], world["people"][0][1]
    login(client, "grid1")
    page = client.get(f"/activities/{aid}/capture").get_data(as_text=True)
    assert re.search(rf'name="q-{p1}"[^>]*max="12"|max="12"[^>]*name="q-{p1}"', page), "the input allows 1000"
    r = client.post(
        f"/activities/{aid}/capture", data={"key": _key(page), "p": [str(p1)], f"q-{p1}": "20", f"q-{p2}": "3"}
    )
    result = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "这一项每条最多记 12 小时。" in result and "None" not in result
    with app.app_context():
        rows = db.session.execute(
            select(Submission.villager_id, Submission.status, Submission.quantity).order_by(Submission.villager_id)
        ).all()
    assert sorted((v, str(getattr(s, "value", s)), q) for v, s, q in rows) == sorted(
        [(p1, "refused", 20), (p2, "pending", 3)]
    )
