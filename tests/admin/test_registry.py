"""Registry pages: list/search, view, edit, add, move (balances unchanged), status; bad input; 404s."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.audit import AuditEvent
from pointsapp.points.ledger import LedgerEntry
from pointsapp.points.registry import Household, HouseholdMove, Villager, VillagerStatus
from pointsapp.points.standings import balance
from tests.conftest import login

from .conftest import Line, post_entries


def text(resp):
    return resp.get_data(as_text=True)


def test_admin_home_and_lists(admin, app_world):
    assert "龙天坪村" in text(admin.get("/admin/"))
    page = text(admin.get("/admin/households"))
    for name in ("向明华", "唐海娟", "贾生国", "杨明𠮷"):
        assert name in page
    assert "第一组" in text(admin.get("/admin/groups"))


def test_households_filter_search_and_paging(admin, app_world):
    g2 = None
    with admin.application.app_context():
        g2 = db.session.get(Household, app_world["households"][2]).group_id
    page = text(admin.get(f"/admin/households?group={g2}"))
    assert "贾生国" in page and "向明华" not in page
    page = text(admin.get("/admin/households?q=䶮"))  # a rare character finds 贾德䶮's household
    assert "杨明𠮷" in page and "向明华" not in page
    page = text(admin.get("/admin/households?q=2"))  # 户号
    assert "唐海娟" in page and "向明华" not in page
    # Nonsense parameters never break the page.
    assert admin.get("/admin/households?group=abc&page=-3&q=" + "x" * 500).status_code == 200
    assert admin.get("/admin/households?group=999999&page=99").status_code == 200


def test_household_and_villager_pages_show_phone_to_admin(admin, app_world):
    vid = app_world["people"][0][0]
    with admin.application.app_context():
        db.session.get(Villager, vid).phone = "13800001234"
        db.session.commit()
    assert "13800001234" in text(admin.get(f"/admin/households/{app_world['households'][0]}"))
    assert "13800001234" in text(admin.get(f"/admin/villagers/{vid}"))


def test_viewer_reads_lists_without_phone_and_cannot_edit(client, app_world, app):
    from pointsapp.points.registry import Role, StaffUser

    with app.app_context():
        db.session.get(Villager, app_world["people"][0][0]).phone = "13800001234"
        u = StaffUser(username="county", role=Role.viewer, village_id=None)
        u.set_password("correct horse 1")
        db.session.add(u)
        db.session.commit()
        uid = u.id
    login(client, uid)
    resp = client.get(f"/admin/households?village={app_world['village']}")
    assert resp.status_code == 200 and "向明华" in text(resp) and "13800001234" not in text(resp)
    assert client.get(f"/admin/groups?village={app_world['village']}").status_code == 200
    assert (
        client.get(f"/admin/households/{app_world['households'][0]}?village={app_world['village']}").status_code == 403
    )
    assert client.post("/admin/groups", data={"name": "x"}).status_code == 403


def test_non_admin_roles_are_refused(client, app_world):
    for user in ("rev1", "grid1"):
        login(client, app_world["users"][user])
        assert client.get("/admin/").status_code == 403
        assert client.get("/admin/households").status_code == 403
        assert (
            client.post(f"/admin/villagers/{app_world['people'][0][0]}/status", data={"status": "deceased"}).status_code
            == 403
        )


def test_edit_villager_and_make_head(admin, app_world, app):
    hid, (_v1, v2) = app_world["households"][0], app_world["people"][0]
    assert admin.get(f"/admin/villagers/{v2}/edit").status_code == 200
    resp = admin.post(
        f"/admin/villagers/{v2}/edit",
        data={
            "name": "谭高",
            "sex": "女",
            "birth_year": "1980",
            "birth_month": "5",
            "phone": "138 0000 1234",
            "relation": "配偶",
            "make_head": "y",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        p = db.session.get(Villager, v2)
        assert (p.sex, p.birth_year, p.birth_month, p.phone, p.relation) == ("女", 1980, 5, "13800001234", "配偶")
        assert db.session.get(Household, hid).head_id == v2
        ev = db.session.execute(select(AuditEvent).where(AuditEvent.action == "villager.update")).scalar_one()
        assert ev.ip == "127.0.0.1" and "13800001234" not in ev.detail


def test_edit_villager_bad_input_is_a_clear_message(admin, app_world, app):
    vid = app_world["people"][0][1]
    for data, needle in [
        ({"name": "", "birth_year": "1980"}, "姓名"),
        ({"name": "谭高", "birth_year": "abc"}, "出生年份"),
        ({"name": "谭高", "birth_year": "1980", "birth_month": "13"}, "1"),
        ({"name": "谭高", "phone": "12345"}, "电话"),
        ({"name": "谭高", "birth_month": "5"}, "出生"),
        ({"name": "谭高", "sex": "X"}, "性别"),
    ]:
        resp = admin.post(f"/admin/villagers/{vid}/edit", data=data)
        assert resp.status_code == 400, data
        assert needle in text(resp), (data, text(resp))
    with app.app_context():
        assert db.session.get(Villager, vid).name == "谭高"


def test_add_villager_to_household(admin, app_world, app):
    hid = app_world["households"][2]
    resp = admin.post(
        f"/admin/households/{hid}/villagers/new",
        data={"name": "贾小明", "sex": "男", "birth_year": "2001", "birth_month": "3", "relation": "子"},
    )
    assert resp.status_code == 302
    with app.app_context():
        p = db.session.execute(select(Villager).where(Villager.name == "贾小明")).scalar_one()
        assert p.household_id == hid and p.status == VillagerStatus.active


def test_add_and_edit_household_and_group(admin, app_world, app):
    with app.app_context():
        gid = db.session.get(Household, app_world["households"][0]).group_id
    assert admin.get("/admin/households/new").status_code == 200
    resp = admin.post("/admin/households/new", data={"group": gid, "number": "9", "house_number": "009"})
    assert resp.status_code == 302
    dup = admin.post("/admin/households/new", data={"group": gid, "number": "1"})
    assert dup.status_code == 400 and "户号" in text(dup)
    bad_group = admin.post("/admin/households/new", data={"group": "abc", "number": "10"})
    assert bad_group.status_code == 400
    hid = app_world["households"][1]
    members = app_world["people"][1]
    resp = admin.post(
        f"/admin/households/{hid}/edit",
        data={"group": gid, "number": "2", "house_number": "002A", "head": str(members[1]), "active": "y"},
    )
    assert resp.status_code == 302
    with app.app_context():
        h = db.session.get(Household, hid)
        assert h.house_number == "002A" and h.head_id == members[1]
    # A head from another household is refused.
    resp = admin.post(
        f"/admin/households/{hid}/edit",
        data={"group": gid, "number": "2", "head": str(app_world["people"][0][0]), "active": "y"},
    )
    assert resp.status_code == 400
    assert admin.post("/admin/groups", data={"name": "第三组", "sort_key": "3"}).status_code == 302
    assert admin.post("/admin/groups", data={"name": "第三组", "sort_key": "3"}).status_code == 400
    assert admin.get(f"/admin/groups/{gid}/edit").status_code == 200
    assert admin.post(f"/admin/groups/{gid}/edit", data={"name": "一组", "sort_key": "1"}).status_code == 302


def test_move_villager_keeps_past_balances(admin, app_world, app):
    """Entries store the household at the time: after a move, both households' balances are unchanged."""
    h1, h3 = app_world["households"][0], app_world["households"][2]
    mover = app_world["people"][0][1]  # 谭高, household 1
    post_entries(app, app_world, [Line(villager_id=mover), Line(villager_id=app_world["people"][0][0])])
    with app.app_context():
        before = {h: balance(db.session, household=db.session.get(Household, h)) for h in (h1, h3)}
        person_before = balance(db.session, villager=db.session.get(Villager, mover))
        assert before[h1].honour == 10 and before[h3].honour == 0
    resp = admin.post(
        f"/admin/villagers/{mover}/move", data={"to_number": "3", "moved_on": "2026-11-20", "relation": "儿媳"}
    )
    assert resp.status_code == 302, text(resp)
    with app.app_context():
        p = db.session.get(Villager, mover)
        assert p.household_id == h3 and p.relation == "儿媳"
        after = {h: balance(db.session, household=db.session.get(Household, h)) for h in (h1, h3)}
        assert after == before
        assert balance(db.session, villager=p) == person_before
        entry = db.session.execute(select(LedgerEntry).where(LedgerEntry.villager_id == mover)).scalar_one()
        assert entry.household_id == h1
        move = db.session.execute(select(HouseholdMove)).scalar_one()
        assert (move.from_household_id, move.to_household_id, move.moved_on) == (h1, h3, dt.date(2026, 11, 20))
    page = text(admin.get(f"/admin/villagers/{mover}"))
    assert "2026-11-20" in page


