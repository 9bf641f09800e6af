"""Village settings for the hall: the committee phone, award tiers and the certificate date."""

from __future__ import annotations

import datetime as dt

from pointsapp.extensions import db
from pointsapp.points.registry import Village


def test_hall_settings_save_and_refuse_bad_values(admin, app_world, app):
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert "一等奖:3;二等奖:6;三等奖:10" in page  # the default tiers are shown to edit
    resp = admin.post(
        "/admin/settings",
        data={
            "notice_days": "7",
            "committee_phone": "0743-1234567",
            "award_tiers": "一等奖:1；二等奖 3\n积分示范户:10",
            "certificate_date": "2026-12-01",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        assert (v.committee_phone, v.award_tiers, v.certificate_date) == (
            "0743-1234567",
            "一等奖:1;二等奖:3;积分示范户:10",
            dt.date(2026, 12, 1),
        )
    bad = admin.post(
        "/admin/settings",
        data={"notice_days": "7", "committee_phone": "call me", "award_tiers": "一等奖:1", "certificate_date": ""},
    )
    assert bad.status_code == 400 and "电话号码不正确" in bad.get_data(as_text=True)
    bad = admin.post(
        "/admin/settings",
        data={"notice_days": "7", "committee_phone": "", "award_tiers": "一等奖:5;二等奖:2", "certificate_date": ""},
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "二等奖:2" in body and "奖项设置" in body
    with app.app_context():  # nothing half-written
        v = db.session.get(Village, app_world["village"])
        assert (v.committee_phone, v.award_tiers) == ("0743-1234567", "一等奖:1;二等奖:3;积分示范户:10")
    # clearing the optional settings
    assert (
        admin.post(
            "/admin/settings",
            data={"notice_days": "7", "committee_phone": "", "award_tiers": "", "certificate_date": ""},
        ).status_code
        == 302
    )
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        assert (v.committee_phone, v.award_tiers, v.certificate_date) == (None, None, None)
