"""Staff users: list, create (one-time password), edit role/groups/villager link, reset, deactivate."""

from __future__ import annotations

from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.audit import AuditEvent
from pointsapp.points.registry import Group, Role, StaffUser
from tests.conftest import login


def text(resp):
    return resp.get_data(as_text=True)


def group_ids(app):
    with app.app_context():
        return [g.id for g in db.session.execute(select(Group).order_by(Group.sort_key)).scalars()]


def test_list_and_create_grid_worker(admin, app_world, app):
    page = text(admin.get("/admin/users"))
    assert "admin1" in page and "grid1" in page and "correct horse" not in page
    assert admin.get("/admin/users/new").status_code == 200
    g1 = group_ids(app)[0]
    resp = admin.post(
        "/admin/users/new",
        data={
            "username": "grid2",
            "display_name": "网格员二",
            "role": "grid_worker",
            "groups": [str(g1)],
            "villager_number": "2",
            "villager_name": "麻武",
        },
    )
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    page = text(resp)
    password = page.split('id="one-time-password">')[1].split("<")[0]
    assert len(password) == 12
    with app.app_context():
        u = db.session.execute(select(StaffUser).where(StaffUser.username == "grid2")).scalar_one()
        assert u.role == Role.grid_worker and u.group_ids == {g1} and u.must_change_password
        assert u.villager.name == "麻武" and u.village_id == app_world["village"]
        assert u.check_password(password)
        ev = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.create")).scalar_one()
        assert password not in (ev.detail or "")


def test_create_bad_input(admin, app_world, app, other):
    g1 = group_ids(app)[0]
    cases = [
        ({"username": "ab", "role": "reviewer"}, 400, "用户名"),
        ({"username": "admin1", "role": "reviewer"}, 400, "已被占用"),
        ({"username": "bad name!", "role": "reviewer"}, 400, "用户名"),
        ({"username": "newgrid", "role": "grid_worker"}, 400, "至少"),
        ({"username": "newrev", "role": "superuser"}, 400, ""),
        ({"username": "newrev", "role": "reviewer", "groups": ["abc"]}, 400, ""),
        ({"username": "newrev", "role": "reviewer", "villager_number": "2", "villager_name": "不存在"}, 400, "不存在"),
        ({"username": "newgrid", "role": "grid_worker", "groups": [str(other["group"])]}, 400, ""),
    ]
    for data, status, needle in cases:
        resp = admin.post("/admin/users/new", data=data)
        assert resp.status_code == status, (data, resp.status_code)
        assert needle in text(resp)
    with app.app_context():
        assert (
            db.session.execute(select(StaffUser).where(StaffUser.username.in_(["newgrid", "newrev"]))).first() is None
        )
    assert g1


def test_edit_role_and_groups(admin, app_world, app):
    uid = app_world["users"]["grid1"]
    g1, g2 = group_ids(app)[:2]
    assert admin.get(f"/admin/users/{uid}/edit").status_code == 200
    resp = admin.post(
        f"/admin/users/{uid}/edit", data={"display_name": "网格员", "role": "grid_worker", "groups": [str(g1), str(g2)]}
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(StaffUser, uid).group_ids == {g1, g2}
    resp = admin.post(f"/admin/users/{uid}/edit", data={"role": "reviewer", "groups": [str(g1)]})
    assert resp.status_code == 302
    with app.app_context():
        u = db.session.get(StaffUser, uid)
        assert u.role == Role.reviewer and u.groups == [] and u.username == "grid1"
    # An admin cannot demote themselves.
    me = app_world["users"]["admin1"]
    resp = admin.post(f"/admin/users/{me}/edit", data={"role": "reviewer"})
    assert resp.status_code == 400 and "另一位管理员" in text(resp)


def test_reset_password_makes_must_change_password_true(admin, app_world, app):
    uid = app_world["users"]["rev1"]
    resp = admin.post(f"/admin/users/{uid}/reset-password")
    assert resp.status_code == 200
    password = text(resp).split('id="one-time-password">')[1].split("<")[0]
    with app.app_context():
        u = db.session.get(StaffUser, uid)
        assert u.must_change_password is True
        assert u.check_password(password) and not u.check_password("correct horse 1")
    assert admin.get(f"/admin/users/{uid}/reset-password").status_code == 405


def test_deactivate_signs_the_user_out_and_never_deletes(admin, app_world, app, client):
    uid = app_world["users"]["rev2"]
    assert admin.post(f"/admin/users/{uid}/deactivate").status_code == 302
    with app.app_context():
        assert db.session.get(StaffUser, uid).active is False
    other = app.test_client()
    login(other, uid)
    resp = other.get("/admin/")  # the user loader refuses an inactive account: back to sign-in
    assert resp.status_code == 302 and "/login" in resp.location
    assert admin.post(f"/admin/users/{uid}/activate").status_code == 302
    with app.app_context():
        assert db.session.get(StaffUser, uid).active is True
    me = app_world["users"]["admin1"]
    resp = admin.post(f"/admin/users/{me}/deactivate", follow_redirects=True)
    assert "不能停用自己的账号" in text(resp)
    assert "/delete" not in text(admin.get("/admin/users"))


def test_other_village_users_are_404_and_roles_are_checked(admin, app_world, other, client):
    for url in (f"/admin/users/{other['user']}/edit", "/admin/users/99999/edit"):
        assert admin.get(url).status_code == 404
    for url in (f"/admin/users/{other['user']}/reset-password", f"/admin/users/{other['user']}/deactivate"):
        assert admin.post(url).status_code == 404
    login(client, app_world["users"]["rev1"])
    assert client.get("/admin/users").status_code == 403
    assert client.post(f"/admin/users/{app_world['users']['rev2']}/reset-password").status_code == 403
