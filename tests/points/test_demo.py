import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pointsapp.points.db import Base
from pointsapp.points.demo import build_demo
from pointsapp.points.engine import make_engine
from pointsapp.points.ledger import ClosedPeriod, Submission, verify_chain
from pointsapp.points.registry import Group, Household, StaffUser, Village, Villager
from pointsapp.points.standings import leaderboard, rebuild_tallies, Tally

NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.timezone.utc)


def _build(url, seed):
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    s = Session(engine)
    result = build_demo(s, villages=1, months=3, seed=seed, now=NOW)
    s.commit()
    return engine, s, result


def test_demo_village_has_the_articles_shape_and_a_valid_ledger(engine):
    s = Session(engine)
    result = build_demo(s, villages=1, months=3, seed=1, now=NOW)
    s.commit()

    def count(model):
        return s.execute(select(func.count()).select_from(model)).scalar_one()

    assert (count(Village), count(Group), count(Household), count(Villager)) == (1, 10, 529, 1582)
    village = s.execute(select(Village)).scalar_one()
    assert village.name == "龙天坪村" and verify_chain(s, village).ok
    assert village.committee_phone  # the demo shows where the committee's phone appears
    assert result.entries > 5000 and result.pending > 0
    # every entry stands on an approved capture; what is left waits for review
    statuses = dict(s.execute(select(Submission.status, func.count()).group_by(Submission.status)).all())
    assert statuses == {"approved": result.entries, "pending": result.pending}
    assert {u for u, _r, _p in result.accounts} >= {"admin", "reviewer", "grid1"}
    admin = s.execute(select(StaffUser).where(StaffUser.username == "admin")).scalar_one()
    assert admin.must_change_password and admin.check_password({u: p for u, _r, p in result.accounts}["admin"])
    assert count(ClosedPeriod) >= 1
    # Its notices and closed months hold up under the full verify; each closed month was published.
    from pointsapp.points.anchors import verify_village
    from pointsapp.points.notice import Notice

    assert verify_village(s, village).ok
    closed = set(s.execute(select(ClosedPeriod.month)).scalars())
    assert closed <= set(s.execute(select(Notice.month)).scalars())
    assert {"贾德䶮", "杨明𠮷"} <= set(s.execute(select(Villager.name)).scalars())
    # The bulk-loaded tallies equal a rebuild from the ledger.
    cols = (Tally.period, Tally.kind, Tally.subject_id, Tally.points, Tally.spent, Tally.entries)
    before = sorted(s.execute(select(*cols)).all())
    rebuild_tallies(s, village)
    assert sorted(s.execute(select(*cols)).all()) == before
    s.close()


def test_demo_is_deterministic_for_a_seed(tmp_path):
    e1, s1, _ = _build(f"sqlite:///{tmp_path / 'a.db'}", 7)
    e2, s2, _ = _build(f"sqlite:///{tmp_path / 'b.db'}", 7)
    e3, s3, _ = _build(f"sqlite:///{tmp_path / 'c.db'}", 8)
    heads = [s.execute(select(Village.ledger_head)).scalar_one() for s in (s1, s2, s3)]
    assert heads[0] == heads[1] != heads[2]
    v1, v2 = (s.execute(select(Village)).scalar_one() for s in (s1, s2))
    assert [r.as_dict() for r in leaderboard(s1, "household", "2026-11", village=v1)] == [
        r.as_dict() for r in leaderboard(s2, "household", "2026-11", village=v2)
    ]
    for s, e in ((s1, e1), (s2, e2), (s3, e3)):
        s.close()
        e.dispose()
