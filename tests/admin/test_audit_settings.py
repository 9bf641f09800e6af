"""Audit log page (filters, paging, CSV) and village settings."""

from __future__ import annotations

import csv
import datetime as dt
import io

from pointsapp.extensions import db
from pointsapp.points.audit import AuditEvent, record
from pointsapp.points.registry import StaffUser, Village


def text(resp):
    return resp.get_data(as_text=True)


def test_audit_log_lists_filters_and_exports(admin, app_world, app):
    admin.post("/admin/settings", data={"notice_days": "10"})
    admin.post(f"/admin/users/{app_world['users']['rev1']}/reset-password")
    with app.app_context():
        rev = db.session.get(StaffUser, app_world["users"]["rev1"])
        ev = record(db.session, rev, "approve", target="submission 1", ip="10.0.0.9", count=3)
        ev.at = dt.datetime(2026, 1, 15, 2, 0, tzinfo=dt.timezone.utc)
        db.session.commit()
    page = text(admin.get("/admin/audit"))
    assert "village.settings" in page and "user.reset_password" in page and "127.0.0.1" in page
    assert "10.0.0.9" in page and "2026-01-15 10:00:00" in page  # local time (Asia/Shanghai)
    page = text(admin.get("/admin/audit?action=approve"))
    assert "10.0.0.9" in page and "village.settings" not in page.split('id="audit"')[1]
    page = text(admin.get(f"/admin/audit?user={app_world['users']['admin1']}"))
    assert "10.0.0.9" not in page and "village.settings" in page
    page = text(admin.get("/admin/audit?date_from=2026-01-01&date_to=2026-01-31"))
    assert "10.0.0.9" in page and "127.0.0.1" not in page
    bad = admin.get("/admin/audit?date_from=yesterday&user=abc&page=x")
    assert bad.status_code == 400 and "操作日志" in text(bad)
    resp = admin.get("/admin/audit.csv?action=approve")
    assert resp.status_code == 200 and resp.mimetype == "text/csv" and resp.is_streamed
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["time", "user", "action", "target", "detail", "ip"]
    assert rows[1][:4] == ["2026-01-15 10:00:00", "rev1", "approve", "submission 1"] and rows[1][5] == "10.0.0.9"
    assert len(rows) == 2
    assert admin.get("/admin/audit.csv?date_from=nope").status_code == 302


def test_audit_log_pages_and_stays_in_village(admin, app_world, app, other):
    with app.app_context():
        u = db.session.get(StaffUser, other["user"])
        record(db.session, u, "secret.action", ip="1.2.3.4")
        me = db.session.get(StaffUser, app_world["users"]["admin1"])
        for i in range(120):
            record(db.session, me, "test.bulk", target=f"t{i}")
        db.session.commit()
    page = text(admin.get("/admin/audit"))
    assert "secret.action" not in page and "/admin/audit?page=2" in page
    assert "/admin/audit?page=2" in text(admin.get("/admin/audit?page=3"))  # its "previous" link
    assert "secret.action" not in text(admin.get("/admin/audit.csv"))


def test_settings(admin, app_world, app):
    page = text(admin.get("/admin/settings"))
    assert 'value="7"' in page
    assert admin.post("/admin/settings", data={"notice_days": "10", "show_blacklist": "y"}).status_code == 302
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        assert (v.notice_days, v.show_blacklist) == (10, True)
    for bad in ("-1", "31", "abc", ""):
        resp = admin.post("/admin/settings", data={"notice_days": bad})
        assert resp.status_code == 400 and "0 至 30" in text(resp), bad
    assert admin.post("/admin/settings", data={"notice_days": "10"}).status_code == 302
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        assert (v.notice_days, v.show_blacklist) == (10, False)
        assert db.session.query(AuditEvent).filter_by(action="village.settings").count() == 2


def test_non_admins_cannot_read_the_log_or_change_settings(client, app_world):
    from tests.conftest import login

    for user in ("rev1", "grid1"):
        login(client, app_world["users"][user])
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/audit.csv").status_code == 403
        assert client.post("/admin/settings", data={"notice_days": "3"}).status_code == 403