def test_move_bad_input(admin, app_world, other):
    mover = app_world["people"][0][1]
    resp = admin.post(f"/admin/villagers/{mover}/move", data={"to_number": "77", "moved_on": "2026-11-20"})
    assert resp.status_code == 400 and "77" in text(resp)
    resp = admin.post(f"/admin/villagers/{mover}/move", data={"to_number": "1", "moved_on": "2026-11-20"})
    assert resp.status_code == 400  # already there
    resp = admin.post(f"/admin/villagers/{mover}/move", data={"to_number": "3", "moved_on": "not a date"})
    assert resp.status_code == 400
    assert admin.get(f"/admin/villagers/{mover}/move").status_code == 200


def test_mark_moved_out_and_deceased(admin, app_world, app):
    vid = app_world["people"][1][2]
    assert admin.post(f"/admin/villagers/{vid}/status", data={"status": "deceased"}).status_code == 302
    with app.app_context():
        assert db.session.get(Villager, vid).status == VillagerStatus.deceased
    admin.post(f"/admin/villagers/{vid}/status", data={"status": "moved_out"})
    with app.app_context():
        assert db.session.get(Villager, vid).status == VillagerStatus.moved_out
    resp = admin.post(f"/admin/villagers/{vid}/status", data={"status": "gone"}, follow_redirects=True)
    assert resp.status_code == 200
    with app.app_context():
        assert db.session.get(Villager, vid).status == VillagerStatus.moved_out
    assert "/delete" not in text(admin.get(f"/admin/villagers/{vid}"))  # no delete button


def test_unknown_and_other_village_ids_are_404(admin, app_world, other):
    for url in [
        "/admin/households/999999",
        "/admin/villagers/999999",
        "/admin/households/999999/edit",
        "/admin/groups/999999/edit",
        f"/admin/households/{other['household']}",
        f"/admin/villagers/{other['villager']}",
        f"/admin/villagers/{other['villager']}/edit",
        f"/admin/villagers/{other['villager']}/move",
        f"/admin/groups/{other['group']}/edit",
        f"/admin/households/{other['household']}/villagers/new",
        "/admin/households/abc",
    ]:
        resp = admin.get(url)
        assert resp.status_code == 404, url
        assert "找不到页面" in text(resp)
    assert admin.post(f"/admin/villagers/{other['villager']}/status", data={"status": "deceased"}).status_code == 404
    assert admin.post(f"/admin/villagers/{other['villager']}/edit", data={"name": "x"}).status_code == 404
    # A household of another village as the move target is not found either.
    resp = admin.post("/admin/households/new", data={"group": other["group"], "number": "55"})
    assert resp.status_code in (400, 404)
