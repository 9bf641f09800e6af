"""Villager pages through the test client: card page, objections, board, notice, rules."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text as text_sql, select

from pointsapp.extensions import db
from pointsapp.points.audit import AuditEvent
from pointsapp.points.ledger import LedgerEntry
from pointsapp.points.notice import current_notice
from pointsapp.points.objections import Objection
from pointsapp.points.periods import quarter_key, year_key
from pointsapp.points.registry import Group, Household, Village
from pointsapp.points.standings import balance, leaderboard
from pointsapp.points.names import mask_name
from pointsapp.villagers.services import card_path, household_by_token, rotate_card
from pointsapp.villagers.views import per_head_text


def text(resp) -> str:
    return resp.get_data(as_text=True)


def strip_tags(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def table_rows(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [
        [strip_tags(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_card_page_shows_balance_standing_members_history(app, client, scene):
    resp = client.get(f"/h/{scene.tokens[0]}")
    assert resp.status_code == 200
    html = text(resp)
    with app.app_context():
        h = db.session.get(Household, scene.households[0])
        bal = balance(db.session, household=h)
        board = leaderboard(db.session, "household", scene.month, village=db.session.get(Village, scene.village))
        mine = next(r for r in board if r.id == h.id)
    assert re.search(rf'id="redeemable">{bal.redeemable}<', html)
    assert re.search(rf'id="honour">{bal.honour}<', html)
    assert re.search(rf'id="month-points">{mine.points}<', html)
    assert f"第{mine.rank}名" in html and per_head_text(mine.per_head) in html
    print(
        f"\ncard page: honour {bal.honour}, redeemable {bal.redeemable}, pending {bal.pending}, "
        f"month {mine.points} (rank {mine.rank})"
    )
    assert bal.pending == 3 and "待审核" in html  # the LJ-01 capture not yet approved
    assert "已达上限" in html  # the third DJ-01 hit the monthly cap
    assert "向明华" in html and "谭高" in html  # own members by full name
    assert "监委会老周" in html and "网格员小李" in html  # who approved / recorded
    assert "公示中，截至" in html  # this month's entries are under notice
    assert "公示后生效" in html or "待公示" in html  # last month's entry has no notice yet
    assert "清扫村道" in html  # an upcoming activity
    assert 'id="star-rating"' in html  # the place kept for the rewards issue


def test_card_page_links_correction_to_the_corrected_entry(client, scene):
    html = text(client.get(f"/h/{scene.tokens[1]}"))
    fix, mess = scene.entries["h1_fix"], scene.entries["h1_mess"]
    assert f'id="e{fix}"' in html and f'id="e{mess}"' in html
    assert re.search(rf'href="/h/{scene.tokens[1]}\?page=1#e{mess}"', html)
    assert "劝导后已整改，撤销扣分" in html


def test_card_history_is_paged_newest_first(app, client, scene):
    html = text(client.get(f"/h/{scene.tokens[0]}"))
    ids = [int(i) for i in re.findall(r'<li class="vbox" id="e(\d+)"', html)]
    with app.app_context():
        entries = {
            e.id: e
            for e in db.session.execute(
                select(LedgerEntry).where(LedgerEntry.household_id == scene.households[0])
            ).scalars()
        }
    keys = [(entries[i].occurred_on, entries[i].seq) for i in ids]
    assert keys == sorted(keys, reverse=True) and len(ids) == len(entries)
    from pointsapp.villagers.queries import history

    with app.app_context():
        page2 = history(db.session, db.session.get(Household, scene.households[0]), 2, per_page=2)
        assert page2.page == 2 and page2.pages == -(-len(entries) // 2)
        assert [e.id for e in page2.entries] == ids[2:4]


def test_wrong_and_rotated_tokens_are_404(app, client, scene):
    assert client.get("/h/" + "A" * 32).status_code == 404
    assert client.get("/h/x").status_code == 404
    old = scene.tokens[2]
    assert client.get(f"/h/{old}").status_code == 200
    with app.app_context():
        h = db.session.get(Household, scene.households[2])
        path = rotate_card(db.session, h)
        db.session.commit()
        assert path == card_path(h) and path.startswith("/h/") and path != f"/h/{old}"
        assert len(h.card_token) >= 32  # 192 random bits
        assert household_by_token(db.session, old) is None
        events = (
            db.session.execute(select(AuditEvent).where(AuditEvent.action == "household.rotate_card")).scalars().all()
        )
        assert len(events) == 1 and events[0].target == f"household {h.id}" and old not in (events[0].detail or "")
    resp = client.get(f"/h/{old}")
    assert resp.status_code == 404 and "卡片" in text(resp)
    assert client.get(path).status_code == 200


def test_rotate_card_refuses_non_admin_actor(app, scene):
    from pointsapp.points.errors import Refused
    from pointsapp.points.registry import StaffUser

    with app.app_context():
        h = db.session.get(Household, scene.households[0])
        with pytest.raises(Refused):
            rotate_card(db.session, h, db.session.get(StaffUser, scene.users["rev1"]))


@pytest.mark.parametrize("url", ["/h/{token}", "/board", "/notice", "/rules", "/h/" + "B" * 32])
def test_privacy_headers(client, scene, url):
    resp = client.get(url.format(token=scene.tokens[0]))
    assert "noindex" in resp.headers["X-Robots-Tag"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex' in text(resp)


def test_object_to_an_entry_under_notice(app, client, scene):
    token, entry = scene.tokens[0], scene.entries["h0_dj"]
    resp = client.post(f"/h/{token}/objection", data={"entry": entry, "reason": "那天我在外地打工", "page": 1})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"#e{entry}")
    html = text(client.get(resp.headers["Location"]))
    assert "异议已记录" in html and "那天我在外地打工" in html and "等待答复" in html
    with app.app_context():
        obj = db.session.execute(select(Objection)).scalar_one()
        assert obj.entry_id == entry and obj.household_id == scene.households[0]
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "objection.raise")).scalar_one()
    # the same entry cannot be objected to twice while open; the button is gone
    assert f'name="entry" value="{entry}"' not in html
    resp = client.post(f"/h/{token}/objection", data={"entry": entry, "reason": "again"}, follow_redirects=True)
    assert "已有一条异议" in text(resp)


def test_objection_answer_shows_on_the_card(app, client, scene):
    from pointsapp.points.objections import resolve_objection
    from pointsapp.points.registry import StaffUser

    token, entry = scene.tokens[0], scene.entries["h0_yard"]
    client.post(f"/h/{token}/objection", data={"entry": entry, "reason": "检查那天家里没人"})
    with app.app_context():
        obj = db.session.execute(select(Objection)).scalar_one()
        resolve_objection(
            db.session, obj, db.session.get(StaffUser, scene.users["rev2"]), "经核实，检查记录属实", correct_entry=False
        )
        db.session.commit()
    html = text(client.get(f"/h/{token}"))
    assert "经核实，检查记录属实" in html and "维持原记录" in html


def test_objection_refusals_are_clear(app, client, scene):
    token = scene.tokens[0]
    resp = client.post(
        f"/h/{token}/objection", data={"entry": scene.entries["h0_dj"], "reason": "  "}, follow_redirects=True
    )
    assert "请简要说明" in text(resp)
    # another household's entry
    resp = client.post(
        f"/h/{token}/objection", data={"entry": scene.entries["h1_dj"], "reason": "x"}, follow_redirects=True
    )
    assert resp.status_code == 200 and "不是本户" in text(resp)
    # this month's entry is not published yet
    resp = client.post(
        f"/h/{token}/objection", data={"entry": scene.entries["h0_running"], "reason": "x"}, follow_redirects=True
    )
    assert "不在公示期" in text(resp)
    with app.app_context():
        assert db.session.execute(select(Objection)).first() is None


def test_objections_are_limited_per_household_per_day(app, client, scene):
    token = scene.tokens[0]
    with app.app_context():
        ids = [
            e.id
            for e in db.session.execute(
                select(LedgerEntry).where(
                    LedgerEntry.household_id == scene.households[0],
                    LedgerEntry.occurred_on < scene.today.replace(day=1),
                )
            ).scalars()
        ]
    assert len(ids) >= 4
    for i in ids[:3]:
        client.post(f"/h/{token}/objection", data={"entry": i, "reason": "不对"})
    resp = client.post(f"/h/{token}/objection", data={"entry": ids[3], "reason": "不对"}, follow_redirects=True)
    assert "每户每天最多" in text(resp)
    with app.app_context():
        assert len(db.session.execute(select(Objection)).all()) == 3


def test_objection_form_needs_csrf_token(tmp_path, monkeypatch):
    from tests.conftest import make_app
    from tests.villagers.conftest import build_scene

    app = make_app(f"sqlite:///{tmp_path}/limited.db", tmp_path / "instance2", monkeypatch, WTF_CSRF_ENABLED=True)
    with app.app_context():
        sc = build_scene(db.session)
    client = app.test_client()
    token, entry = sc.tokens[0], sc.entries["h0_dj"]
    assert client.post(f"/h/{token}/objection", data={"entry": entry, "reason": "x"}).status_code == 400
    html = text(client.get(f"/h/{token}"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post(f"/h/{token}/objection", data={"entry": entry, "reason": "x", "csrf_token": csrf})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.execute(select(Objection)).scalar_one().entry_id == entry
        db.session.remove()
        db.engine.dispose()


# --- the public board ------------------------------------------------------------------


def _rank(rank):
    return "—" if rank is None else str(rank)  # no points: not ranked


def _expected(rows, by, headless=()):
    out = []
    for r in rows:
        name = r.name if by == "group" else mask_name(r.name)
        cells = [_rank(r.rank), name, r.group, str(r.points)]
        if by == "household":
            cells.append(per_head_text(r.per_head))
        out.append(cells)
    return out


@pytest.mark.parametrize("period_of", ["month", "quarter", "year"])
@pytest.mark.parametrize("show", ["households", "people"])
def test_board_equals_core_leaderboard(app, client, scene, period_of, show):
    period = {"month": scene.month, "quarter": quarter_key(scene.today), "year": year_key(scene.today)}[period_of]
    html = text(client.get(f"/board?village={scene.village}&period={period}&show={show}"))
    by = "household" if show == "households" else "villager"
    with app.app_context():
        v = db.session.get(Village, scene.village)
        rows = leaderboard(db.session, by, period, village=v)
        groups = leaderboard(db.session, "group", period, village=v)
    assert table_rows(html, "board-table") == _expected(rows, by)
    assert table_rows(html, "group-table") == [
        [_rank(g.rank), g.name, str(g.points), per_head_text(g.per_head)] for g in groups
    ]
    if show == "households" and period_of == "month":
        print("\nboard households", period, table_rows(html, "board-table"))


def test_board_by_group_and_names_masked(app, client, scene):
    with app.app_context():
        v = db.session.get(Village, scene.village)
        g2 = db.session.execute(select(Group).where(Group.name == "第二组")).scalar_one()
        rows = leaderboard(db.session, "villager", scene.month, village=v, group=g2)
        gid = g2.id
    html = text(client.get(f"/board?period={scene.month}&show=people&group={gid}"))
    assert table_rows(html, "board-table") == _expected(rows, "villager")
    assert "贾*国" in html and "贾生国" not in html and "杨*𠮷" in html


def test_board_red_list_and_black_list(app, client, scene):
    html = text(client.get("/board"))
    assert "红榜" in html and "扣分榜" not in html and "black" not in html
    with app.app_context():
        v = db.session.get(Village, scene.village)
        v.show_blacklist = True
        # an uncorrected deduction for household 4
        from pointsapp.points.capture import Line, approve, capture
        from pointsapp.points.ledger import Submission
        from pointsapp.points.registry import StaffUser

        res = capture(
            db.session,
            actor=db.session.get(StaffUser, scene.users["grid1"]),
            village=v,
            rule_code="WM-03",
            occurred_on=scene.today,
            key="black-1",
            lines=[Line(household_id=scene.households[0])],
        )
        approve(
            db.session,
            [db.session.get(Submission, res.lines[0].submission_id)],
            db.session.get(StaffUser, scene.users["rev1"]),
        )
        db.session.commit()
    html = text(client.get("/board"))
    black = re.search(r'<section id="black">(.*?)</section>', html, re.S).group(1)
    assert "向*华" in black and "-10" in black
    assert "唐*娟" not in black  # household 2's deduction was corrected away


def test_board_bad_period_is_explained(client, scene):
    resp = client.get("/board?period=2026-13")
    assert resp.status_code == 200 and "2026-13" in text(resp) and "本月" in text(resp)
    assert client.get("/board?village=999").status_code == 404


# --- 公示 and rules ------------------------------------------------------------------------


def test_notice_shows_entries_masked_window_and_digest(app, client, scene):
    html = text(client.get("/notice"))
    with app.app_context():
        v = db.session.get(Village, scene.village)
        n = current_notice(db.session, v)
        listed = db.session.execute(
            text_sql("SELECT COUNT(*) FROM notice_entries WHERE notice_id = :n"), {"n": n.id}
        ).scalar_one()
        dated = len(
            db.session.execute(
                select(LedgerEntry).where(
                    LedgerEntry.village_id == v.id, LedgerEntry.occurred_on < scene.today.replace(day=1)
                )
            ).all()
        )
    assert n.month == scene.notice_month and listed == dated == n.entry_count
    assert f'id="notice-digest">{n.digest}<' in html and 'id="open-list"' in html
    assert "异议" in html and "扫描" in html  # how to object
    assert "向*华" in html and "向明华" not in html
    assert html.count('<li class="vbox">') == listed  # its entries (the open list marks it current)
    print(f"\n/notice: {listed} entries, digest {n.digest[:16]}…")


def test_rules_page_in_plain_words(client, scene):
    html = text(client.get("/rules"))
    assert "参加党日活动或村民议事会" in html and "每次 +5 分" in html and "每月最多 10 分" in html
    assert "签到表" in html and "乱堆乱放经劝导不改" in html and "每次 -10 分" in html


def test_pages_switch_to_english(client, scene):
    client.get("/lang/en?next=/board")
    html = text(client.get(f"/h/{scene.tokens[0]}"))
    assert "Points you can use now" in html and "Redeemable" in html and "可兑换" not in html
    assert "Points board" in text(client.get("/board"))


def test_every_villager_msgid_is_translated():
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(__file__).parents[2] / "pointsapp/villagers/translations/zh_Hans/LC_MESSAGES/messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not m.string]
    assert len(list(catalog)) > 50 and missing == []


def test_corrected_entry_links_to_its_correction(client, scene):
    html = text(client.get(f"/h/{scene.tokens[1]}"))
    fix, mess = scene.entries["h1_fix"], scene.entries["h1_mess"]
    item = re.search(rf'<li class="vbox" id="e{mess}">(.*?)</li>', html, re.S).group(1)
    assert f"#e{fix}" in item and "已于" in item and "更正（+10）" in item


def test_former_member_is_not_named_on_the_old_household_card(app, client, scene):
    from pointsapp.points.registry import Villager

    with app.app_context():
        v = db.session.get(Villager, scene.people[0][1])  # 谭高 moves to household 3
        v.household_id = scene.households[2]
        db.session.commit()
    html = text(client.get(f"/h/{scene.tokens[0]}"))
    assert "谭高" not in html and "原家庭成员" in html and "已迁出的原成员" in html
    assert "谭高" in text(client.get(f"/h/{scene.tokens[2]}"))


def test_card_history_pager_links(app, client, scene):
    from pointsapp.points.capture import Line, approve, capture
    from pointsapp.points.ledger import Submission
    from pointsapp.points.registry import StaffUser

    with app.app_context():
        v = db.session.get(Village, scene.village)
        res = capture(
            db.session,
            actor=db.session.get(StaffUser, scene.users["admin1"]),
            village=v,
            rule_code="ZC-02",
            occurred_on=scene.today,
            key="many",
            lines=[Line(villager_id=scene.people[2][0])] * 22,
        )
        approve(
            db.session,
            [db.session.get(Submission, ln.submission_id) for ln in res.lines],
            db.session.get(StaffUser, scene.users["rev1"]),
        )
        db.session.commit()
    html = text(client.get(f"/h/{scene.tokens[2]}"))
    assert html.count('<li class="vbox" id="e') == 20 and "第 1 页，共 2 页" in html
    assert f'href="/h/{scene.tokens[2]}?page=2#history"' in html and "较早" in html
    html2 = text(client.get(f"/h/{scene.tokens[2]}?page=2"))
    assert html2.count('<li class="vbox" id="e') == 3 and "较新" in html2
    past = client.get(f"/h/{scene.tokens[2]}?page=99")  # past the last page: the last page
    assert (
        past.status_code == 200 and text(past).count('<li class="vbox" id="e') == 3 and "第 2 页，共 2 页" in text(past)
    )


def test_pages_before_anything_happened(app, client):
    for url in ("/board", "/notice", "/rules"):
        resp = client.get(url)
        assert resp.status_code == 200 and "还没有设置村庄" in text(resp), url


def test_quiet_village_pages(app, client, app_world):
    assert "还没有公示任何月份" in text(client.get("/notice"))
    html = text(client.get("/board"))
    assert "这个时段还没有积分" in html and len(table_rows(html, "board-table")) == 4
    assert "积分细则" in text(client.get("/rules"))


def test_village_picker_with_two_villages(app, client, scene):
    from pointsapp.points.registry import Villager

    with app.app_context():
        other = Village(name="白岩村")
        db.session.add(other)
        db.session.flush()
        g = Group(village_id=other.id, name="一组", sort_key=1)
        db.session.add(g)
        db.session.flush()
        h = Household(village_id=other.id, group_id=g.id, number="1")
        db.session.add(h)
        db.session.flush()
        head = Villager(village_id=other.id, household_id=h.id, name="石永康", phone="13907310000")
        db.session.add(head)
        db.session.flush()
        h.head_id = head.id
        db.session.commit()
        oid = other.id
    html = text(client.get("/board"))
    assert "白岩村" in html and "龙天坪村" in html and f"village={oid}" in html
    html = text(client.get(f"/board?village={oid}"))
    assert table_rows(html, "board-table") == [["—", "石*康", "一组", "0", "0"]]
    assert "石永康" not in html and "13907310000" not in html
    assert "向*华" not in html


def test_corrected_objection_shows_answer_and_correction(app, client, scene):
    from pointsapp.points.objections import resolve_objection
    from pointsapp.points.registry import StaffUser

    token, entry = scene.tokens[2], scene.entries["h2_zc"]
    client.post(f"/h/{token}/objection", data={"entry": entry, "reason": "我那天没去"})
    with app.app_context():
        obj = db.session.execute(select(Objection)).scalar_one()
        resolve_objection(
            db.session,
            obj,
            db.session.get(StaffUser, scene.users["rev2"]),
            "核实签到表，确实未参加",
            correct_entry=True,
        )
        db.session.commit()
        bal = balance(db.session, household=db.session.get(Household, scene.households[2]))
    html = text(client.get(f"/h/{token}"))
    assert "已答复：已更正" in html and "核实签到表，确实未参加" in html and "异议更正" in html
    assert bal.honour == 0 and 'id="honour">0<' in html
