"""Duplicate ids in one approve request are answered, never a 500 (issue 10, section 10)."""

from __future__ import annotations

from sqlalchemy import text

from pointsapp.extensions import db
from tests.conftest import login
from tests.staff.test_review import _capture, _status


def test_duplicate_ids_in_one_approve_request_post_once(app, client, world):
    sids = _capture(app, world, world["people"][0][:1])
    login(client, "rev1")
    resp = client.post("/review/approve", data={"sub": [str(sids[0]), str(sids[0]), str(sids[0])]})
    assert resp.status_code == 303
    assert _status(app, sids[0]) == "approved"
    with app.app_context():
        assert (
            db.session.execute(
                text("SELECT count(*) FROM ledger_entries WHERE submission_id = :s"), {"s": sids[0]}
            ).scalar_one()
            == 1
        )
        assert db.session.execute(text("SELECT count(*) FROM audit_events WHERE action = 'approve'")).scalar_one() == 1
    assert "已审核通过 1 条记录" in client.get("/review").get_data(as_text=True)


def test_duplicate_ids_in_one_reject_request_are_answered(app, client, world):
    sids = _capture(app, world, world["people"][0][:2])
    login(client, "rev1")
    resp = client.post("/review/reject", data={"sub": [str(sids[1]), str(sids[1])], "reason": "重复登记"})
    assert resp.status_code == 303
    assert (_status(app, sids[0]), _status(app, sids[1])) == ("pending", "rejected")
