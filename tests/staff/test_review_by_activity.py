"""Review by activity: filters by activity and capture batch, evidence beside each row, the true backlog,
a confirmation before a bulk approval of more than 50; an objection shows what the entry is."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import text

from pointsapp.extensions import db
from tests.conftest import login
from tests.staff.conftest import add_people, make_activity


def _png() -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 120, 40)).save(buf, "PNG")
    buf.seek(0)
    return buf


def _sql(app, query, **params):
    with app.app_context():
        return db.session.execute(text(query), params).all()


def _submit(client, aid, people, key, photo=False):
    data = {"key": key, "p": [str(p) for p in people]}
    if photo:
        data["photo"] = (_png(), "sheet.png")
    resp = client.post(f"/activities/{aid}/capture", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def _row_ids(page: str) -> set[int]:
    return {int(x) for x in re.findall(r'<tr data-sub="(\d+)"', page)}


def test_queue_filters_by_activity_and_by_batch_with_evidence(app, client, world):
    a1 = make_activity(app, world, title="清廉党课")
    a2 = make_activity(app, world, "WS-01" if "WS-01" in world["rules"] else "LJ-01", title="环境整治")
    g1 = world["people"][0] + world["people"][1]
    login(client, "grid1")
    b1 = _submit(client, a1, g1[:3], "kb1", photo=True)
    b2 = _submit(client, a1, g1[3:], "kb2")
    b3 = _submit(client, a2, g1[:2], "kb3")
    client.post("/logout")
    login(client, "rev1")

    def ids(where, **params):
        return {r[0] for r in _sql(app, f"SELECT id FROM submissions WHERE status = 'pending' AND {where}", **params)}

    page = client.get("/review").get_data(as_text=True)
    assert _row_ids(page) == ids("1 = 1")
    by_activity = client.get(f"/review?activity={a1}").get_data(as_text=True)
    assert _row_ids(by_activity) == ids("activity_id = :a", a=a1) and len(_row_ids(by_activity)) == 5
    assert "按此筛选共 5 条待审核" in by_activity
    by_batch = client.get(f"/review?batch={b2}").get_data(as_text=True)
    assert _row_ids(by_batch) == ids("batch_id = :b", b=b2) and len(_row_ids(by_batch)) == 2
    assert _row_ids(client.get(f"/review?batch={b3}").get_data(as_text=True)) == ids("batch_id = :b", b=b3)
    # the filter offers each activity and batch that has something waiting
    assert f'<option value="{a1}"' in page and f'<option value="{b1}"' in page and f'<option value="{b3}"' in page
    # evidence beside each row: the batch's photo for the rows of b1, "no photo" for b2
    rows = re.findall(r'<tr data-sub="(\d+)" data-batch="(\d+)">(.*?)</tr>', by_activity, re.S)
    assert len(rows) == 5
    for _sid, batch, html in rows:
        if int(batch) == b1:
            assert f'src="/capture/result/{b1}/photo"' in html and "清廉党课" in html
        else:
            assert "没有照片" in html and "/photo" not in html
    assert client.get(f"/capture/result/{b1}/photo").status_code == 200  # the reviewer may open it


def test_count_is_the_true_backlog_not_the_display_cap(app, client, world, monkeypatch):
    monkeypatch.setattr("pointsapp.staff.review.QUEUE_LIMIT", 4)
    aid = make_activity(app, world)
    login(client, "grid1")
    _submit(client, aid, world["people"][0] + world["people"][1], "kt")
    client.post("/logout")
    login(client, "rev1")
    page = client.get("/review").get_data(as_text=True)
    ((true_count,),) = _sql(app, "SELECT count(*) FROM submissions WHERE status = 'pending'")
    assert true_count == 5 and len(_row_ids(page)) == 4
    assert f"按此筛选共 {true_count} 条待审核" in page and "只显示最早的 4 条" in page


def test_bulk_approval_of_more_than_50_asks_first(app, client, world):
    extra = add_people(app, world, 55)
    a1 = make_activity(app, world, title="清廉党课")
    a2 = make_activity(app, world, title="防汛值守")
    login(client, "grid1")
    b1 = _submit(client, a1, extra[:40], "kbulk1")
    b2 = _submit(client, a2, extra[40:], "kbulk2")
    client.post("/logout")
    login(client, "rev1")
    subs = [r[0] for r in _sql(app, "SELECT id FROM submissions WHERE status = 'pending' ORDER BY id")]
    assert len(subs) == 55
    resp = client.post("/review/approve", data={"sub": [str(s) for s in subs], "back": "/review"})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "确认批准 55 条" in page
    shares = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td class=\"num\">(\d+)</td></tr>", page)
    assert sorted((a.split(" · ")[0], int(n)) for a, n in shares) == [("清廉党课", 40), ("防汛值守", 15)]
    assert _sql(app, "SELECT count(*) FROM submissions WHERE status = 'approved'") == [(0,)]  # nothing yet
    assert _sql(app, "SELECT count(*) FROM ledger_entries") == [(0,)]
    # A stale confirmation (another number of rows) still asks.
    resp = client.post("/review/approve", data={"sub": [str(s) for s in subs], "confirm": "54", "back": "/review"})
    assert resp.status_code == 200 and _sql(app, "SELECT count(*) FROM ledger_entries") == [(0,)]
    resp = client.post("/review/approve", data={"sub": [str(s) for s in subs], "confirm": "55", "back": "/review"})
    assert resp.status_code == 303
    assert _sql(app, "SELECT count(*) FROM submissions WHERE status = 'approved'") == [(55,)]
    assert _sql(app, "SELECT count(*) FROM ledger_entries") == [(55,)]
    assert {b1, b2} == {r[0] for r in _sql(app, "SELECT DISTINCT batch_id FROM submissions")}


def test_fifty_rows_need_no_confirmation(app, client, world):
    extra = add_people(app, world, 50)
    aid = make_activity(app, world)
    login(client, "grid1")
    _submit(client, aid, extra, "k50")
    client.post("/logout")
    login(client, "rev1")
    subs = [r[0] for r in _sql(app, "SELECT id FROM submissions ORDER BY id")]
    resp = client.post("/review/approve", data={"sub": [str(s) for s in subs], "back": "/review"})
    assert resp.status_code == 303
    assert _sql(app, "SELECT count(*) FROM ledger_entries") == [(50,)]


def test_objection_shows_date_rule_recorder_activity_and_evidence(app, client, world, request):
    aid = make_activity(app, world, title="清廉党课")
    person = world["people"][0][0]
    login(client, "grid1")
    batch = _submit(client, aid, [person], "kobj", photo=True)
    client.post("/logout")
    login(client, "rev1")
    ((sid,),) = _sql(app, "SELECT id FROM submissions WHERE batch_id = :b", b=batch)
    assert client.post("/review/approve", data={"sub": [str(sid)]}).status_code == 303
    ((entry_id, occurred_on),) = _sql(app, "SELECT id, occurred_on FROM ledger_entries WHERE submission_id = :s", s=sid)
    ((grid_name,),) = _sql(app, "SELECT coalesce(display_name, username) FROM staff_users WHERE username = 'grid1'")
    ((rev_name,),) = _sql(app, "SELECT coalesce(display_name, username) FROM staff_users WHERE username = 'rev1'")
    from pointsapp.points.notice import publish_notice
    from pointsapp.points.registry import StaffUser, Village
    from tests.staff.conftest import today

    import datetime as dt

    from pointsapp.points.db import set_clock

    # Only a finished month can be published: move the clock to the 2nd of next month, when the
    # month's 公示 is up and objections are open.
    next_month = (today().replace(day=28) + dt.timedelta(days=4)).replace(day=2)
    set_clock(dt.datetime.combine(next_month, dt.time(2), tzinfo=dt.UTC))
    request.addfinalizer(lambda: set_clock(None))
    with app.app_context():
        publish_notice(
            db.session,
            db.session.get(Village, world["village"]),
            str(occurred_on)[:7],
            db.session.get(StaffUser, world["users"]["rev1"]),
        )
        db.session.commit()
    new = client.get(f"/objections/new?entry={entry_id}").get_data(as_text=True)
    assert "清廉党课" in new and grid_name in new
    resp = client.post(f"/objections/new?entry={entry_id}", data={"reason": "那天我不在村里"})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    facts = re.search(r'<dl class="facts" id="entry-facts">(.*?)</dl>', page, re.S).group(1)
    assert str(occurred_on)[:10] in facts  # the day, not just the month
    assert "LJ-01" in facts  # the rule
    assert grid_name in facts and rev_name in facts  # who recorded and who approved it
    assert "清廉党课" in facts and "村部" in facts  # the activity
    assert f'src="/capture/result/{batch}/photo"' in facts  # its evidence
