"""Migration 0007_tally_entries recounts tallies: ``entries`` counts earning entries only, so
a database whose tallies counted shop spending verifies again after the upgrade."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text


def test_upgrade_recounts_tally_entries_without_spending(db_url, tmp_path, monkeypatch):
    from flask_migrate import downgrade, upgrade

    from pointsapp import create_app
    from pointsapp.extensions import db
    from pointsapp.points.anchors import check_tallies
    from pointsapp.points.ledger import verify_chain
    from pointsapp.points.shop.redeem import Want, redeem
    from tests.factories import World
    from tests.shop.helpers import give, stocked

    monkeypatch.setenv("POINTSAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"POINTSAPP_DATABASE_URL": db_url, "POINTSAPP_SECRET_KEY": "test-only"})
    with app.app_context():
        upgrade()  # today's code writes today's schema; the data is then put back as 0006 kept it
        s = db.session
        w = World(s)
        w.clerk = w.user("clerk1", "clerk")
        s.commit()
        h = w.households[0]
        give(s, w, [h], day=dt.date(2026, 11, 5))
        stocked(s, w)
        redeem(
            s,
            actor=w.clerk,
            village=w.village,
            household=h,
            wants=[Want(1, code="SOAP")],
            key="k",
            now=dt.datetime(2026, 11, 20, 4, tzinfo=dt.timezone.utc),
        )
        s.commit()
        # the tallies as 0005's code kept them: every entry counted, spending included
        s.execute(
            text(
                "UPDATE tallies SET entries = (SELECT count(*) FROM ledger_entries e "
                "WHERE e.household_id = tallies.subject_id) WHERE kind = 'h' AND period = 'all'"
            )
        )
        s.commit()
        res = verify_chain(s, w.village)
        check_tallies(s, w.village, res)
        assert not res.ok  # the old count disagrees with today's rule
        s.rollback()
        downgrade(revision="0006_rank_indexes")
        upgrade()
        s.expire_all()
        earning = s.execute(
            text(
                "SELECT count(*) FROM ledger_entries WHERE household_id = :h AND kind NOT IN ('redemption', 'expiry')"
            ),
            {"h": h.id},
        ).scalar_one()
        assert (
            s.execute(
                text("SELECT entries FROM tallies WHERE kind = 'h' AND period = 'all' AND subject_id = :h"), {"h": h.id}
            ).scalar_one()
            == earning
            == 1
        )
        res = verify_chain(s, w.village)
        check_tallies(s, w.village, res)
        assert res.ok, res.problems
